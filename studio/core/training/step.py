"""One optimizer step's forward and backward (compiled where possible, with the fallback to eager),
and the preparing phase that decides how steps run: precision probe, compilation, timed warm-up."""
from __future__ import annotations

import contextlib
import time

import torch

from studio.core.training.events import Preparing
from studio.core.training.speed import (PrecisionChoice, StepRunner, autocast, choose_attention, choose_precision,
                                        has_small_heads)


@contextlib.contextmanager
def _untouched(model):
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


COMPILE_PAYS_S = 120.0  # compile="auto": compiling (~30-60 s on a laptop, less from the cache) pays off
                        # for runs expected to train at least this long (it saves ~25-35 % of each step)


def _timed_step(runner, model, micro, precision, device) -> float:
    with _untouched(model):
        t = time.perf_counter()
        gradients(runner, model, micro, precision, device, 1)
        if device.type == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - t


def prepare(model, forward, cfg, device, batcher, B: int, distributed: bool, steps_left: int):
    """The preparing phase: precision probe, compilation and a timed warm-up step (generator; its
    return value is (runner, precision choice, measured seconds per step or None))."""
    x, y, src = batcher.fixed(1)
    with _untouched(model), torch.no_grad():  # an eager pass fills the model's lookup caches, so that
        model(x, y, source=src)               # dynamo traces the forward as one graph
    if cfg.attention == "auto" and has_small_heads(model) and device.type == "cpu":
        yield Preparing("preparing the small-head attention kernel")  # a C++ build the first time (~5 s)
    attention = choose_attention(cfg.attention, model, device)  # before the precision probe
    if cfg.precision == "auto" and distributed:  # timings differ between processes; they must compute alike
        choice = PrecisionChoice("fp32", "fp32 (no probe under torchrun: every process must compute alike)")
    else:
        if cfg.precision == "auto":
            yield Preparing("measuring bf16 against fp32")
        with _untouched(model):
            choice = choose_precision(cfg.precision, forward, batcher.fixed(B), device)
    full = [batcher.fixed(B)]
    want, why, step_s = cfg.compile, "", None
    if want == "auto" or cfg.minutes:
        step_s = _timed_step(StepRunner(forward, device, False), model, full, choice.precision, device)
    if want == "auto":
        expected = cfg.budget_s or steps_left * step_s
        want = expected >= COMPILE_PAYS_S
        why = "" if want else f"eager (about {expected:.0f} s of training: compiling would cost more than it saves)"
    runner = StepRunner(forward, device, bool(want) and not distributed)
    runner.attention = attention
    if why:
        runner.note = why
    elif distributed and want:
        runner.note = "eager (torch.compile is not used under torchrun)"
    if runner.is_compiled:
        yield Preparing("compiling the training step (cached for the next runs)")
        t = time.perf_counter()
        _timed_step(runner, model, full, choice.precision, device)
        runner.compile_s = time.perf_counter() - t
        step_s = _timed_step(runner, model, full, choice.precision, device)  # a warm compiled step
    if runner.is_compiled and cfg.precision == "auto" and choice.close():
        choice, step_s = yield from _compiled_precision(runner, model, full, choice, step_s, device)
    return runner, choice, step_s


def _compiled_precision(runner, model, full, choice, step_s, device):
    """fp32 and bf16 within ~15 % of each other eagerly: compile the other one too and keep the
    faster compiled step. Eager bf16 pays a cast kernel per matrix product that a compiled graph
    fuses away, so for small models (stories260K) the eager probe cannot tell which wins."""
    other = "bf16" if choice.precision == "fp32" else "fp32"
    yield Preparing(f"compiling the step in {other} too (fp32 and bf16 were close)")
    t = time.perf_counter()
    _timed_step(runner, model, full, other, device)
    runner.compile_s += time.perf_counter() - t
    if not runner.is_compiled:  # the second graph failed to compile: the runner fell back to eager
        return choice, step_s
    times = {choice.precision: [step_s], other: []}
    for p in (other, choice.precision, other):  # interleaved: load from other programs hits both
        times[p].append(_timed_step(runner, model, full, p, device))
    fp32, bf16 = min(times["fp32"]), min(times["bf16"])
    pick = "bf16" if bf16 < 0.95 * fp32 else "fp32"
    word = "bf16 (autocast)" if pick == "bf16" else "fp32"
    return (PrecisionChoice(pick, f"{word}: measured compiled step {fp32 * 1e3:.1f} ms fp32 vs {bf16 * 1e3:.1f} ms bf16",
                            fp32 * 1e3, bf16 * 1e3), min(times[pick]))
