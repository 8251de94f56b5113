"""FP8 training as DeepSeek-V3-era recipes describe it, simulated: every nn.Linear's matmul sees
its input and weight rounded to float8 e4m3 and, in the backward pass, its output gradient
rounded to float8 e5m2, each with a per-tensor amax scale. The rounding is a quantise-dequantise
(torch's float8 dtypes); the matmuls themselves then run in fp32, because fused scaled FP8
matmuls need recent GPUs. So the numerics are FP8's, the speed is not: the GUI and CLI say
"fp8 (simulated)".
"""
from __future__ import annotations

import contextlib

import torch
import torch.nn as nn
import torch.nn.functional as F

E4M3, E5M2 = torch.float8_e4m3fn, torch.float8_e5m2


def qdq(t: torch.Tensor, dtype) -> torch.Tensor:
    """Round t to ``dtype`` with a per-tensor scale that maps its amax to the format's max."""
    fmax = torch.finfo(dtype).max
    amax = t.detach().abs().max().float().clamp(min=1e-12)
    scale = fmax / amax
    return ((t.float() * scale).clamp(-fmax, fmax).to(dtype).float() / scale).to(t.dtype)


class FP8Linear(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, w, b):
        xq, wq = qdq(x, E4M3), qdq(w, E4M3)
        ctx.save_for_backward(xq, wq)
        ctx.has_bias = b is not None
        return F.linear(xq, wq, b)

    @staticmethod
    def backward(ctx, g):
        xq, wq = ctx.saved_tensors
        gq = qdq(g, E5M2)
        gx = gq @ wq
        gw = gq.reshape(-1, gq.shape[-1]).T @ xq.reshape(-1, xq.shape[-1])
        gb = gq.reshape(-1, gq.shape[-1]).sum(0) if ctx.has_bias else None
        return gx, gw, gb


def _fp8_forward(self, x):
    return FP8Linear.apply(x, self.weight, self.bias)


@contextlib.contextmanager
def fp8_linears(model: nn.Module):
    """Route every nn.Linear of model through FP8Linear while the context is open."""
    patched = [m for m in model.modules() if type(m) is nn.Linear]
    for m in patched:
        m.forward = _fp8_forward.__get__(m)
    try:
        yield len(patched)
    finally:
        for m in patched:
            del m.forward
