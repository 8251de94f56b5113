"""Speed-ups that arrive while the run already trains: the small-head kernel's C++ build (a thread:
the compiler is a child process, the GIL stays free) and the compiled step (warm.py's child). The
trainer polls between two steps; what became ready switches in there, so training starts at once
in eager mode and never waits for a compiler inside its budget.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from studio.core.training import compile_costs as cc


@dataclass(frozen=True)
class Switch:
    """Something changed between two steps: ``what`` is "attention" or "step"; ``note`` says how."""
    what: str
    note: str
    compiled: bool = False


class KernelBuild:
    """The small-head kernel loaded (built the first time) in a thread; ``ready()`` once it is."""

    def __init__(self):
        from blocks.nn import small_head_attention as sha
        from studio.core.training.speed import kernel_cache_dir
        self.failure: str | None = None
        self.t0 = time.perf_counter()
        self.took_s = 0.0

        def build():
            self.failure = sha.load(kernel_cache_dir())
            self.took_s = time.perf_counter() - self.t0

        self.thread = threading.Thread(target=build, name="archstudio-kernel-build", daemon=True)
        self.thread.start()

    def done(self, wait_s: float = 0.0) -> bool:
        self.thread.join(wait_s)
        return not self.thread.is_alive()


class Speedups:
    """Polled by the trainer between steps. ``kernel`` (KernelBuild or None) turns the model's
    small-head modules on when built; ``spec``/``key`` (a WarmSpec and its shape key, or None) is
    the compile the plan decided on, started once the kernel it traces through is there."""

    def __init__(self, runner, forward, modules, kernel: KernelBuild | None, spec=None, key: str = "",
                 label: str = "", warm: bool = False, remaining=lambda: 0.0):
        self.runner, self.forward, self.modules, self.kernel = runner, forward, modules, kernel
        self.spec, self.key, self.label, self.warm, self.remaining = spec, key, label, warm, remaining
        self.job = None
        self.loading_since: float | None = None  # the first compiled step's start (its compile, from the cache)
        self.book = cc.CostBook()
        self.ratio = self.book.estimate(key, "ratio")[0] if key else 1.0

    @property
    def busy(self) -> bool:
        return self.kernel is not None or self.spec is not None or self.job is not None

    def poll(self) -> list[Switch]:
        out = []
        if self.kernel is not None and self.kernel.done():
            k, self.kernel = self.kernel, None
            if k.failure:
                out.append(Switch("attention", f"sdpa (small-head kernel unavailable: {k.failure})"))
                self.spec = None  # the planned graph traces through the kernel: nothing to compile
                if self.job is None and not self.warm:
                    out.append(Switch("step", "eager (the planned compile needed the small-head kernel)"))
            else:
                for m in self.modules:
                    m.small_head_kernel = True
                heads = sorted({m.head_dim for m in self.modules})
                out.append(Switch("attention", f"small-head kernel (C++, head size {', '.join(map(str, heads))}; "
                                               f"built in {k.took_s:.0f} s beside the training)"))
        if self.kernel is None and self.spec is not None and self.job is None:
            if self.warm:
                out.append(self._load(f"compiled (inductor) from the warm cache of {self.label}"))
            else:
                self.job = self._start_or_join()
            self.spec = None
        if self.job is not None and self.job.poll() is not None:
            res = self.job.result
            other = self.book.warming(self.key) if res.get("busy") else None
            if other is not None:  # another process claimed the shape first: wait for its compile
                from studio.core.training.warm import ForeignWarm
                self.job = ForeignWarm(self.key, other, self.book)
            else:
                out.append(self._job_done(res))
        return out

    def _start_or_join(self):
        """A compile of the planned shape: the one another process runs now (the app's background
        warm-up), else a child of this run's own."""
        from studio.core.training.warm import ForeignWarm, WarmJob
        other = self.book.warming(self.key)
        return ForeignWarm(self.key, other, self.book) if other is not None else WarmJob(self.spec)

    def _job_done(self, res: dict) -> Switch:
        self.job = None
        if not res.get("ok"):
            return Switch("step", f"eager (compiling beside the training failed: {res.get('error')})")
        if res.get("key") != self.key:  # the child built another graph than the one trained here
            return Switch("step", "eager (the compiled shape differs from the trained one)")
        self.ratio = float(res["ratio"])
        r = self.remaining()
        w = self.book.estimate(self.key, "warm_s")[0]
        if (r - w) / max(0.05, self.ratio) <= r:
            return Switch("step", f"eager (compiled in {res['cold_s']:.0f} s beside the training, but loading it "
                                  f"(≈{w:.0f} s) would not pay off in the {r:.0f} s left)")
        where = "in the app's background warm-up" if res.get("foreign") else "beside the training"
        return self._load(f"compiled (inductor) after {res['cold_s']:.0f} s compiling {where}, "
                          f"step {self.ratio:.2f}× the eager one")

    def _load(self, note: str) -> Switch:
        import torch

        from studio.core.training.speed import use_compile_cache
        use_compile_cache()
        self.runner.compiled = torch.compile(self.forward, dynamic=False)
        self.runner.note = note
        self.loading_since = time.perf_counter()
        return Switch("step", note, compiled=True)

    def loaded(self, first_step_s: float, step_s: float | None) -> None:
        """The first compiled step ran (``first_step_s``, its load from the cache included)."""
        self.loading_since = None
        if self.runner.is_compiled and self.key:
            self.book.record(self.key, self.label, warm_s=max(0.0, first_step_s - (step_s or 0.0)))

    def cancel(self) -> None:
        """The run ends: a compile still running is stopped; what it took so far is a lower bound."""
        if self.job is not None and self.job.poll() is None:
            took = time.perf_counter() - self.job.t0
            self.job.cancel()
            known = (self.book.get(self.key) or {}).get("cold_s_at_least", 0.0)
            if self.key:
                self.book.record(self.key, self.label, cold_s_at_least=max(known, took))
        self.job = None
