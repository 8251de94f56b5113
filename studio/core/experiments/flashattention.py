"""2022-05 FlashAttention, measured live: forward + backward of causal attention as the context
grows, computed three ways on the same q, k, v:

* naive: ``softmax(q kᵀ / √d) v`` with the T×T scores and probabilities as tensors (what autograd
  keeps for the backward is the whole T×T matrix per head);
* tiled: PyTorch's ``scaled_dot_product_attention``, whose CPU path is a flash-attention kernel
  (blocks of keys, online softmax, only the log-sum-exp per row kept for the backward);
* small-head: the app's C++ kernel (blocks/nn/small_head_attention) where the head size is 8 or 16.

Peak memory is the live tensor bytes during the step (studio.core.training.memory_probe), time the
best of a few repeats. Next to the measurement: the paper's count of HBM accesses (Dao et al.
2022, Theorem 2) for the standard algorithm and for FlashAttention at the same sizes.
"""
from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass

from studio.core.experiments.common import (
    ExperimentRequest,
    Folder,
    Point,
    Row,
    Stage,
    settings_record,
    torch_threads,
)

MILESTONE = "2022-05-flashattention"
SRAM_BYTES = 100 * 1024   # "M (around 100KB)": the on-chip memory of the paper's analysis
PAPER_HEAD_DIM = 64       # the paper's typical head size


@dataclass(frozen=True)
class Settings:
    contexts: tuple = (128, 256, 512, 1024, 2048, 4096)
    heads: int = 4
    head_dim: int = 16        # the classroom LLaMA's head size (where the small-head kernel applies)
    batch: int = 1
    repeats: int = 3


def settings_for(minutes: float) -> Settings:
    """The full sweep takes about a minute on one thread; shorter budgets stop at a shorter context."""
    longest = 4096 if minutes >= 1.5 else 2048 if minutes >= 0.5 else 512
    return Settings(contexts=tuple(t for t in Settings().contexts if t <= longest))


def naive_attention(q, k, v):
    import torch
    T, d = q.shape[-2], q.shape[-1]
    scores = (q @ k.transpose(-2, -1)) * d ** -0.5
    mask = torch.ones(T, T, dtype=torch.bool, device=q.device).tril()
    probs = torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)
    return probs @ v


def sdpa_attention(q, k, v):
    import torch.nn.functional as F
    return F.scaled_dot_product_attention(q, k, v, is_causal=True)


def hbm_accesses(n: int, d: int, sram_bytes: int = SRAM_BYTES, elem_bytes: int = 2) -> tuple[int, int]:
    """Elements read/written from HBM by one head's forward pass (Dao et al. 2022, section 3.2):
    standard attention writes S and P (N×N) and reads them back, 4·N·d + 4·N²; FlashAttention
    reads K and V once and Q, O (and the row statistics l, m) once per block of Bc = ⌈M/4d⌉ keys,
    2·N·d + T_c·(3·N·d + 4·N) with T_c = ⌈N/Bc⌉, i.e. Θ(N²d²/M)."""
    m = sram_bytes // elem_bytes
    bc = math.ceil(m / (4 * d))
    tc = math.ceil(n / bc)
    return 4 * n * d + 4 * n * n, 2 * n * d + tc * (3 * n * d + 4 * n)


def _inputs(s: Settings, T: int, seed: int):
    import torch
    g = torch.Generator().manual_seed(seed + T)
    shape = (s.batch, s.heads, T, s.head_dim)
    q, k, v = (torch.randn(shape, generator=g).requires_grad_() for _ in range(3))
    grad = torch.randn(shape, generator=g)
    return q, k, v, grad


def _step(fn, q, k, v, grad) -> None:
    out = fn(q, k, v)
    out.backward(grad)
    q.grad = k.grad = v.grad = None


