"""The background warm-up's work, in its child process (studio/cli/first_warm_child.py runs it; see
first_warm.py): the run the Training dock's Start would begin, prepared in a scratch folder with the
same code as that run (setup.prepare_new_run, the trainer's threads, step._probe_precision), then the
kernel, the probe and the compile, each where that run looks for it."""
from __future__ import annotations

import os
import shutil
import time
from pathlib import Path


def warm_stages(request, say, compile_fn=None) -> dict:
    """Warm ``request`` (a FirstWarmRequest); ``say(text)`` reports each stage; ``compile_fn(WarmSpec)``
    compiles (default warm.compile_shape: inductor). Returns the result dict the job reads."""
    from studio.core.training import compile_costs as cc
    from studio.core.training.warm import compile_shape
    t0, cpu0 = time.perf_counter(), _cpu_s()
    book = cc.CostBook()
    scratch = Path(book.root or Path.home() / ".cache" / "archstudio") / "first-warm" / f"run-{os.getpid()}"
    outs = []
    for i, config in enumerate(request.configs):  # the panel's run first: the likeliest first click
        shutil.rmtree(scratch, ignore_errors=True)
        try:
            model, data, run, cfg = _prepare_run(request, config, scratch, say if i == 0 else lambda _m: None)
            out = _warm_model(model, data, run, cfg, say, compile_fn or compile_shape, book)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        if out.get("key") and out.get("ok"):
            book.record(out["key"], out["label"], first_warm=request.fingerprint())  # is_recipe_warm's mark
        outs.append(out)
    failed = [o for o in outs if not o.get("ok")]
    return {"ok": not failed, "error": failed[0]["error"] if failed else None, "shapes": outs,
            "label": "; ".join(o.get("label", "?") for o in outs),
            "note": "; ".join(o.get("short") or o.get("error", "") for o in outs),  # the status line
            "detail": "; ".join(o.get("note") or o.get("error", "") for o in outs),  # its tooltip
            "already": all(o.get("already") for o in outs), "wall_s": time.perf_counter() - t0,
            "cpu_s": _cpu_s() - cpu0}


def _prepare_run(request, config: dict, scratch: Path, say):
    """The run as the panel's Start prepares it: data, tokenizer (trained and cached), model, folder."""
    from studio.core.files.model_spec import load_model
    from studio.core.training.config import TrainConfig
    from studio.core.training.setup import prepare_new_run
    arch = load_model(request.model_spec)
    cfg = TrainConfig.from_record(config)
    return prepare_new_run(arch, request.model_spec, request.data_spec, request.tokenizer, request.vocab_size,
                           request.tokenizer_model, cfg, scratch, status=say)


def _warm_model(model, data, run, cfg, say, compile_fn, book) -> dict:
    """Kernel, probe, compile of the shape the trainer will key this run by."""
    import torch

    from studio.core.training import compile_costs as cc
    from studio.core.training.background import KernelBuild
    from studio.core.training.batches import Batcher, is_encoder_decoder
    from studio.core.training.fwd_bwd import untouched
    from studio.core.training.speed import NO_COMPILE_ENV, choose_attention, has_small_heads, set_threads
    from studio.core.training.step import T_of, _probe_precision, compile_precision
    from studio.core.training.warm import WarmSpec
    threads = set_threads(cfg.threads)  # as the trainer's _place: the probe's key holds the thread count
    device = torch.device("cpu")
    if cfg.device not in ("cpu", "auto"):
        return {"ok": False, "error": f"the step is warmed on CPUs only, not {cfg.device}"}
    model.to(device).train()
    kernel_note = ""
    if cfg.attention == "auto" and has_small_heads(model):
        say("building the small-head attention kernel")
        build = KernelBuild()
        build.done(wait_s=None)
        kernel_note = f"kernel unavailable: {build.failure}" if build.failure else f"kernel ready ({build.took_s:.0f} s)"
    attention = choose_attention(cfg.attention, model, device)
    if cfg.optimizer == "muonclip":  # the trainer records attention's max logit before it prepares
        from studio.core.training import qk_clip
        qk_clip.enable(model)
    T = T_of(model, cfg)
    batcher = Batcher(data.train, T, is_encoder_decoder(model), device)
    x, y, src = batcher.fixed(1)
    with untouched(model), torch.no_grad():  # as step.prepare: the model's lookup caches filled first
        model(x, y, source=src)
    probe = _probe_precision(model, model, cfg, device, batcher, cfg.batch_size, attention)
    try:
        while True:
            say(next(probe).what)
    except StopIteration as done:
        choice = done.value
    precision = compile_precision(cfg, choice).precision
    spec = WarmSpec(str(run.path), cfg.batch_size, T, precision, attention.kernel, threads, cfg.optimizer == "muonclip")
    key, label = cc.shape_key(model, spec.batch, spec.context, spec.precision, spec.attention, spec.threads)
    shape = f"batch {spec.batch} × context {spec.context}, {precision}"
    base = {"key": key, "label": label, "precision": precision, "kernel": kernel_note,
            "probe_ms": [choice.fp32_ms, choice.bf16_ms], "short": f"{shape}: kernel and probe ready, eager"}
    if cfg.compile is False or precision not in ("fp32", "bf16") or os.environ.get(NO_COMPILE_ENV, "") not in ("", "0"):
        return dict(base, ok=True, note=f"kernel and probe ready; the step trains eagerly ({precision})")
    if book.is_warm(key):
        return dict(base, ok=True, already=True, note=f"{label}: compiled step already warm",
                    short=f"{shape}: already warm")
    say(f"compiling the training step ({shape})")
    res = compile_fn(spec)
    if res.get("busy"):
        return dict(base, ok=True, note=f"{label}: {res['error']} (a training run compiles it)",
                    short=f"{shape}: compiled by the training run")
    if not res.get("ok"):
        return dict(base, ok=False, error=str(res.get("error")))
    return dict(base, ok=True, note=f"{label} warm: compiled in {res['cold_s']:.0f} s, step "
                                    f"{res['ratio']:.2f}× the eager one", cold_s=res["cold_s"], ratio=res["ratio"],
                short=f"{shape} compiled (step {res['ratio']:.2f}× eager)")


def _cpu_s() -> float:
    """This process's CPU seconds and its ended children's (the C++ build, inductor's workers)."""
    try:
        import resource
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        return time.process_time() + kids.ru_utime + kids.ru_stime
    except ImportError:
        return time.process_time()
