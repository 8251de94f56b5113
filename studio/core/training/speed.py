"""How fast a training step runs on this machine: intra-op threads, bf16 or fp32 (decided by a
measured probe), and the step compiled by torch.compile (inductor) with a logged fallback to eager.

Everything here happens in the run's "preparing" phase, before the training clock starts.
"""
from __future__ import annotations

import contextlib
import logging
import os
import time
from dataclasses import dataclass

import torch

log = logging.getLogger(__name__)

PRECISIONS = ("auto", "fp32", "bf16", "fp8")
NO_COMPILE_ENV = "ARCHSTUDIO_NO_COMPILE"  # set to 1 to train eagerly (e.g. to debug a block)


def physical_cores() -> int:
    """Physical cores (hyper-threads share a core's FPUs, so more threads only add barrier waits)."""
    try:
        cores = set()
        cpu = None
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("physical id"):
                    cpu = line.split(":")[1].strip()
                elif line.startswith("core id"):
                    cores.add((cpu, line.split(":")[1].strip()))
        if cores:
            return max(1, min(len(cores), len(os.sched_getaffinity(0))))
    except (OSError, AttributeError, IndexError):
        pass
    n = os.cpu_count() or 1
    return max(1, n // 2 if n >= 4 else n)  # other systems: assume 2-way SMT on bigger machines


def others_load() -> float | None:
    """Runnable threads of other programs: the 1-minute load average less this process's own share
    of it (its CPU time over its age, weighted as the load average's 60 s decay would)."""
    import math
    import resource
    try:
        load = os.getloadavg()[0]
        with open(f"/proc/{os.getpid()}/stat", encoding="ascii") as fh:
            start_ticks = float(fh.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime", encoding="ascii") as fh:
            age = max(1.0, float(fh.read().split()[0]) - start_ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, AttributeError, ValueError, IndexError):
        return None
    use = resource.getrusage(resource.RUSAGE_SELF)
    own = (use.ru_utime + use.ru_stime) / age * (1 - math.exp(-age / 60.0))
    return max(0.0, load - own)


def choose_threads(threads: int | None) -> tuple[int, str]:
    """The user's count, else the physical cores other programs leave free (at least 1): on a busy
    machine an OpenMP step on more threads than free cores waits at every barrier for a descheduled
    thread (stories260K at load 12 on 2 cores: 6.5 s per forward+backward on 2 threads, 0.31 s on 1)."""
    if threads:
        return int(threads), "chosen"
    cores = physical_cores()
    others = others_load()
    if others is None:
        return cores, f"{cores} physical core{'s' if cores != 1 else ''}"
    n = max(1, min(cores, round(cores - others)))
    return n, f"{n} of {cores} physical cores free (load {others:.1f} from other programs)"


def set_threads(threads: int | None) -> int:
    n = choose_threads(threads)[0]
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    return n


def autocast(device, precision: str):
    """bf16 autocast (matmuls in bfloat16, weights and optimizer in fp32), or nothing."""
    from studio.core import errors as E
    if precision == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    if precision not in ("fp32", "fp8"):
        raise E.StudioError(f"unknown precision {precision!r}; choose auto, fp32, bf16 or fp8")
    return contextlib.nullcontext()


@dataclass(frozen=True)
class PrecisionChoice:
    precision: str          # fp32 or bf16 (or fp8 when asked for)
    reason: str             # one line for run.yaml and the user
    fp32_ms: float | None = None
    bf16_ms: float | None = None

    def close(self, within: float = 1.15) -> bool:
        """Both measured and within ``within`` of each other: worth measuring compiled as well."""
        return bool(self.fp32_ms and self.bf16_ms) and max(self.fp32_ms, self.bf16_ms) < within * min(
            self.fp32_ms, self.bf16_ms)

    def record(self) -> dict:
        d = {"precision": self.precision, "reason": self.reason}
        if self.fp32_ms is not None:
            d.update(fp32_step_ms=round(self.fp32_ms, 2), bf16_step_ms=round(self.bf16_ms, 2))
        return d


def native_bf16(device) -> bool:
    if device.type == "cuda":
        return bool(torch.cuda.is_bf16_supported())
    if device.type != "cpu":
        return False
    try:  # oneDNN's check: AVX-512 BF16 or AMX
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def fwd_bwd_seconds(forward, batches, device, precision: str) -> list[float]:
    """Wall seconds of one forward+backward per batch ``(x, y, source)``: the one step timer of the
    preparing phase, lesson planning and races. Gradients are left for the caller to drop."""
    times = []
    for x, y, src in batches:
        t = time.perf_counter()
        with autocast(device, precision):
            _, loss = forward(x, y, source=src)
        loss.backward()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t)
    return times


def _time_fwd_bwd(model, batch, device, precision: str, reps: int, warm: bool = True) -> float:
    """Best of ``reps`` passes over one batch; with ``warm`` a first, untimed pass warms up kernels
    and the allocator (``reps`` 0: only that pass)."""
    times = fwd_bwd_seconds(model, [batch] * (reps + int(warm)), device, precision)[int(warm):]
    model.zero_grad(set_to_none=True)
    return min(times) if times else 0.0


def choose_precision(requested: str, model, probe_batch, device, reps: int = 2, known: tuple | None = None
                     ) -> PrecisionChoice:
    """``requested`` fp32 / bf16 / fp8 is kept; "auto" is bf16 where the hardware has native bf16
    and a measured forward+backward of this model on the run's batch is faster in it, else fp32.
    ``known`` (fp32 ms, bf16 ms): an earlier run's probe of the same shape, reused instead of
    measuring again (the probe is seconds of a time budget on a loaded machine)."""
    if requested not in PRECISIONS:
        from studio.core import errors as E
        raise E.StudioError(f"unknown precision {requested!r}; choose {', '.join(PRECISIONS)}")
    if requested != "auto":
        return PrecisionChoice(requested, "chosen by the user")
    if not native_bf16(device):
        return PrecisionChoice("fp32", f"no native bf16 on this {device.type}")
    where = " (an earlier run of this shape)" if known else ""
    if known:
        fp32, bf16 = known[0] / 1e3, known[1] / 1e3
    else:
        rng = torch.get_rng_state()  # the probe must not change the run's random numbers (dropout)
        for p in ("fp32", "bf16"):  # one warm-up pass each (kernels, allocator), then timed passes
            _time_fwd_bwd(model, probe_batch, device, p, 0)
        fp32 = bf16 = float("inf")
        for _ in range(reps):  # interleaved, so that a burst of load from other programs hits both alike
            fp32 = min(fp32, _time_fwd_bwd(model, probe_batch, device, "fp32", 1, warm=False))
            bf16 = min(bf16, _time_fwd_bwd(model, probe_batch, device, "bf16", 1, warm=False))
        torch.set_rng_state(rng)
    faster = bf16 < 0.95 * fp32  # a clear win only: fp32 keeps the numbers of the reference
    word = "bf16 (autocast)" if faster else "fp32"
    return PrecisionChoice("bf16" if faster else "fp32",
                           f"{word}: measured forward+backward {fp32 * 1e3:.1f} ms fp32 vs {bf16 * 1e3:.1f} ms bf16"
                           + where, fp32 * 1e3, bf16 * 1e3)


@dataclass(frozen=True)
class AttentionChoice:
    kernel: str             # "small-head" (blocks/nn/small_head_attention) or "sdpa"
    reason: str             # one line for run.yaml and the user

    def record(self) -> dict:
        return {"kernel": self.kernel, "reason": self.reason}


def small_head_modules(model) -> list:
    from blocks.nn import small_head_attention as sha
    return [m for m in model.modules() if hasattr(m, "small_head_kernel") and m.cfg.causal and not m.cfg.window
            and m.cfg.kernel == "sdpa" and m.head_dim in sha.HEAD_DIMS]


def kernel_cache_dir() -> str | None:
    try:
        import platformdirs
        return os.path.join(platformdirs.user_cache_dir("archstudio", appauthor=False), "kernels")
    except ImportError:
        return None


ATTENTIONS = ("auto", "sdpa")


def has_small_heads(model) -> bool:
    return bool(small_head_modules(model))


def choose_attention(requested: str, model, device) -> AttentionChoice:
    """"auto": the model's causal attention with head size 8 or 16 runs the C++ small-head kernel
    (blocks/nn/small_head_attention) on a CPU, where it builds; "sdpa": never. A rule, not a timing
    probe: the kernel computes the same function, measured 1.6-2.5x faster than SDPA at these head
    sizes (bench/RESULTS.md), and a rule keeps two runs of the same config (and every torchrun
    process) computing alike."""
    from blocks.nn import small_head_attention as sha
    if requested not in ATTENTIONS:
        from studio.core import errors as E
        raise E.StudioError(f"unknown attention {requested!r}; choose {' or '.join(ATTENTIONS)}")
    mods = small_head_modules(model)
    for m in mods:
        m.small_head_kernel = False
    if requested == "sdpa":
        return AttentionChoice("sdpa", "sdpa (chosen)")
    if not mods:
        return AttentionChoice("sdpa", f"sdpa (no causal attention with head size {' or '.join(map(str, sha.HEAD_DIMS))})")
    if device.type != "cpu":
        return AttentionChoice("sdpa", f"sdpa (the small-head kernel is for CPUs; this run is on {device.type})")
    failure = sha.load(kernel_cache_dir())
    if failure:
        log.warning("small-head attention kernel unavailable, using SDPA: %s", failure)
        return AttentionChoice("sdpa", f"sdpa (small-head kernel unavailable: {failure})")
    for m in mods:
        m.small_head_kernel = True
    heads = sorted({m.head_dim for m in mods})
    return AttentionChoice("small-head", f"small-head kernel (C++, head size {', '.join(map(str, heads))})")


def use_compile_cache() -> str | None:
    """Keep inductor's FX-graph and autograd caches in the user cache (across runs and reboots)
    unless the user chose a folder; returns the folder. Inductor writes its own default into
    TORCHINDUCTOR_CACHE_DIR the first time anything asks for its cache folder (the optimizer's
    import of torch._dynamo can), so that default is not a choice: a run that kept it missed the
    step its warm child had compiled into the user cache (measured: a 260 s compile in the loop)."""
    chosen = os.environ.get("TORCHINDUCTOR_CACHE_DIR")
    if chosen:
        try:
            from torch._inductor.runtime.cache_dir_utils import default_cache_dir
            inductors_own = os.path.abspath(chosen) == os.path.abspath(default_cache_dir())
        except ImportError:
            inductors_own = False
        if not inductors_own:
            return chosen
    try:
        import platformdirs
        path = os.path.join(platformdirs.user_cache_dir("archstudio", appauthor=False), "torchinductor")
        os.makedirs(path, exist_ok=True)
    except (ImportError, OSError):
        return None
    os.environ["TORCHINDUCTOR_CACHE_DIR"] = path
    return path


class StepRunner:
    """The forward of one training micro-step, compiled where inductor can, else eager.

    torch.compile is lazy: the graph is built on the first call, so the trainer makes that call
    inside its preparing phase. Any exception from the compiled call (no C++ compiler, an
    unsupported op, a platform quirk) switches to eager for the rest of the run and is recorded
    in ``note``; the step is then redone eagerly, so training goes on with the same numbers."""

    def __init__(self, forward, device, want_compile: bool):
        self.eager = forward
        self.compiled = None
        self.note = "eager (compilation off)" if not want_compile else ""
        self.compile_s = 0.0
        self.attention: AttentionChoice | None = None  # set by the preparing phase (step.prepare)
        if want_compile and os.environ.get(NO_COMPILE_ENV, "") not in ("", "0"):
            self.note = f"eager ({NO_COMPILE_ENV} is set)"
        elif want_compile:
            try:
                use_compile_cache()
                self.compiled = torch.compile(forward, dynamic=False)
                self.note = "compiled (inductor)"
            except Exception as exc:  # noqa: BLE001  any failure means: train eagerly
                self.fallback(exc)

    @property
    def is_compiled(self) -> bool:
        return self.compiled is not None

    def fallback(self, exc: BaseException) -> None:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
        self.note = f"eager (compilation failed: {type(exc).__name__}: {first})"
        log.warning("torch.compile failed, training eagerly: %s", first)
        self.compiled = None
        with contextlib.suppress(Exception):
            torch._dynamo.reset()

    def __call__(self, x, y, src):
        fn = self.eager if self.compiled is None else self.compiled
        return fn(x, y, source=src)
