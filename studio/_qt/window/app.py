"""QApplication start-up for ``archstudio`` (the GUI entry point)."""
from __future__ import annotations

import sys


def create_app():
    """The one QApplication, with Python's cyclic garbage collection moved onto the GUI thread
    (gui_collector.py: a collection on the worker thread deleted GUI objects there and crashed
    the GUI thread later). Every QApplication of the program is made here, tests included."""
    from PySide6.QtWidgets import QApplication

    from studio._qt.window.gui_collector import install
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("LLM Architecture Studio")
    app.setOrganizationName("archstudio")
    app.setOrganizationDomain("archstudio.local")
    install(app)
    return app


def size_to_screen(win, screen=None) -> tuple[int, int]:
    """Open at 90 % of the screen's free area, centred (not a fixed 1366×768 on a 1080p screen);
    never smaller than 1024×640 nor larger than the screen."""
    from PySide6.QtGui import QGuiApplication
    screen = screen or QGuiApplication.primaryScreen()
    if screen is None:
        win.resize(1366, 768)
        return 1366, 768
    free = screen.availableGeometry()
    w = min(free.width(), max(1024, int(free.width() * 0.9)))
    h = min(free.height(), max(640, int(free.height() * 0.9)))
    win.resize(w, h)
    win.move(free.x() + (free.width() - w) // 2, free.y() + (free.height() - h) // 2)
    return w, h


def run_app(model_spec: str | None = None) -> int:
    app = create_app()
    start_window(model_spec)
    return app.exec()


def start_window(model_spec: str | None = None):
    """Show the main window, offer recovery and open the model given on the command line; every
    failure is a message and the window stays. Separate from ``app.exec()`` so tests can drive the
    whole start-up without running (and quitting) the application's event loop."""
    from PySide6.QtWidgets import QMessageBox

    from studio._qt.window.main_window import MainWindow
    win = MainWindow(defer_optional=True)
    win.show()
    try:
        recovered = win.projects.offer_recovery()
    except Exception as exc:  # noqa: BLE001  a damaged autosave must never stop the app from starting
        recovered = False
        QMessageBox.warning(win, "Cannot recover", one_line(exc))
    if model_spec and not recovered:
        try:
            win.open_model(model_spec)
        except Exception as exc:  # noqa: BLE001  any file, any error: a message, and the window stays
            QMessageBox.warning(win, "Cannot open", one_line(exc))
    return win


def one_line(exc: BaseException) -> str:
    """A StudioError's own line, or the error's type and first line (cut) for anything else."""
    from studio.core.errors import StudioError
    text = str(exc).splitlines()[0] if str(exc) else ""
    if not isinstance(exc, StudioError):
        text = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return text if len(text) <= 300 else text[:299] + "…"
