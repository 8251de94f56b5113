"""One optimizer step's forward and backward (compiled where possible, with the fallback to eager),
and the preparing phase that decides how steps run: precision probe, compilation, timed warm-up."""
from __future__ import annotations

import time

import torch

from studio.core.training.events import Preparing
from studio.core.training.fwd_bwd import timed_step, untouched
from studio.core.training.speed import (
    AttentionChoice,
    PrecisionChoice,
    StepRunner,
    choose_attention,
    choose_precision,
    has_small_heads,
    small_head_modules,
)


# compile="auto" with a close eager probe: a compiled bf16 step fuses the cast kernels that eager
# autocast pays per small matmul (stories260K B 32 x T 256: eager 616 vs 617 ms, compiled 429 ms
# fp32 vs 326 ms bf16; bench/RESULTS.md), so a run that plans to compile trains in bf16
CLOSE_PREFERS_BF16 = "fp32 and bf16 within 15 % eagerly; a compiled bf16 step fuses its casts away"


def prepare(model, forward, cfg, device, batcher, B: int, distributed: bool, steps_left: int, *, run=None,
            remaining_s=None):
    """The preparing phase (a generator; returns (runner, precision choice, seconds per eager step
    or None, Speedups or None)). Nothing here waits for a compiler with compile="auto": the
    small-head kernel builds in a thread and the compiled step in a child process (background.py),
    both switched in between steps, and only when the measured cost model (compile_costs.py) says
    compiling pays off in the time left. compile=True compiles here, before the first step."""
    from studio.core.training.background import KernelBuild, Speedups
    x, y, src = batcher.fixed(1)
    with untouched(model), torch.no_grad():  # an eager pass fills the model's lookup caches, so that
        model(x, y, source=src)               # dynamo traces the forward as one graph
    kernel, attention, pending = None, None, []
    if cfg.attention == "auto" and has_small_heads(model) and device.type == "cpu":
        pending = small_head_modules(model)
        kernel = KernelBuild()  # a C++ build the first time (~5-30 s), a file load after
        if kernel.done(wait_s=0.5):  # a cached build loads in milliseconds
            attention, kernel, pending = choose_attention(cfg.attention, model, device), None, []
        else:
            yield Preparing("building the small-head attention kernel beside the training")
            choose_attention("sdpa", model, device)  # SDPA until then
            attention = AttentionChoice("sdpa", "sdpa until the small-head kernel is built (beside the training)")
    else:
        attention = choose_attention(cfg.attention, model, device)
    if cfg.precision == "auto" and distributed:  # timings differ between processes; they must compute alike
        choice = PrecisionChoice("fp32", "fp32 (no probe under torchrun: every process must compute alike)")
    else:
        choice = yield from _probe_precision(model, forward, cfg, device, batcher, B, attention)
    full = [batcher.fixed(B)]
    step_s = None
    if (cfg.compile == "auto" or cfg.minutes) and choice.fp32_ms:  # the probe timed this very batch
        step_s = (choice.fp32_ms if choice.precision == "fp32" else choice.bf16_ms) / 1e3
    elif cfg.compile == "auto" or cfg.minutes:
        step_s = timed_step(StepRunner(forward, device, False), model, full, choice.precision, device)
    if cfg.compile == "auto":
        runner = StepRunner(forward, device, False)
        runner.attention = attention
        choice, speedups = _plan_compile(runner, forward, model, cfg, device, B, distributed, choice, attention,
                                         kernel, pending, run, remaining_s() if remaining_s else steps_left * step_s)
        return runner, choice, step_s, speedups
    runner = StepRunner(forward, device, bool(cfg.compile) and not distributed)
    runner.attention = attention
    if distributed and cfg.compile:
        runner.note = "eager (torch.compile is not used under torchrun)"
    if runner.is_compiled:
        yield Preparing("compiling the training step (cached for the next runs)")
        t = time.perf_counter()
        timed_step(runner, model, full, choice.precision, device)
        runner.compile_s = time.perf_counter() - t
        step_s = timed_step(runner, model, full, choice.precision, device)  # a warm compiled step
    return runner, choice, step_s, Speedups(runner, forward, pending, kernel) if kernel else None


