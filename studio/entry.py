"""The ``archstudio`` program: the command line, with the Qt front end plugged in.

``studio.cli`` and ``studio._qt`` are sibling layers that never import each other (the
import-linter ``layers`` contract). This module sits above both and hands the command line the
few things only Qt can do — start the window, render a scene, paint inspection images — as a
``Frontend`` object, so the CLI stays importable and testable without PySide6.
"""
from __future__ import annotations

import sys


class QtFrontend:
    """What the command line asks of Qt. Each import is lazy: `archstudio info` never loads Qt."""

    def launch(self, model: str | None) -> int:
        found = self.preflight()  # before any QApplication: Qt aborts the process instead of failing
        if found:
            print(f"archstudio: {found}", file=sys.stderr)
            return 2
        from studio._qt.window.app import run_app
        return run_app(model)

    def preflight(self) -> str | None:
        """One line saying why no window can open here (no display, missing system libraries), or None."""
        from studio._qt.window.preflight import problem
        return problem()

    def render(self, args) -> int:
        from studio._qt.render import cmd_render
        return cmd_render(args)

    def render_inspection(self, ins, out: str, theme: str) -> list[str]:
        from studio._qt.inspect.render import render_inspection
        return render_inspection(ins, out, theme)

    def qt_probe(self) -> str:
        from PySide6.QtWidgets import QApplication
        return QApplication([]).platformName()


def main(argv: list[str] | None = None) -> int:
    from studio.cli import main as cli_main
    code = cli_main(argv, frontend=QtFrontend())
    if argv is None and sys.argv[1:2] in (["train"], ["race"], ["lesson"]):  # their --minutes are wall clock
        _exit_now(code)
    return code


def _exit_now(code: int) -> None:
    """``archstudio train`` (race, lesson) as a program ends when its run has: atexit handlers and stdio flushed,
    then out without the interpreter's teardown of torch (4-20 s measured at load 12 on 2 cores,
    time a "--minutes N" user waits for after the run's own end). In-process callers pass argv."""
    import atexit
    import os
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code if isinstance(code, int) else 1)


if __name__ == "__main__":
    sys.exit(main())
