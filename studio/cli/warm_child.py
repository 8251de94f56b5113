"""The child process that compiles one training step's shape (studio.core.training.warm starts it
as ``python -m studio.cli.warm_child -``): reads a WarmSpec as JSON on stdin, prints the result as
one JSON line. A program of its own, so it lives with the other programs, not in the core."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from studio.core.training.warm import NICE, WarmSpec, compile_shape


def main(argv: list[str]) -> int:
    if hasattr(os, "nice"):
        os.nice(NICE)  # (in the child itself: a preexec_fn is unsafe in a process with threads)
    text = sys.stdin.read() if argv[:1] in (["-"], []) else Path(argv[0]).read_text(encoding="utf-8")
    try:
        result = compile_shape(WarmSpec(**json.loads(text)))
    except Exception as exc:  # noqa: BLE001  the parent trains eagerly and says why
        result = {"ok": False, "error": f"{type(exc).__name__}: {str(exc).strip()[:160]}"}
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
