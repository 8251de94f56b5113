"""The outside packages an exporter (or the TensorBoard log) needs, imported only when used.

They live in extras (pyproject.toml: ``export``, ``tensorboard``), so the app installs and starts
without them; a missing one is one line naming the extra to install, never an ImportError.
"""
from __future__ import annotations

import importlib

from studio.core import errors as E

EXTRA = "export"


def require(purpose: str, *modules: str, extra: str = EXTRA) -> list:
    """Import each module (dotted names, e.g. ``google.protobuf``) or raise one StudioError line
    naming the extra that installs it."""
    out, missing = [], []
    for name in modules:
        try:
            out.append(importlib.import_module(name))
        except ImportError:
            missing.append(name.split(".")[0] if name != "google.protobuf" else "protobuf")
    if missing:
        raise E.StudioError(f"{purpose} needs the Python package{'s' if len(missing) > 1 else ''} "
                            f"{', '.join(missing)} (the '{extra}' extra): "
                            f"pip install 'llm-architecture-studio[{extra}]'")
    return out
