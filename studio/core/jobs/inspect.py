"""One inspection (attention maps, routing) of a prompt, as a job yielding an ``Inspection``."""
from __future__ import annotations

import dataclasses
import time
from typing import Iterator

from studio.core.jobs.control import JobControl
from studio.core.jobs.weights import WeightsSource, load


@dataclasses.dataclass(frozen=True)
class Inspected:
    inspection: object          # studio.core.inspect.inspection.Inspection
    ms: float                   # how long the job took (model build included when not cached)
    cut_from: int = 0           # the prompt's tokens before it was cut to the model's context (0: not cut)


def inspect_job(source: WeightsSource, prompt: str, encoder_text: str, cache: dict,
                control: JobControl) -> Iterator[Inspected]:
    """``cache`` keeps the built model between jobs of the same source (one job at a time uses it)."""
    import torch

    from studio.core.inspect.inspection import inspect_model
    # One intra-op thread for this (fresh) thread only (OpenMP's setting is per thread): a
    # 64-token prompt takes 17-67 ms so, while with 2 threads on a box busy with training it
    # took 0.5-1.4 s fighting the trainer's threads (bench/bench_inspect.py).
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    key = source.cache_key()
    if cache.get("key") != key:
        model, tok = load(source)
        cache.update(key=key, model=model, tok=tok)
    model, tok = cache["model"], cache["tok"]
    if control.should_stop():
        return
    ids = tok.encode(prompt, bos=True)
    has_encoder = "source" in model.inputs.values()
    src = tok.encode(encoder_text, bos=True) if has_encoder and encoder_text.strip() else None
    # a model trained at a short context (GPT-2 at 32) still shows its maps: the prompt's first
    # tokens, and the view says it was cut (the CLI's inspect refuses instead: its prompt is typed)
    limit = int(getattr(model, "context", len(ids)))
    longest = max(len(ids), len(src) if src is not None else 0)
    ids, src = ids[:limit], (src[:limit] if src is not None else None)
    ins = inspect_model(model, ids, tok, source=src, label=source.label)
    yield Inspected(ins, (time.perf_counter() - t0) * 1000, longest if longest > limit else 0)
