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
    "lesson": "studio.cli.lesson:cmd_lesson",
    "race": "studio.cli.race:cmd_race",
    "experiment": "studio.cli.experiment:cmd_experiment",
    "timeline": "studio.cli.timeline:cmd_timeline",
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

    _describe_commands(sub)
    _data_and_train_commands(sub)
    _run_commands(sub)
    _class_commands(sub)
    return p


def _describe_commands(sub) -> None:
    """presets, info, validate, render: what a model is."""
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
    s.add_argument("--presentation", action="store_true",
                   help="the whole presentation-mode screen (card, graph, timeline) at --size")


def _data_and_train_commands(sub) -> None:
    """data fetch, train."""
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
    s.add_argument("--batch-size", type=int, default=None,
                   help="default 8, or 16 for --minutes of 2 or more (--resume: the run's)")
    s.add_argument("--context", type=int, default=None,
                   help="default 128, or 256 for --minutes of 2 or more (at most the model's own; --resume: the run's)")
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
                   help="default muon (Muon for hidden matrices, AdamW for the rest), or adamw for --minutes of 2 "
                        "or more (measured: Muon wins while steps are few, AdamW's cheaper step over longer "
                        "budgets); muonclip = Muon + QK-clip (Kimi K2)")
    s.add_argument("--precision", choices=("auto", "fp32", "bf16", "fp8"), default=None,
                   help="default auto: bf16 autocast where this CPU/GPU has native bf16 and a measured step is "
                        "faster, else fp32; fp8 = simulated (e4m3 forward, e5m2 gradients)")
    s.add_argument("--tensorboard", action="store_true",
                   help="also write the metrics as TensorBoard event files into RUN_DIR/tensorboard/ (tensorboardX)")
    s.add_argument("--minutes", type=float, default=None,
                   help="train for this many minutes (the schedule is fitted to it; preparing is not counted); "
                        "with --resume: that many more minutes")
    s.add_argument("--warmup-steps", type=int, default=None,
                   help="steps of linear warmup (default: 5 %% of the steps a run is expected to take, at most 100)")
    s.add_argument("--schedule", choices=("wsd", "cosine"), default=None,
                   help="learning-rate schedule after warmup (default: wsd for --minutes, else cosine)")
    s.add_argument("--compile", choices=("auto", "on", "off"), default=None,
                   help="torch.compile the training step (default auto: for runs of 2 minutes or more; "
                        "eager wherever compilation fails)")
    s.add_argument("--attention", choices=("auto", "sdpa"), default=None,
                   help="default auto: causal attention with head size 8 or 16 runs the small-head C++ kernel on a "
                        "CPU (the same function, faster; built with the system compiler, SDPA where it cannot be); "
                        "sdpa: PyTorch's scaled_dot_product_attention always")


