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
    return cli_main(argv, frontend=QtFrontend())


if __name__ == "__main__":
    sys.exit(main())
