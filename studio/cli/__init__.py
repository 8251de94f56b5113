"""The ``archstudio`` command line (contract: shared docs CLI.md).

Nothing here imports Qt, and only the commands that need tensors import torch (lazily, in
their handler modules). Every error is one line on stderr: exit 2 for bad input or usage,
1 for a failure while working; ``--debug`` shows the traceback.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from studio import __version__
from studio.cli.frontend import Frontend
from studio.cli.frontend import current as current_frontend
from studio.cli.frontend import install as install_frontend

# command -> "module:function"; handlers take the parsed args and return an exit code.
HANDLERS = {
    "presets": "studio.cli.basic:cmd_presets",
    "info": "studio.cli.basic:cmd_info",
    "validate": "studio.cli.basic:cmd_validate",
    "render": "studio.cli.render:cmd_render",
    "data": "studio.cli.data:cmd_data",
    "train": "studio.cli.train:cmd_train",
    "generate": "studio.cli.generate:cmd_generate",
    "inspect": "studio.cli.inspect:cmd_inspect",
    "export": "studio.cli.export:cmd_export",
    "import-llama2c": "studio.cli.export:cmd_import",
    "doctor": "studio.cli.doctor:cmd_doctor",
    "plan": "studio.cli.plan:cmd_plan",
}


class UsageError(Exception):
    pass


class Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2, no usage dump
        raise UsageError(f"{self.prog}: {message} (see --help)")


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog="archstudio", description="LLM Architecture Studio: from the 2017 Transformer to 2026 MoE models.")
    p.add_argument("--version", action="version", version=f"archstudio {__version__}")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = p.add_subparsers(dest="command", parser_class=Parser)

    s = sub.add_parser("presets", help="list milestones in date order, then recipes")
    s.add_argument("--json", action="store_true")

    s = sub.add_parser("info", help="exact parameters, KV cache and FLOPs of a model")
    s.add_argument("model", metavar="MODEL", help="preset id, architecture YAML or project file")
    s.add_argument("--scale", choices=("paper", "classroom"), default=None)
    s.add_argument("--json", action="store_true")

    s = sub.add_parser("validate", help="print every issue of a model's graph")
    s.add_argument("model", metavar="MODEL")
    s.add_argument("--scale", choices=("paper", "classroom"), default=None)

    s = sub.add_parser("render", help="render the main-window scene to PNG or SVG, offscreen")
    s.add_argument("model", metavar="MODEL")
    s.add_argument("--out", required=True)
    s.add_argument("--scale", choices=("paper", "classroom"), default="paper")
    s.add_argument("--theme", choices=("light", "dark"), default="light")
    s.add_argument("--size", default="1600x900")

    s = sub.add_parser("data", help="TinyStories data")
    dsub = s.add_subparsers(dest="data_command", parser_class=Parser)
    f = dsub.add_parser("fetch", help="download TinyStories (resumable)")
    f.add_argument("--subset", choices=("quick", "full"), default="quick")
    f.add_argument("--cache", default=None)
    f.add_argument("--pretrained", nargs="+", metavar="NAME", default=None,
                   help="instead: karpathy's pretrained tinyllamas (stories260K stories15M stories42M stories110M)")

    s = sub.add_parser("train", help="train a model's classroom scale on TinyStories")
    s.add_argument("model", metavar="MODEL")
    s.add_argument("--data", default=None, help="PATH, quick, full or starter")
    s.add_argument("--out", default=None)
    s.add_argument("--steps", type=int, default=None, help="total steps (default 200; --resume: the run's)")
    s.add_argument("--batch-size", type=int, default=None, help="default 8 (--resume: the run's)")
    s.add_argument("--context", type=int, default=None)
    s.add_argument("--lr", type=float, default=None)
    s.add_argument("--seed", type=int, default=None, help="default 1337 (--resume: the run's)")
    s.add_argument("--threads", type=int, default=None)
    s.add_argument("--tokenizer", choices=("bpe", "byte", "llama2"), default=None)
    s.add_argument("--vocab-size", type=int, default=None)
    s.add_argument("--resume", action="store_true")
    s.add_argument("--device", default="cpu", help="cpu or cuda")
    s.add_argument("--tokenizer-model", default=None, help="Llama 2 tokenizer.model for --tokenizer llama2")
    s.add_argument("--eval-interval", type=int, default=None, help="steps between validation evals")
    s.add_argument("--optimizer", choices=("adamw", "muon", "muonclip"), default=None,
                   help="default adamw; muonclip = Muon + QK-clip (Kimi K2)")
    s.add_argument("--precision", choices=("fp32", "bf16", "fp8"), default=None,
                   help="default fp32; bf16 = autocast; fp8 = simulated (e4m3 forward, e5m2 gradients)")

    s = sub.add_parser("generate", help="continue a prompt with a trained run")
    s.add_argument("run_dir", metavar="RUN_DIR")
    s.add_argument("--prompt", default="")
    s.add_argument("--temperature", type=float, default=1.0)
    s.add_argument("--top-k", type=int, default=None)
    s.add_argument("--top-p", type=float, default=None)
    s.add_argument("--max-new-tokens", type=int, default=200)
    s.add_argument("--seed", type=int, default=None)

    s = sub.add_parser("inspect", help="attention maps and MoE routing for a prompt")
    s.add_argument("run_dir", metavar="RUN_DIR")
    s.add_argument("--prompt", required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--source", default=None, help="encoder input of an encoder-decoder model (default: the prompt)")
    s.add_argument("--theme", choices=("light", "dark"), default="light")

    s = sub.add_parser("export", help="export a run to llama2.c's model.bin + tokenizer.bin")
    s.add_argument("run_dir", metavar="RUN_DIR")
    s.add_argument("--format", choices=("llama2c",), default="llama2c")
    s.add_argument("--out", required=True)
    s.add_argument("--quantize", choices=("q8_0",), default=None)
    s.add_argument("--group-size", type=int, default=None, help="Q8_0 group size (must divide dim and hidden_dim)")
    s.add_argument("--prompt", default="Once upon a time", help="prompt for the printed run command line")
    s.add_argument("--max-new-tokens", type=int, default=200, help="new tokens for the printed run command line")

    s = sub.add_parser("import-llama2c", help="turn a llama2.c model.bin into a run folder")
    s.add_argument("model_bin", metavar="MODEL.bin")
    s.add_argument("--tokenizer", required=True)
    s.add_argument("--out", required=True)

    sub.add_parser("doctor", help="check the installation and name what is missing")

    s = sub.add_parser("plan", help="training compute: 6·N·D, Chinchilla / nanochat optimum, a run's progress and ETA")
    s.add_argument("model", metavar="MODEL")
    s.add_argument("--run", default=None, metavar="RUN_DIR", help="a run of MODEL: tokens seen, measured speed, ETA")
    s.add_argument("--json", action="store_true")
    return p


def main(argv: list[str] | None = None, frontend: Frontend | None = None) -> int:
    """Run one command. ``frontend`` (see studio.entry) starts the window and paints scenes."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if frontend is not None:
        install_frontend(frontend)
    if argv == ["--qt-probe"]:  # used by `archstudio doctor`, also inside a frozen bundle
        print(current_frontend().qt_probe())
        return 0
    debug = "--debug" in argv
    if not argv or (len(argv) == 1 and not argv[0].startswith("-") and argv[0] not in HANDLERS):
        if argv:
            from pathlib import Path
            from studio.core.presets import is_preset
            if not is_preset(argv[0]) and not Path(argv[0]).is_file():
                print(f"archstudio: {argv[0]!r} is neither a command, a preset id nor a file (see --help)", file=sys.stderr)
                return 2
        return launch_gui(argv[0] if argv else None)
    try:
        args = build_parser().parse_args(argv)
        if not args.command:
            return launch_gui(None)
        target = HANDLERS[args.command]
        mod, _, fn = target.partition(":")
        try:
            handler = getattr(importlib.import_module(mod), fn)
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.startswith("studio"):
                print(f"archstudio {args.command}: not available in this build", file=sys.stderr)
                return 2
            raise
        return int(handler(args) or 0)
    except SystemExit as exc:  # --help / --version
        return int(exc.code or 0)
    except UsageError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("archstudio: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001  one line, never a traceback unless --debug
        from studio.core.errors import StudioError
        if debug:
            raise
        if isinstance(exc, StudioError):
            print(f"archstudio: {exc}", file=sys.stderr)
            return 2
        print(f"archstudio: internal error: {type(exc).__name__}: {exc} (rerun with --debug for details)", file=sys.stderr)
        return 1


def launch_gui(model: str | None) -> int:
    try:
        return current_frontend().launch(model)
    except ImportError as exc:
        print(f"archstudio: cannot start the GUI: {exc}; run 'archstudio doctor'", file=sys.stderr)
        return 2


