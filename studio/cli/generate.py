"""``archstudio generate RUN_DIR --prompt TEXT``: prompt + continuation as llama2.c's run prints."""
from __future__ import annotations

import sys

from studio.core import errors as E


def cmd_generate(args) -> int:
    from studio.core.runs.rundir import RunDir
    if args.max_new_tokens is not None and args.max_new_tokens < 0:
        raise E.StudioError("--max-new-tokens must be 0 or more")
    if args.top_p is not None and not 0 < args.top_p <= 1:
        raise E.StudioError("--top-p must be in (0, 1]")
    if args.top_k is not None and args.top_k < 1:
        raise E.StudioError("--top-k must be 1 or more")
    if args.seed is not None and not 0 <= args.seed < 1 << 64:  # torch's generator holds 64 bits
        raise E.StudioError(f"--seed must be from 0 to {(1 << 64) - 1}, got {args.seed}")
    run = RunDir(args.run_dir)
    tok = run.tokenizer()  # a missing or bad run folder is reported before torch is imported
    if getattr(args, "chat", False):
        from studio.cli.chat import chat
        return chat(args, run, tok)
    from studio.core.training.generation import generate_stream
    model = run.build_model()
    out = sys.stdout
    for piece in generate_stream(model, tok, args.prompt or "", args.max_new_tokens, args.temperature,
                                 args.top_k, args.top_p, args.seed):
        out.write(piece)
        out.flush()
    out.write("\n")
    out.flush()
    return 0