def measure(fn, s: Settings, T: int, seed: int) -> tuple[float, int]:
    """(best seconds, peak live tensor bytes) of one forward + backward of ``fn`` at context T."""
    from studio.core.training.memory_probe import LiveTensorBytes
    q, k, v, grad = _inputs(s, T, seed)
    _step(fn, q, k, v, grad)  # warm-up: first-call allocations and kernel set-up are not timed
    best = math.inf
    for _ in range(s.repeats):
        t0 = time.perf_counter()
        _step(fn, q, k, v, grad)
        best = min(best, time.perf_counter() - t0)
    inputs = [q, k, v, grad]
    with LiveTensorBytes(inputs) as probe:
        _step(fn, q, k, v, grad)
    # bytes beyond the inputs: what the method itself keeps and allocates
    return best, probe.peak - sum(t.untyped_storage().nbytes() for t in inputs)


def kernels(s: Settings) -> dict:
    """name -> attention function; the small-head kernel only where it builds and applies."""
    out = {"naive": naive_attention, "sdpa (tiled)": sdpa_attention}
    from blocks.nn import small_head_attention as sha
    if s.head_dim in sha.HEAD_DIMS and sha.load() is None:
        out["small-head (tiled)"] = sha.causal_attention
    return out


def job(req: ExperimentRequest, control) -> Iterator:
    s = req.settings or settings_for(req.minutes)
    folder = Folder(req, {"seed": req.seed, "settings": settings_record(s)})
    with torch_threads(req.threads):
        yield Stage("preparing the attention kernels")
        fns = kernels(s)
        names = list(fns)
        yield Row("contexts", ("context", *(f"{n} ms" for n in names), *(f"{n} MiB" for n in names)))
        rows = []
        for T in s.contexts:
            if control.should_stop():
                return
            row = folder.done(str(T))
            if row is None:
                yield Stage(f"context {T}: forward + backward, three ways")
                row = {"context": T}
                for name, fn in fns.items():
                    sec, peak = measure(fn, s, T, req.seed)
                    row[name] = {"ms": round(sec * 1e3, 3), "peak_bytes": int(peak)}
                std, flash = hbm_accesses(T, s.head_dim)
                std64, flash64 = hbm_accesses(T, PAPER_HEAD_DIM)
                row["hbm"] = {"standard": std, "flash": flash, "standard_d64": std64, "flash_d64": flash64}
                folder.save_unit(str(T), row)
            rows.append(row)
            yield Row("contexts", (T, *(row[n]["ms"] for n in names),
                                   *(round(row[n]["peak_bytes"] / 2**20, 2) for n in names)))
            for n in names[1:]:
                yield Point(f"memory naive ÷ {n}", T, row["naive"]["peak_bytes"] / max(1, row[n]["peak_bytes"]))
    yield _finish(folder, s, rows, names)


def _finish(folder: Folder, s: Settings, rows: list, names: list):
    ratio = [(r["context"], r["naive"]["peak_bytes"] / max(1, r["sdpa (tiled)"]["peak_bytes"])) for r in rows]
    return folder.finish(
        "peak memory of naive attention ÷ tiled (SDPA flash), forward + backward", True,
        before=ratio[0][1], after=ratio[-1][1], curve=ratio,
        context_before=rows[0]["context"], context_after=rows[-1]["context"],
        methods=names, heads=s.heads, head_dim=s.head_dim, batch=s.batch,
        measurements=rows,
        time_ratio=[[r["context"], r["naive"]["ms"] / max(1e-9, r["sdpa (tiled)"]["ms"])] for r in rows],
        hbm_model={"sram_bytes": SRAM_BYTES, "element_bytes": 2, "paper_head_dim": PAPER_HEAD_DIM,
                   "formula": "standard 4·N·d + 4·N²; flash 2·N·d + ⌈N/Bc⌉·(3·N·d + 4·N), Bc = ⌈M/4d⌉"},
        hbm_ratio=[[r["context"], r["hbm"]["standard_d64"] / r["hbm"]["flash_d64"]] for r in rows],
    )
