"""QApplication start-up for ``archstudio`` (the GUI entry point)."""
from __future__ import annotations

import sys

from studio._qt.text import one_line


def create_app():
    """The one QApplication, with Python's cyclic garbage collection moved onto the GUI thread
    (gui_collector.py: a collection on the worker thread deleted GUI objects there and crashed
    the GUI thread later). Every QApplication of the program is made here, tests included."""
    from PySide6.QtWidgets import QApplication

    from studio._qt.window.gui_collector import install
    from studio.core.jobs.heap import limit_arenas
    limit_arenas()  # before any worker thread: freed job memory is reused, not stranded (heap.py)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("LLM Architecture Studio")
    app.setOrganizationName("archstudio")
    app.setOrganizationDomain("archstudio.local")
    install(app)
    return app


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
    _settle_when_built(win)
    return win


def _settle_when_built(win, poll_ms: int = 500, give_up_ms: int = 60_000) -> None:
    """Once the deferred docks exist (built after the first paint), start-up's objects leave the
    garbage collector's full collections (GuiThreadCollector.settle)."""
    from PySide6.QtCore import QElapsedTimer, QTimer
    from PySide6.QtWidgets import QApplication

    from studio._qt.window.gui_collector import installed
    collector = installed(QApplication.instance())
    if collector is None:
        return
    clock, timer = QElapsedTimer(), QTimer(win)
    clock.start()

    def check():
        if getattr(win, "training", None) is not None or clock.elapsed() > give_up_ms:
            timer.stop()
            collector.settle()
    timer.timeout.connect(check)
    timer.start(poll_ms)
