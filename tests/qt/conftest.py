"""Qt test fixtures: the app's own QApplication, isolated settings, and a check that no test
leaves a QThread running. The whole Qt tier runs in this one process, as a long lesson does."""
import gc

import pytest

import studio._qt  # noqa: F401  applies the PySide6 None-refcount guard before any Qt test runs


@pytest.fixture(scope="session")
def qapp():
    """The application exactly as ``archstudio`` makes it (pytest-qt's own would be a bare
    QApplication): the GUI-thread garbage collection of gui_collector.py comes with it."""
    from studio._qt.window.app import create_app
    return create_app()


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path, monkeypatch, qapp):
    from PySide6.QtCore import QSettings, QStandardPaths
    QStandardPaths.setTestModeEnabled(True)
    qapp.setOrganizationName("archstudio-tests")
    qapp.setApplicationName("LLM Architecture Studio tests")
    QSettings.setDefaultFormat(QSettings.IniFormat)
    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, str(tmp_path / "settings"))
    monkeypatch.setenv("ARCHSTUDIO_RECOVERY_DIR", str(tmp_path / "recovery"))
    monkeypatch.setenv("ARCHSTUDIO_RUNS_DIR", str(tmp_path / "runs"))  # never the user's own runs
    yield


@pytest.fixture(autouse=True)
def dialogs(monkeypatch):
    """Modal message boxes would block an offscreen test: answer them and record what they said."""
    from PySide6.QtWidgets import QMessageBox
    shown = []

    def question(parent, title, text, buttons=QMessageBox.Yes | QMessageBox.No, *a):
        shown.append(("question", title, text))
        return QMessageBox.Discard if buttons & QMessageBox.Discard else QMessageBox.No

    def note(kind):
        return lambda parent, title, text, *a: shown.append((kind, title, text)) or QMessageBox.Ok

    monkeypatch.setattr(QMessageBox, "question", staticmethod(question))
    for kind in ("warning", "information", "critical"):
        monkeypatch.setattr(QMessageBox, kind, staticmethod(note(kind)))
    return shown


@pytest.fixture(autouse=True)
def _nothing_frozen():
    """The app freezes start-up's objects out of the collector (gui_collector.settle); a test that
    starts the app must not leave the next tests' objects frozen with them."""
    yield
    gc.unfreeze()


@pytest.fixture(autouse=True)
def _no_leaked_qthreads(qapp):
    yield
    from PySide6.QtCore import QThread
    # type() not isinstance(): isinstance reads __class__, which some lazy modules warn about
    running = [o for o in gc.get_objects() if issubclass(type(o), QThread) and _running(o)]
    assert not running, f"test left {len(running)} QThread(s) running: stop and wait() them"


def _running(t):
    import shiboken6
    try:
        return shiboken6.isValid(t) and t.isRunning()
    except RuntimeError:  # the C++ object is already gone
        return False


def shown_window(qtbot):
    """The main window at 1366×768, shown and exposed, its presets loaded (the caller disposes of it)."""
    from studio._qt.window.main_window import MainWindow
    w = MainWindow()
    w.resize(1366, 768)
    w.show()
    qtbot.waitExposed(w)
    w._warm()
    return w


@pytest.fixture
def window(qtbot):
    w = shown_window(qtbot)
    qtbot.addWidget(w)
    yield w
    w.model.timeline.set_playing(False)
    dispose(w)


def dispose(w):
    """Delete a window now, on the GUI thread, so each test starts without the last one's window
    (its timers, docks and worker connections) still alive and its memory is given back."""
    import shiboken6
    from PySide6.QtCore import QCoreApplication, QEvent
    if not shiboken6.isValid(w):
        return
    w.close()
    w.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.DeferredDelete)
    QCoreApplication.processEvents()
    gc.collect()


@pytest.fixture
def make_docks(qtbot):
    """TrainingDocks on a plain main window, as the main window composes them (one dock per view,
    the Train menu); shut down and deleted on the GUI thread when the test ends."""
    import shiboken6
    from PySide6.QtCore import QCoreApplication, QEvent
    made = []

    def make(arch):
        from PySide6.QtCore import Qt
        from PySide6.QtWidgets import QDockWidget, QMainWindow, QMenu

        from studio._qt.training import TrainingDocks
        from tests.qt.training_docks import make_models
        doc, run = make_models(arch)
        w = QMainWindow()
        qtbot.addWidget(w)
        messages = []
        t = TrainingDocks(run, parent=w, show_status=lambda msg, timeout_ms=0: messages.append(msg))
        t.messages, t.doc, t.window = messages, doc, w
        for title, widget in t.docks.items():
            d = QDockWidget(title, w)
            d.setWidget(widget)
            w.addDockWidget(Qt.BottomDockWidgetArea, d)
        t.fill_menu(QMenu("Train", w))
        made.append(t)
        return t
    yield make
    for t in made:
        t.shutdown()
        if shiboken6.isValid(t.window):
            t.window.close()
            t.window.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.DeferredDelete)
    QCoreApplication.processEvents()
    gc.collect()


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("ARCHSTUDIO_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("ARCHSTUDIO_RUNS_DIR", str(tmp_path / "runs"))
    # these runs are "100,000 steps" long, so the panel's compile="auto" would compile the step
    # (a minute or more on a loaded CI box) before the first loss; eager keeps the test quick
    monkeypatch.setenv("ARCHSTUDIO_NO_COMPILE", "1")
    return tmp_path
