"""The app's real main window for GUI benchmarks: offscreen, 1366×768, its settings and runs in a
folder of its own (a benchmark never reads or writes the user's)."""
from __future__ import annotations

import os
import tempfile


def bench_window(app):
    """The window, shown; ``app`` is the QApplication. Runs and settings go to a fresh temp folder."""
    from PySide6.QtCore import QSettings
    os.environ.setdefault("ARCHSTUDIO_NO_BACKGROUND_WARM", "1")  # fresh settings are a first start: no warm-up beside
    tmp = tempfile.mkdtemp(prefix="archstudio-bench-")
    os.environ["ARCHSTUDIO_RUNS_DIR"] = tmp
    app.setOrganizationName("archstudio-bench")
    QSettings.setDefaultFormat(QSettings.IniFormat)
    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, tmp)
    from studio._qt.window.main_window import MainWindow
    w = MainWindow()
    w.resize(1366, 768)
    w.show()
    return w
