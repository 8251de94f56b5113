"""Compiling a training step's shape in a child process, to fill inductor's cache.

Why a child and not a thread: compiling patches ``torch.nn.Module.__call__`` process-wide while it
traces (torch.fx), so an eager step running in another thread at that moment fails ("module is not
installed as a submodule", seen here); and a child's Python does not take the GIL from the GUI or
the training loop. The child builds the run's model (run.yaml's architecture), compiles one forward
and backward of the very shape the run trains (batch, context, precision, attention kernel,
threads), measures the compiled step against the eager one, records both in the cost book
(compile_costs.py) and exits; the run then loads the step from the cache between two steps.

``archstudio lesson prepare`` and bench scripts call :func:`warm_now` (the same child, waited for).
Run by hand: ``python -m studio.core.training.warm SPEC.json``.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass

NICE = 10  # the training beside it keeps the cores first: the budget is the user's wall clock


@dataclass(frozen=True)
class WarmSpec:
    run_dir: str            # the run whose run.yaml architecture is built
    batch: int
    context: int
    precision: str          # fp32 or bf16
    attention: str          # small-head or sdpa
    threads: int
    track_logits: bool = False  # muonclip: attention records its max logit (a different graph)


class WarmJob:
    """A running child; ``poll()`` is None while it runs, then its result dict (``ok``, ``error``…)."""

    def __init__(self, spec: WarmSpec):
        from studio.core.training.speed import use_compile_cache
        use_compile_cache()  # the child inherits TORCHINDUCTOR_CACHE_DIR: the parent loads from the same
        self.spec, self.t0, self.result = spec, time.perf_counter(), None
        env = dict(os.environ, OMP_NUM_THREADS=str(spec.threads))
        # a session (process group) of its own: cancelling kills inductor's compile workers with it
        self.proc = subprocess.Popen([sys.executable, "-m", "studio.cli.warm_child", "-"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                                     start_new_session=os.name == "posix")
        self.proc.stdin.write(json.dumps(asdict(spec)))
        self.proc.stdin.close()

    def poll(self) -> dict | None:
        if self.result is None and self.proc.poll() is not None:
            self.result = _result(self.proc, time.perf_counter() - self.t0)
        return self.result

    def wait(self, timeout: float | None = None) -> dict:
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.cancel()
            return {"ok": False, "error": f"compiling took over {timeout:.0f} s"}
        return self.poll()

    def cancel(self) -> None:
        kill_group(self.proc)
        self.result = self.result or {"ok": False, "error": "cancelled"}


def kill_group(proc) -> None:
    """Kill a child started with ``start_new_session`` and everything it started (inductor's compile
    workers), and reap it."""
    if proc.poll() is None:
        try:
            if os.name == "posix":
                import signal
                os.killpg(proc.pid, signal.SIGKILL)
            else:
                proc.kill()
        except (ProcessLookupError, PermissionError):
            proc.kill()
        proc.wait()


class ForeignWarm:
    """Another process compiles this shape now (the app's background warm-up, a lesson prepare;
    its claim in the cost book): a run waits for that compile beside its training instead of starting
    a second one. ``poll()`` and ``cancel()`` as WarmJob's; cancelling leaves the other process alone."""

    def __init__(self, key: str, claim: dict, book=None):
        from studio.core.training import compile_costs as cc
        self.key, self.book, self.result = key, book if book is not None else cc.CostBook(), None
        self.t0 = time.perf_counter() - max(0.0, time.time() - float(claim.get("since", time.time())))
        self.pid = claim.get("pid")

    def poll(self) -> dict | None:
        if self.result is None and self.book.warming(self.key) is None:
            e = self.book.get(self.key) or {}
            if self.book.is_warm(self.key) and e.get("ratio"):
                self.result = {"ok": True, "key": self.key, "cold_s": float(e["cold_s"]), "ratio": float(e["ratio"]),
                               "foreign": True}
            else:
                self.result = {"ok": False, "error": f"process {self.pid} compiling this shape ended without it"}
        return self.result

    def cancel(self) -> None:
        self.result = self.result or {"ok": False, "error": "cancelled"}


def _result(proc, wall_s: float) -> dict:
    out, err = proc.stdout.read(), proc.stderr.read()
    lines = [ln for ln in out.splitlines() if ln.startswith("{")]
    if proc.returncode == 0 and lines:
        return dict(json.loads(lines[-1]), wall_s=wall_s)
    last = (err.strip().splitlines() or [f"exit status {proc.returncode}"])[-1][:200]
    return {"ok": False, "error": last, "wall_s": wall_s}


def warm_now(spec: WarmSpec, timeout: float = 1800.0) -> dict:
    """Compile ``spec``'s shape in a child and wait for it (lesson prepare, benches)."""
    return WarmJob(spec).wait(timeout)


