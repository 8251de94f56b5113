"""Does a model fit this machine's memory? Asked from the accounting, before anything is built.

Every dim may lie inside its bound while the whole model is absurd (dim 16,384 × 256 layers ×
hidden 131,072 is 1.4 T parameters): building it dies in the allocator, or the machine swaps to a
halt. The estimate is the accounting's exact parameter count (fp32 weights) plus the positional
tables a build allocates; training adds gradients, AdamW's two moments and the activations of one
batch (``accounting.training_memory``). Refused when the estimate exceeds the machine's memory.
"""
from __future__ import annotations

import os

from studio.core import errors as E
from studio.core.model.accounting import account, human_bytes, humanize, training_memory
from studio.core.model.bounds import scale_problems
from studio.core.model.resolve import resolve

FP32 = 4


def machine_memory() -> int | None:
    """Bytes of physical memory, or the container's limit where that is lower (None: unknown)."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        total = None
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            with open(path, encoding="ascii") as fh:
                limit = int(fh.read(64).strip())
        except (OSError, ValueError):
            continue
        total = limit if total is None else min(total, limit)
    return total


def _table_bytes(arch, scale: str) -> int:
    """Non-learned positional tables a build allocates (sinusoidal: context × dim; RoPE: context × head dim)."""
    n = 0
    for rn in resolve(arch, scale).nodes.values():
        for v in rn.variants:
            c = v.config
            if rn.spec.has("rotary"):
                n += int(getattr(c, "context", 0)) * int(getattr(c, "head_dim", 0)) * len(v.layers)
            elif rn.spec.has("positional") and not rn.spec.has("position_table"):
                n += max(4096, int(getattr(c, "context", 0))) * int(getattr(c, "dim", 0)) * len(v.layers)
    return n * FP32


def check_fits(arch, scale: str = "classroom", batch: int | None = None, context: int | None = None,
               memory: int | None = None) -> None:
    """Raise one StudioError line naming the estimate and the machine's memory when the model (with
    ``batch``: one AdamW training step of batch × context, the larger optimizer state) would not
    fit; nothing when it would or the machine's memory is unknown."""
    memory = machine_memory() if memory is None else memory
    if not memory:
        return
    if scale not in arch.scales or scale_problems({scale: arch.scales[scale]}, arch.regions):
        return  # validation names the dim out of bounds
    try:
        acc = account(arch, scale)
    except E.StudioError:
        return  # a setting that does not resolve: validation names it
    params = acc.params_total + acc.params_mtp
    need, what = params * FP32 + _table_bytes(arch, scale), "to build"
    if batch:
        ctx = int(context or arch.dims(scale).get("context") or 1)
        need += training_memory(arch, scale, int(batch), ctx)["total"] - params * FP32
        what = f"to train at batch {batch} × context {ctx}"
    if need > memory:
        raise E.StudioError(f"{arch.id or 'the model'} at the {scale} scale has {humanize(params)} parameters and needs "
                            f"about {human_bytes(need)} {what}; this machine has {human_bytes(memory)} of memory: "
                            "make it smaller (dim, n_layers, hidden_dim, vocab_size, context)")