def _probe_precision(model, forward, cfg, device, batcher, B, attention):
    """bf16 or fp32 (auto): measured on the run's batch, or an earlier run's measurement of the same
    shape from the cost book (generator: yields the Preparing it does)."""
    if cfg.precision != "auto":
        return choose_precision(cfg.precision, forward, None, device)
    from studio.core.training import compile_costs as cc
    key, label = cc.shape_key(model, B, T_of(model, cfg), "eager probe", attention.kernel, torch.get_num_threads())
    book = cc.CostBook()
    e = book.get(key) or {}
    known = (e["probe_fp32_ms"], e["probe_bf16_ms"]) if e.get("probe_fp32_ms") and e.get("probe_bf16_ms") else None
    if not known:
        yield Preparing("measuring bf16 against fp32")
    with untouched(model):
        choice = choose_precision("auto", forward, batcher.fixed(B), device, known=known)
    if not known and choice.fp32_ms:
        book.record(key, label, probe_fp32_ms=choice.fp32_ms, probe_bf16_ms=choice.bf16_ms)
    return choice


def compile_precision(cfg, choice: PrecisionChoice) -> PrecisionChoice:
    """The precision a compiled step trains in after the eager probe's ``choice`` (the background
    warm-up compiles the same one)."""
    if cfg.precision == "auto" and choice.precision == "fp32" and choice.close():
        return PrecisionChoice("bf16", f"bf16 (autocast): {CLOSE_PREFERS_BF16} ({choice.reason.split(': ', 1)[-1]})",
                               choice.fp32_ms, choice.bf16_ms)
    return choice


def T_of(model, cfg) -> int:
    return min(cfg.context, model.context)


def _plan_compile(runner, forward, model, cfg, device, B, distributed, choice, attention, kernel, pending, run,
                  remaining: float):
    """compile="auto": the cost model's decision for this shape, and the Speedups that carry it out."""
    import os

    from studio.core.training import compile_costs as cc
    from studio.core.training.background import Speedups
    from studio.core.training.speed import NO_COMPILE_ENV
    why = ""
    if distributed:
        why = "eager (torch.compile is not used under torchrun)"
    elif os.environ.get(NO_COMPILE_ENV, "") not in ("", "0"):
        why = f"eager ({NO_COMPILE_ENV} is set)"
    elif run is None:
        why = "eager (no run folder: nothing to compile beside the training from)"
    elif device.type != "cpu":
        why = f"eager (the step is compiled beside the training on CPUs; on {device.type} pass --compile on)"
    elif choice.precision not in ("fp32", "bf16"):
        why = f"eager ({choice.precision} is simulated eagerly)"
    if why:
        runner.note = why
        return choice, (Speedups(runner, forward, pending, kernel) if kernel else None)
    will_attend = "small-head" if (kernel is not None or attention.kernel == "small-head") else "sdpa"
    threads = torch.get_num_threads()
    candidate = compile_precision(cfg, choice)
    key, label = cc.shape_key(model, B, T_of(model, cfg), candidate.precision, will_attend, threads)
    plan = cc.plan(cc.CostBook(), key, remaining)
    if not plan.compile and candidate is not choice:  # no compile: the eager probe's winner trains
        key, label = cc.shape_key(model, B, T_of(model, cfg), choice.precision, will_attend, threads)
        plan = cc.plan(cc.CostBook(), key, remaining)
    else:
        choice = candidate
    runner.note = plan.reason
    if not plan.compile:
        return choice, (Speedups(runner, forward, pending, kernel) if kernel else None)
    from studio.core.training.warm import WarmSpec
    spec = WarmSpec(str(run.path), B, T_of(model, cfg), choice.precision, will_attend, threads,
                    cfg.optimizer == "muonclip")
    return choice, Speedups(runner, forward, pending, kernel, spec, key, label, plan.warm,
                            remaining=lambda: 0.0)
