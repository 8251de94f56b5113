"""Qt test fixtures: isolated settings, and a check that no test leaves a QThread running."""
import studio._qt  # noqa: F401  applies the PySide6 None-refcount guard before any Qt test runs
import gc

import pytest

from file_per_process import QtFile, in_parent


def pytest_pycollect_makemodule(module_path, parent):
    """In the top-level run, each test file becomes one item that runs it in a fresh process
    (see file_per_process.py for why); inside that child, files are collected as usual."""
    if in_parent():
        return QtFile.from_parent(parent, path=module_path)
    return None


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


@pytest.fixture
def window(qtbot):
    from studio._qt.window.main_window import MainWindow
    w = MainWindow()
    qtbot.addWidget(w)
    w.resize(1366, 768)
    w.show()
    qtbot.waitExposed(w)
    w._warm()
    yield w
    w.model.timeline.set_playing(False)
    dispose(w)


def dispose(w):
    """Delete a window now, not at a random garbage-collection moment inside a later test's
    event processing (where PySide teardown of half-collected widgets can crash)."""
    import shiboken6
    from PySide6.QtCore import QCoreApplication, QEvent
    if not shiboken6.isValid(w):
        return
    w.close()
    w.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.DeferredDelete)
    QCoreApplication.processEvents()
    gc.collect()
