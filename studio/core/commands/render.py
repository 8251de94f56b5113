"""``archstudio render``: the work happens in studio._qt.render (Qt); this stub keeps studio.core
free of any static Qt import (the import-linter contract) by loading it at call time."""
from __future__ import annotations

import importlib


def cmd_render(args) -> int:
    return importlib.import_module("studio._qt.render").cmd_render(args)
