"""One optimizer step's forward and backward through the step runner (compiled or eager, with
the fallback to eager), a timed one for probes, and a guard that leaves a model untouched by them."""
from __future__ import annotations

import contextlib
import time

import torch

from studio.core.training.speed import autocast


@contextlib.contextmanager
def untouched(model):
    """Probes and warm-up passes leave no trace: RNG, buffers (MoE counts) and gradients as before."""
    rng = torch.get_rng_state()
    bufs = [(b, b.detach().clone()) for b in model.buffers()]
    try:
        yield
    finally:
        model.zero_grad(set_to_none=True)
        torch.set_rng_state(rng)
        with torch.no_grad():
            for b, saved in bufs:
                if b.shape == saved.shape:
                    b.copy_(saved)


def _fwd_bwd(runner, model, micro, precision, device, accum):
    """Forward and backward of one optimizer step's micro-batches; its loss terms as tensors."""
    ce = aux = other = None
    for x, y, src in micro:
        with autocast(device, precision):
            _, loss = runner(x, y, src)
        (loss / accum).backward()
        terms = model.last_loss_terms
        c = terms.get("ce", loss.detach()) / accum
        ce = c if ce is None else ce + c
        for name, v in terms.items():
            if name == "moe_aux":
                aux = v / accum if aux is None else aux + v / accum
            elif name != "ce":
                other = v / accum if other is None else other + v / accum
    return ce, aux, other


def gradients(runner, model, micro, precision, device, accum):
    """_fwd_bwd through the compiled step; if that fails, once: fall back to eager and redo the step."""
    try:
        return _fwd_bwd(runner, model, micro, precision, device, accum)
    except Exception as exc:  # noqa: BLE001  the eager redo raises the model's own errors, if any
        if not runner.is_compiled:
            raise
        runner.fallback(exc)
        model.zero_grad(set_to_none=True)
        return _fwd_bwd(runner, model, micro, precision, device, accum)


def timed_step(runner, model, micro, precision, device) -> float:
    with untouched(model):
        t = time.perf_counter()
        gradients(runner, model, micro, precision, device, 1)
        if device.type == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - t
