"""Causal attention for small heads (head_dim 8 or 16) on a CPU: the C++ kernel beside this file,
built on first use with the system's C++ compiler and called through ctypes.

``F.scaled_dot_product_attention`` on a CPU runs a flash-attention kernel whose tile products have
an inner size of head_dim; at the head sizes of llama2.c's stories260K (8) and the classroom
LLaMAs (16) most of its time goes to tile overheads. The kernel here computes the same function
(causal softmax(q kᵀ / √d) v, grouped-query heads read in place) with every inner loop running
over 16 query rows in vector lanes; bench/bench_attention_kernel.py measures it against SDPA
(1.4-2.4x faster at these head sizes, slower at 32 and 64, so those are not built). An Attention
module calls it only when its ``small_head_kernel`` flag is set: by the trainer's preparing phase
(studio/core/training/speed.py ``choose_attention``), never by default.

    reason = load(cache_dir)          # None when the kernel is ready, else why not (one line)
    y = causal_attention(q, k, v)     # q (B, Hq, T, hd), k/v (B, Hkv, T, hd), fp32 (or bf16), CPU

Built once per source, compiler and CPU (the key of the cached library), so an upgrade or a
copied cache never loads a stale or foreign binary.
"""
from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

import torch

SOURCE = Path(__file__).with_suffix(".cpp")
HEAD_DIMS = (8, 16)   # measured faster than SDPA at these (bench/RESULTS.md); slower at 32 and 64
ABI_VERSION = 3
_DTYPES = (torch.float32, torch.bfloat16)
_lock = threading.Lock()
_lib = None
_failure: str | None = None