def _run_commands(sub) -> None:
    """What a trained run does: generate, inspect, export, import-llama2c; and doctor."""
    s = sub.add_parser("generate", help="continue a prompt with a trained run")
    s.add_argument("run_dir", metavar="RUN_DIR")
    s.add_argument("--prompt", default="")
    s.add_argument("--temperature", type=float, default=0.8, help="default 0.8; 0 = greedy")
    s.add_argument("--top-k", type=int, default=None)
    s.add_argument("--top-p", type=float, default=0.9, help="default 0.9; 1 = off")
    s.add_argument("--max-new-tokens", type=int, default=200)
    s.add_argument("--seed", type=int, default=None)
    s.add_argument("--chat", action="store_true",
                   help="talk to a run with a chat template (the 2022-11-chatgpt experiment's folder): --prompt is "
                        "your turn, or without it each line of stdin is one turn")

    s = sub.add_parser("inspect", help="attention maps and MoE routing for a prompt")
    s.add_argument("run_dir", metavar="RUN_DIR")
    s.add_argument("--prompt", required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--source", default=None, help="encoder input of an encoder-decoder model (default: the prompt)")
    s.add_argument("--theme", choices=("light", "dark"), default="light")

    s = sub.add_parser("export", help="export a run to llama2.c's model.bin + tokenizer.bin, a Hugging Face "
                                      "checkpoint (--format hf) or a GGUF file for llama.cpp (--format gguf)")
    s.add_argument("run_dir", metavar="RUN_DIR")
    s.add_argument("--format", choices=("llama2c", "hf", "gguf"), default="llama2c")
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


def _class_commands(sub) -> None:
    """The class around the models: lesson, race, experiment, plan."""
    s = sub.add_parser("lesson", help="prepare the lesson's models ahead of class; summary of what is ready")
    lsub = s.add_subparsers(dest="lesson_command", parser_class=Parser)
    f = lsub.add_parser("prepare", help="train each milestone's classroom model into LESSON_DIR (resumable)")
    f.add_argument("--minutes-per-model", type=float, default=None, help="default 5")
    f.add_argument("--milestones", nargs="+", metavar="ID", default=None, help="default: every milestone and recipe")
    f.add_argument("--data", default=None, help="PATH, quick, full or starter (default: TinyStories if downloaded)")
    f.add_argument("--out", default=None, metavar="LESSON_DIR")
    f.add_argument("--pretrained", nargs="+", metavar="NAME", default=None,
                   help="also import karpathy's tinyllamas (stories260K stories15M stories42M stories110M)")
    f.add_argument("--steps", type=int, default=None, help="instead of minutes: steps per model")
    f.add_argument("--batch-size", type=int, default=None)
    f.add_argument("--context", type=int, default=None)
    f.add_argument("--seed", type=int, default=1337)
    f.add_argument("--threads", type=int, default=None)
    f.add_argument("--device", default="cpu")
    f.add_argument("--precision", choices=("auto", "fp32", "bf16"), default="auto",
                   help="default auto: bf16 where native and measured faster")
    f.add_argument("--compile", choices=("auto", "on", "off"), default="auto")
    f.add_argument("--experiments", action="store_true", help="also run the experiment of each milestone that has one")
    f.add_argument("--experiment-minutes", type=float, default=3.0, metavar="N",
                   help="minutes of work per experiment (default 3)")
    f = lsub.add_parser("summary", help="held-out bits per byte, tokens seen and minutes of each prepared run")
    f.add_argument("lesson_dir", metavar="LESSON_DIR")
    f.add_argument("--csv", default=None, metavar="FILE")

    s = sub.add_parser("race", help="train 2-4 models side by side on the identical token stream")
    s.add_argument("models", nargs="*", metavar="MODEL", help="2 to 4 preset ids or model files")
    s.add_argument("--minutes", type=float, default=None, help="the whole race (default 3)")
    s.add_argument("--steps", type=int, default=None, help="instead of minutes")
    s.add_argument("--data", default=None, help="PATH, quick, full or starter (default: TinyStories if downloaded)")
    s.add_argument("--out", default=None, metavar="DIR")
    s.add_argument("--match", choices=("none", "params", "active", "flops"), default=None,
                   help="fit the later models' FFN widths to the first's parameters / active parameters / FLOPs")
    s.add_argument("--preset", default=None, metavar="ID", help="a classic race (see --list)")
    s.add_argument("--list", action="store_true", help="list the race presets")
    s.add_argument("--show", default=None, metavar="DIR", help="reopen a saved race: its final table")
    s.add_argument("--batch-size", type=int, default=None)
    s.add_argument("--context", type=int, default=None)
    s.add_argument("--vocab-size", type=int, default=None, help="the shared BPE vocabulary (default 512)")
    s.add_argument("--seed", type=int, default=1337)
    s.add_argument("--threads", type=int, default=None)
    s.add_argument("--device", default="cpu")

    importlib.import_module("studio.cli.experiment").add_parser(sub)
    importlib.import_module("studio.cli.timeline").add_parser(sub)

    s = sub.add_parser("plan", help="training compute: 6·N·D, Chinchilla / nanochat optimum, a run's progress and ETA")
    s.add_argument("model", metavar="MODEL")
    s.add_argument("--run", default=None, metavar="RUN_DIR", help="a run of MODEL: tokens seen, measured speed, ETA")
    s.add_argument("--json", action="store_true")


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
            from studio.core.files.presets import is_preset
            try:
                from studio.core.files.user_milestones import find
                known = is_preset(argv[0]) or Path(argv[0]).is_file() or find(argv[0]) is not None
            except Exception as exc:  # noqa: BLE001  a damaged timeline.yaml: one line, not a traceback
                return report(exc)
            if not known:
                print(f"archstudio: {argv[0]!r} is neither a command, a preset id nor a file (see --help)", file=sys.stderr)
                return 2
        return launch_gui(argv[0] if argv else None)
    import warnings
    # library warnings (torch's UserWarning with ANSI escapes, numpy overflow) must not come
    # before the one error line; with --debug they are shown as they happen
    with warnings.catch_warnings(record=not debug):
        if not debug:
            warnings.simplefilter("ignore")
        return _run(argv, debug)


def _run(argv: list[str], debug: bool) -> int:
    try:
        args = build_parser().parse_args(argv)
        if not args.command:
            return launch_gui(None)
        check_text_args(args)
        target = HANDLERS[args.command]
        mod, _, fn = target.partition(":")
        try:
            handler = getattr(importlib.import_module(mod), fn)
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.startswith("studio"):
                print(f"archstudio {args.command}: not available in this build", file=sys.stderr)
                return 2
            raise
        rc = int(handler(args) or 0)
        sys.stdout.flush()  # a reader that left shows up here, inside the handling below
        return rc
    except SystemExit as exc:  # --help / --version
        return int(exc.code or 0)
    except UsageError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("archstudio: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `archstudio info … | head -1`: the reader left; say nothing more
        return _silence_stdout()
    except Exception as exc:  # noqa: BLE001  one line, never a traceback unless --debug
        if debug:
            raise
        return report(exc)


# OSError numbers that mean "the path you gave cannot be used" (bad input, exit 2)
_BAD_PATH = {"EACCES", "EPERM", "ENAMETOOLONG", "ELOOP", "ENOTDIR", "EISDIR", "EROFS", "EEXIST", "ENOENT"}


def report(exc: BaseException) -> int:
    """Print the one error line for exc; return the exit code (2 bad input, 1 failure while working)."""
    import errno
    from studio.core.errors import StudioError
    if isinstance(exc, StudioError):
        _err(f"archstudio: {_first_line(exc)}")
        return 2
    if isinstance(exc, OSError):
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        name = errno.errorcode.get(exc.errno or 0, "")
        _err(f"archstudio: {where}{exc.strerror or type(exc).__name__}"
             + (" (free some disk space and retry)" if name in ("ENOSPC", "EDQUOT") else ""))
        return 2 if name in _BAD_PATH else 1
    if isinstance(exc, MemoryError):
        _err("archstudio: out of memory: the input is too large for this machine")
        return 2
    if isinstance(exc, RecursionError):
        _err("archstudio: the input is nested too deeply")
        return 2
    _err(f"archstudio: internal error: {type(exc).__name__}: {_first_line(exc)} (rerun with --debug for details)")
    return 1


def _first_line(exc) -> str:
    text = (str(exc).splitlines() or [""])[0]
    return text if len(text) <= 400 else text[:399] + "…"


def _err(line: str) -> None:
    try:
        print(line, file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass


def _silence_stdout() -> int:
    import os
    try:  # later flushes at exit go nowhere instead of printing "Exception ignored … BrokenPipeError"
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass
    return 141  # 128 + SIGPIPE, what a shell reports for a command whose reader went away


def check_text_args(args) -> None:
    """A --prompt/--source that is not UTF-8 (argv bytes Python keeps as surrogates) is bad input."""
    from studio.core.errors import StudioError
    for name in ("prompt", "source"):
        v = getattr(args, name, None)
        if isinstance(v, str):
            try:
                v.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise StudioError(f"--{name} is not valid UTF-8 text (byte at position {exc.start}); "
                                  "pass it as UTF-8") from None


def launch_gui(model: str | None) -> int:
    try:
        return current_frontend().launch(model)
    except ImportError as exc:
        print(f"archstudio: cannot start the GUI: {exc}; run 'archstudio doctor'", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001  whatever the window's start-up raises: one line
        return report(exc)


