"""QApplication start-up for ``archstudio`` (the GUI entry point)."""
from __future__ import annotations

import sys


def create_app():
    from PySide6.QtWidgets import QApplication
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("LLM Architecture Studio")
    app.setOrganizationName("archstudio")
    app.setOrganizationDomain("archstudio.local")
    return app


def run_app(model_spec: str | None = None) -> int:
    app = create_app()
    from PySide6.QtWidgets import QMessageBox

    from studio._qt.main_window import MainWindow
    from studio.core.errors import StudioError

    win = MainWindow(defer_optional=True)
    win.show()
    recovered = win.projects.offer_recovery()
    if model_spec and not recovered:
        try:
            win.open_model(model_spec)
        except StudioError as exc:
            QMessageBox.warning(win, "Cannot open", str(exc))
    return app.exec()