def _cpu_signature() -> str:
    """What the binary was tuned for (-march=native): the CPU's model and feature flags."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as fh:
            text = fh.read()
        lines = [ln for ln in text.splitlines() if ln.startswith(("model name", "flags"))]
        return "\n".join(sorted(set(lines)))
    except OSError:
        return platform.processor() or platform.machine()


def _compiler() -> str | None:
    for name in (os.environ.get("CXX"), "c++", "g++", "clang++"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


def _flag_sets() -> list[list[str]]:
    arch = ["-mcpu=native"] if platform.machine() in ("arm64", "aarch64") else ["-march=native"]
    base = ["-O3", "-std=c++17", "-fPIC", "-shared", "-fopenmp-simd"]
    # 512-bit vectors where the CPU has them (a 16-row block is one register); plain -O3 last
    return [base + arch + ["-mprefer-vector-width=512"], base + arch, base]


def default_cache_dir() -> Path:
    return Path(tempfile.gettempdir()) / f"archstudio-kernels-{os.getuid() if hasattr(os, 'getuid') else 'user'}"


def _build(cache_dir: Path) -> Path:
    cxx = _compiler()
    if cxx is None:
        raise RuntimeError("no C++ compiler (c++, g++ or clang++) on PATH")
    source = SOURCE.read_bytes()
    version = subprocess.run([cxx, "--version"], capture_output=True, text=True, timeout=30).stdout
    key = hashlib.sha256(source + version.encode() + _cpu_signature().encode()).hexdigest()[:16]
    target = cache_dir / f"small_head_attention-{key}.so"
    if target.exists():
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    errors = []
    for flags in _flag_sets():
        fd, tmp = tempfile.mkstemp(suffix=".so", dir=cache_dir)  # same folder: the rename is atomic
        os.close(fd)
        try:
            done = subprocess.run([cxx, *flags, "-o", tmp, str(SOURCE), "-lpthread"],
                                  capture_output=True, text=True, timeout=300)
            if done.returncode == 0:
                os.replace(tmp, target)
                return target
            errors.append((done.stderr.strip().splitlines() or ["failed"])[-1])
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    raise RuntimeError(f"the C++ compiler failed: {errors[-1][:160]}")


def _bind(path: Path):
    lib = ctypes.CDLL(str(path))  # CDLL (not PyDLL): calls release the GIL
    P, I, F = ctypes.c_void_p, ctypes.c_int64, ctypes.c_float
    lib.sha_abi_version.restype = ctypes.c_int
    if lib.sha_abi_version() != ABI_VERSION:
        raise RuntimeError(f"{path.name} has ABI {lib.sha_abi_version()}, expected {ABI_VERSION}")
    lib.sha_supports.argtypes, lib.sha_supports.restype = [I], ctypes.c_int
    lib.sha_forward.argtypes = [P] * 6 + [I] * 5 + [F, ctypes.c_int]
    lib.sha_backward.argtypes = [P] * 10 + [I] * 5 + [F, ctypes.c_int]
    return lib


def load(cache_dir: Path | str | None = None) -> str | None:
    """Build (or find in ``cache_dir``) and load the kernel; None when ready, else the reason."""
    global _lib, _failure
    with _lock:
        if _lib is not None:
            return None
        if _failure is not None:
            return _failure
        try:
            path = _build(Path(cache_dir) if cache_dir else default_cache_dir())
            try:
                _lib = _bind(path)
            except (OSError, RuntimeError):  # a damaged or foreign cached file: build it again, once
                path.unlink(missing_ok=True)
                _lib = _bind(_build(path.parent))
            return None
        except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
            _failure = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            return _failure


def loaded() -> bool:
    return _lib is not None


def usable(q: torch.Tensor, k: torch.Tensor) -> bool:
    """True where the kernel computes exactly this call: CPU fp32 (or bf16 autocast's tensors, computed
    in fp32), equal query/key lengths,
    a head size it is built for, whole query groups per key/value head."""
    return (_lib is not None and q.device.type == "cpu" and q.dtype in _DTYPES and k.dtype == q.dtype
            and q.dim() == 4 and q.shape[-1] in HEAD_DIMS and q.shape[-1] == k.shape[-1]
            and q.shape[-2] == k.shape[-2] and q.shape[1] % k.shape[1] == 0 and q.shape[0] == k.shape[0])


def _rows(t: torch.Tensor) -> torch.Tensor:
    """The kernel reads any (B, H, T, hd) layout whose head dimension is contiguous."""
    return t if t.stride(-1) == 1 else t.contiguous()


def _like_linear(B: int, H: int, T: int, D: int, ref: torch.Tensor) -> torch.Tensor:
    """A (B, H, T, hd) view of a fresh (B, T, H, hd) tensor: what ``wo`` reads after the usual
    transpose(1, 2).reshape(B, T, H * hd), with no copy."""
    return ref.new_empty(B, T, H, D).transpose(1, 2)


def _strides(*ts: torch.Tensor):
    flat = [s for t in ts for s in t.stride()[:3]]
    return (ctypes.c_int64 * len(flat))(*flat)


# the layout version is in the op names: inductor caches compiled graphs by the ops they call, and a
# graph cached against an older fake (output strides) must not be reused
@torch.library.custom_op(f"archstudio::small_head_attention_v{ABI_VERSION}", mutates_args=())
def _forward(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    q, k, v = _rows(q), _rows(k), _rows(v)
    B, Hq, T, D = q.shape
    o = _like_linear(B, Hq, T, D, q)
    lse = q.new_empty(B, Hq, T)  # log-sum-exp per query row: all the backward needs besides q, k, v, o
    _lib.sha_forward(q.data_ptr(), k.data_ptr(), v.data_ptr(), o.data_ptr(), lse.data_ptr(), _strides(q, k, v, o),
                     B, Hq, k.shape[1], T, D, D ** -0.5, torch.get_num_threads())
    return o, lse


@_forward.register_fake
def _(q, k, v):
    B, Hq, T, D = q.shape
    return _like_linear(B, Hq, T, D, q), q.new_empty(B, Hq, T)


@torch.library.custom_op(f"archstudio::small_head_attention_backward_v{ABI_VERSION}", mutates_args=())
def _backward(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, o: torch.Tensor, lse: torch.Tensor,
              grad: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    q, k, v, o, grad = (_rows(t) for t in (q, k, v, o, grad))
    lse = lse.contiguous()
    B, Hq, T, D = q.shape
    Hkv = k.shape[1]
    dq, dk, dv = _like_linear(B, Hq, T, D, q), _like_linear(B, Hkv, T, D, k), _like_linear(B, Hkv, T, D, v)
    _lib.sha_backward(q.data_ptr(), k.data_ptr(), v.data_ptr(), o.data_ptr(), grad.data_ptr(), lse.data_ptr(),
                      dq.data_ptr(), dk.data_ptr(), dv.data_ptr(), _strides(q, k, v, o, grad, dq, dk, dv),
                      B, Hq, Hkv, T, D, D ** -0.5, torch.get_num_threads())
    return dq, dk, dv


@_backward.register_fake
def _(q, k, v, o, lse, grad):
    B, Hq, T, D = q.shape
    Hkv = k.shape[1]
    return _like_linear(B, Hq, T, D, q), _like_linear(B, Hkv, T, D, k), _like_linear(B, Hkv, T, D, v)


def _setup_context(ctx, inputs, output):
    ctx.save_for_backward(*inputs, *output)


def _autograd_backward(ctx, grad_o, _grad_lse):
    q, k, v, o, lse = ctx.saved_tensors
    return _backward(q, k, v, o, lse, grad_o)


_forward.register_autograd(_autograd_backward, setup_context=_setup_context)


def causal_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """softmax(q kᵀ / √hd, causal) v; q (B, Hq, T, hd), k/v (B, Hkv, T, hd) → (B, Hq, T, hd).
    bf16 inputs (autocast's matmul outputs) are computed in fp32, as autocast does for softmax."""
    if q.dtype != torch.float32:
        return _forward(q.float(), k.float(), v.float())[0].to(q.dtype)
    return _forward(q, k, v)[0]
