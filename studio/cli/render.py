"""``archstudio render``: the scene is painted by the Qt front end the program plugged in."""
from __future__ import annotations

from studio.cli import frontend


def cmd_render(args) -> int:
    return frontend.current().render(args)
