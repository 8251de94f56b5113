"""The child process of a first start's background warm-up (studio.core.training.first_warm starts
it as ``python -m studio.cli.first_warm_child -``): reads a FirstWarmRequest as JSON on stdin, prints
one JSON line per stage ({"stage": …}) and one with the result ({"result": …}). Niced: the window
and a training run beside it keep the cores first."""
from __future__ import annotations

import json
import os
import sys

from studio.core.training.first_warm import FirstWarmRequest
from studio.core.training.first_warm_stages import warm_stages
from studio.core.training.warm import NICE


def _say(text: str) -> None:
    print(json.dumps({"stage": text}), flush=True)


def main(argv: list[str]) -> int:
    if hasattr(os, "nice"):
        os.nice(NICE)
    try:
        result = warm_stages(FirstWarmRequest(**json.loads(sys.stdin.read())), _say)
    except Exception as exc:  # noqa: BLE001  the app says it in one line and trains eagerly
        result = {"ok": False, "error": f"{type(exc).__name__}: {str(exc).strip()[:160]}"}
    print(json.dumps({"result": result}, default=str), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
