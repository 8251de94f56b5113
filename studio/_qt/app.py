"""QApplication start-up for ``archstudio`` (GUI entry point)."""
from __future__ import annotations

import sys


def run_app(model: str | None = None) -> int:
    from PySide6.QtWidgets import QApplication, QMessageBox

    from studio._qt.main_window import MainWindow
    from studio.core.errors import StudioError

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("LLM Architecture Studio")
    app.setOrganizationName("archstudio")
    win = MainWindow()
    if model:
        try:
            win.open_model(model)
        except StudioError as exc:
            QMessageBox.warning(win, "Cannot open", str(exc))
    win.show()
    return app.exec()
