"""Where file dialogs open: the folder last used for that kind of file, else the user's
Documents folder (else home) — never the process's working directory, which for an app
started from a menu or a terminal is an accident."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, QStandardPaths


def start_dir(kind: str, name: str = "") -> str:
    """The folder (joined with ``name``, a suggested file name) a dialog for ``kind`` opens in."""
    last = QSettings().value(f"dialogs/{kind}", "", type=str)
    folder = Path(last) if last and Path(last).is_dir() else None
    if folder is None:
        docs = QStandardPaths.writableLocation(QStandardPaths.DocumentsLocation)
        folder = Path(docs) if docs and Path(docs).is_dir() else Path.home()
    return str(folder / name) if name else str(folder)


def remember(kind: str, path: str) -> None:
    """Remember the folder of a chosen file (or a chosen folder) for the next dialog of ``kind``."""
    if path:
        p = Path(path)
        QSettings().setValue(f"dialogs/{kind}", str(p if p.is_dir() else p.parent))