def spec_of_run(run_dir) -> tuple[WarmSpec, str, str] | None:
    """The shape a continuation of this run trains ("Train N more min" in class): its batch, context,
    precision, attention kernel and threads from run.yaml; with its cost-book key and label. None for
    a run that never trained or trains off the CPU."""
    from studio.core.model.compiler import compile_architecture
    from studio.core.runs.rundir import RunDir
    from studio.core.training import compile_costs as cc
    run = RunDir(run_dir)
    rc = run.read_config()
    rt, tr = rc.get("runtime") or {}, rc.get("training") or {}
    if rt.get("device", "cpu") != "cpu" or rt.get("precision") not in ("fp32", "bf16") or not tr.get("batch_size"):
        return None
    model = compile_architecture(run.architecture(), run.scale())
    kernel = (rt.get("attention") or {}).get("kernel", "sdpa")
    spec = WarmSpec(str(run.path), int(tr["batch_size"]), min(int(tr.get("context") or model.context), model.context),
                    rt["precision"], kernel, int(rt.get("threads") or 1), tr.get("optimizer") == "muonclip")
    key, label = cc.shape_key(model, spec.batch, spec.context, spec.precision, spec.attention, spec.threads)
    return spec, key, label


def warm_run(run_dir, timeout: float = 1800.0) -> dict:
    """Compile the shape of ``run_dir``'s continuation into the cache unless it is warm already
    (``archstudio lesson prepare``: the class's "Train N more min" then loads it in seconds)."""
    from studio.core.training import compile_costs as cc
    got = spec_of_run(run_dir)
    if got is None:
        return {"ok": False, "error": "nothing to compile (no CPU run with a known precision)"}
    spec, key, label = got
    if cc.CostBook().is_warm(key):
        return {"ok": True, "already": True, "key": key, "label": label}
    return warm_now(spec, timeout)


def _inputs(model, spec: WarmSpec):
    import numpy as np
    import torch

    from studio.core.training.batches import Batcher, is_encoder_decoder
    vocab = int(model.dims.get("vocab_size", 256))
    tokens = np.random.default_rng(0).integers(3, vocab, size=4 * spec.batch * (2 * spec.context + 2)).astype(np.int64)
    return Batcher(tokens, spec.context, is_encoder_decoder(model), torch.device("cpu")).fixed(spec.batch)


def compile_shape(spec: WarmSpec) -> dict:
    """In the child: build, compile, time compiled vs eager (interleaved, best of 3), record."""
    import torch

    from studio.core.model.compiler import compile_architecture
    from studio.core.runs.rundir import RunDir
    from studio.core.training import compile_costs as cc
    from studio.core.training.speed import choose_attention, use_compile_cache
    torch.set_num_threads(spec.threads)
    cache = use_compile_cache()
    run = RunDir(spec.run_dir)
    model = compile_architecture(run.architecture(), run.scale()).train()
    device = torch.device("cpu")
    got = choose_attention("auto" if spec.attention == "small-head" else "sdpa", model, device)
    if got.kernel != spec.attention:
        return {"ok": False, "error": f"attention {spec.attention} unavailable here: {got.reason}"}
    if spec.track_logits:
        from studio.core.training import qk_clip
        qk_clip.enable(model)
    micro = [_inputs(model, spec)]
    x, y, src = micro[0]
    with torch.no_grad():  # as the trainer's preparing: an eager pass fills the model's lookup caches first
        model(x[:1], y[:1], source=None if src is None else src[:1])
    key, label = cc.shape_key(model, spec.batch, spec.context, spec.precision, spec.attention, spec.threads)
    book = cc.CostBook()
    other = book.claim(key)
    if other is not None:  # never two compiles of one shape at once: the caller waits for that one
        return {"ok": False, "busy": True, "key": key, "label": label,
                "error": f"being compiled now by process {other['pid']}"}
    try:
        return _compile_and_time(model, micro, spec, key, label, cache)
    finally:
        book.release(key, os.getpid())


def _compile_and_time(model, micro, spec: WarmSpec, key: str, label: str, cache) -> dict:
    import torch

    from studio.core.training import compile_costs as cc
    from studio.core.training.fwd_bwd import timed_step
    from studio.core.training.speed import StepRunner
    device = torch.device("cpu")
    runner, eager = StepRunner(model, device, True), StepRunner(model, device, False)
    t = time.perf_counter()
    timed_step(runner, model, micro, spec.precision, device)
    cold_s = time.perf_counter() - t
    if not runner.is_compiled:
        return {"ok": False, "error": runner.note, "key": key}
    times = {"compiled": [], "eager": []}
    for _ in range(3):
        times["compiled"].append(timed_step(runner, model, micro, spec.precision, device))
        times["eager"].append(timed_step(eager, model, micro, spec.precision, device))
    compiled_s, eager_s = min(times["compiled"]), min(times["eager"])
    ratio = compiled_s / eager_s
    cc.CostBook().record(key, label, cold_s=cold_s, ratio=ratio, compiled_ms=compiled_s * 1e3, eager_ms=eager_s * 1e3,
                         inductor_dir=cache)
    return {"ok": True, "key": key, "label": label, "cold_s": cold_s, "ratio": ratio,
            "compiled_ms": compiled_s * 1e3, "eager_ms": eager_s * 1e3}
