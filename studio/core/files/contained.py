"""Paths read from a file the app did not just write stay inside that file's folder.

A lesson, race or run folder is something people share; the folder names written in its index
(``models[].run``) are data, not trust. Before the app reads, writes or deletes anything they
name, :func:`inside` resolves the name against the folder and refuses absolute paths, ``..``,
the folder itself and symbolic links that lead out (``run: /home/me/thesis`` once made
``lesson prepare`` delete that folder).
"""
from __future__ import annotations

import re
from pathlib import Path, PurePosixPath, PureWindowsPath

from studio.core import errors as E
from studio.core.files.schema import short

_DRIVE = re.compile(r"^[A-Za-z]:")


def inside_problem(root, name) -> str | None:
    """Why ``name`` (from a file in ``root``) does not name a path inside ``root``; None when it does."""
    if not isinstance(name, str):
        return f"must be a folder name (text), got {short(name)}"
    if not name.strip() or "\0" in name or len(name) > 1024:
        return f"{short(name)} does not name a folder"
    if name.startswith(("/", "\\")) or _DRIVE.match(name) or PureWindowsPath(name).is_absolute():
        return f"{short(name)} is an absolute path; a name here must stay inside {short(str(root))}"
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if ".." in parts:
        return f"{short(name)} leads out of the folder ('..'); a name here must stay inside it"
    if not parts or parts == (".",):
        return f"{short(name)} names the folder itself, not a folder inside it"
    if any(len(p.encode("utf-8", "surrogatepass")) > 255 for p in parts):
        return f"{short(name)} has a part longer than a file name may be (255 bytes)"
    try:
        base = Path(root).resolve()
        target = (base / Path(*parts)).resolve()
    except (OSError, RuntimeError) as exc:  # a symlink loop
        return f"{short(name)} cannot be resolved ({exc})"
    if target == base or base not in target.parents:
        return f"{short(name)} leads out of {short(str(root))} through a symbolic link"
    return None


def inside(root, name, where: str) -> Path:
    """``root / name`` when it stays inside ``root`` (see :func:`inside_problem`), else one LoadError naming ``where``."""
    why = inside_problem(root, name)
    if why:
        raise E.LoadError(f"{where}: {why}")
    return Path(root) / Path(*PurePosixPath(name.replace("\\", "/")).parts)
