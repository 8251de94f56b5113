"""``archstudio inspect RUN_DIR --prompt TEXT --out DIR``: attention.png, routing.png (MoE), inspect.json.

The labelled PNGs are painted by the Qt front end (``studio.cli.frontend``); without Qt (no
display libraries, or no front end plugged in) text-free heatmaps are written instead and stderr
says so.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from studio.cli import frontend
from studio.core import errors as E


def _plain_images(ins, out: Path) -> list[str]:
    from studio.core.inspect.inspect_render import ATTN_GAMMA, write_plain_png
    written = []
    if ins.attention:
        rows = [[np.where(a.allowed(), w, np.nan) for w in (*a.weights, a.mean)] for a in ins.attention]
        write_plain_png(out / "attention.png", rows, gamma=ATTN_GAMMA)
        written.append(str(out / "attention.png"))
    if ins.routing:
        rows = [[np.where(m.gate_matrix.T > 0, m.gate_matrix.T, np.nan)] for m in ins.routing]
        write_plain_png(out / "routing.png", rows, cell=160)
        written.append(str(out / "routing.png"))
    return written


def render_images(ins, out: Path, theme: str = "light") -> list[str]:
    try:
        return frontend.current().render_inspection(ins, str(out), theme)
    except OSError as exc:  # a full disk or an unwritable --out is not "Qt cannot start"
        raise E.StudioError(f"{out}: cannot write the images ({exc.strerror or type(exc).__name__})") from None
    except (ImportError, RuntimeError, E.StudioError) as exc:
        print(f"archstudio inspect: Qt cannot start ({type(exc).__name__}: {str(exc).splitlines()[0][:100] if str(exc) else ''}); "
              "writing heatmaps without labels", file=sys.stderr)
        return _plain_images(ins, out)


def cmd_inspect(args) -> int:
    from studio.core.inspect.inspection import inspect_model, to_json
    from studio.core.runs.rundir import RunDir
    from studio.core.files.yamlio import atomic_write_text

    run = RunDir(args.run_dir)
    tok = run.tokenizer()
    model = run.build_model()
    ids = tok.encode(args.prompt, bos=True)
    source = getattr(args, "source", None)
    src_ids = tok.encode(source, bos=True) if source else None
    if src_ids is not None and "source" not in model.inputs.values():
        raise E.StudioError(f"{run.path}: --source is for encoder-decoder models; this one has no encoder")
    ins = inspect_model(model, ids, tok, source=src_ids, label=f"{run.path.name}, latest checkpoint")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise E.StudioError(f"{out}: exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    written = render_images(ins, out, getattr(args, "theme", None) or "light")
    # inspect.json last: its presence says the images beside it belong to it and are complete
    atomic_write_text(out / "inspect.json", json.dumps(to_json(ins), ensure_ascii=False))
    print(f"{len(ins.tokens)} tokens, {len(ins.attention)} attention blocks, {len(ins.routing)} MoE layers")
    for p in [str(out / "inspect.json"), *written]:
        print(p)
    return 0
