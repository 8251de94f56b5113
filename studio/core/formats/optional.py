"""The outside packages an exporter needs, imported only when exporting.

They live in the ``export`` extra (pyproject.toml), so the app installs and starts without them;
a missing one is one line naming the extra to install, never an ImportError traceback.
"""
from __future__ import annotations

import importlib

from studio.core import errors as E

EXTRA = "export"
INSTALL = f"pip install 'llm-architecture-studio[{EXTRA}]'"


def require(purpose: str, *modules: str) -> list:
    """Import each module (dotted names, e.g. ``google.protobuf``) or raise one StudioError line."""
    out, missing = [], []
    for name in modules:
        try:
            out.append(importlib.import_module(name))
        except ImportError:
            missing.append(name.split(".")[0] if name != "google.protobuf" else "protobuf")
    if missing:
        raise E.StudioError(f"{purpose} needs the Python package{'s' if len(missing) > 1 else ''} "
                            f"{', '.join(missing)} (the '{EXTRA}' extra): {INSTALL}")
    return out
