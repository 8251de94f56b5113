"""The front end the command line is given by its caller (``studio.entry`` plugs in Qt).

The CLI never imports ``studio._qt``: the commands that need a window or a painter ask this
object, and without one (a test, a Qt-less build) they say so in one line.
"""
from __future__ import annotations

from typing import Protocol

from studio.core.errors import StudioError


class Frontend(Protocol):
    def launch(self, model: str | None) -> int: ...
    def render(self, args) -> int: ...
    def render_inspection(self, ins, out: str, theme: str) -> list[str]: ...
    def qt_probe(self) -> str: ...
    def preflight(self) -> str | None: ...  # why no window can open here, in one line; None when it can


class NoFrontend:
    """Stands in when no GUI is plugged in: every request is one clear refusal."""

    def _refuse(self, *_a, **_k):
        raise StudioError("this command needs the desktop front end, which this build does not include")

    launch = render = render_inspection = qt_probe = preflight = _refuse


_current: Frontend = NoFrontend()


def current() -> Frontend:
    return _current


def install(frontend: Frontend | None) -> None:
    global _current
    _current = frontend if frontend is not None else NoFrontend()
