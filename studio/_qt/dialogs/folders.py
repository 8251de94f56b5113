"""Where file dialogs open: the folder last used for that kind of file, else the user's
Documents folder (else home) — never the process's working directory, which for an app
started from a menu or a terminal is an accident."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, QStandardPaths


def start_dir(kind: str, name: str = "", fallback=None) -> str:
    """The folder (joined with ``name``, a suggested file name) a dialog for ``kind`` opens in:
    the last one used, else ``fallback`` where it exists (the app's runs folder for a run),
    else Documents."""
    last = QSettings().value(f"dialogs/{kind}", "", type=str)
    folder = Path(last) if last and Path(last).is_dir() else None
    if folder is None and fallback and Path(fallback).is_dir():
        folder = Path(fallback)
    if folder is None:
        docs = QStandardPaths.writableLocation(QStandardPaths.DocumentsLocation)
        folder = Path(docs) if docs and Path(docs).is_dir() else Path.home()
    return str(folder / name) if name else str(folder)


def remember(kind: str, path: str) -> None:
    """Remember the folder of a chosen file (or a chosen folder) for the next dialog of ``kind``."""
    if path:
        p = Path(path)
        QSettings().setValue(f"dialogs/{kind}", str(p if p.is_dir() else p.parent))


def app_folder(kind: str) -> Path:
    """Where the app itself writes ``runs`` or ``races`` (the same environment overrides as the core)."""
    import os

    import platformdirs
    env = os.environ.get({"runs": "ARCHSTUDIO_RUNS_DIR", "races": "ARCHSTUDIO_RACES_DIR"}.get(kind, ""), "")
    return Path(env) if env else Path(platformdirs.user_data_dir("archstudio", appauthor=False)) / kind


def existing_or(text: str, kind: str, fallback=None) -> str:
    """A dialog's start for a field that may already name a path: that path (or its folder)
    where it exists, else ``start_dir(kind)`` — an empty field opened the working directory."""
    p = Path(text.strip()) if text and text.strip() else None
    if p is not None and p.is_absolute() and (p.exists() or p.parent.is_dir()):
        return str(p)
    return start_dir(kind, fallback=fallback)
