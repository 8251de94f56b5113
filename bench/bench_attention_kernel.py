"""Causal attention forward+backward: the small-head C++ kernel (blocks/nn/small_head_attention) vs
F.scaled_dot_product_attention, at the head sizes and shapes the classroom models train with.

Both get the same (B, H, T, hd) views of (B, T, H, hd) tensors, as an Attention module hands
them over; SDPA also gets its grouped-query heads expanded (repeat_interleave, as the model does
for it). Interleaved, median of ``--runs``; the maximum difference of output and gradients is
printed too (the same function must come out).

    python bench/bench_attention_kernel.py [--threads 1] [--runs 9]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from blocks.nn import small_head_attention as sha  # noqa: E402

SHAPES = [  # (label, B, Hq, Hkv, T, hd)
    ("stories260K, llama2.c batch", 32, 8, 4, 256, 8),
    ("stories260K, app default", 8, 8, 4, 128, 8),
    ("classroom LLaMA 2", 8, 8, 2, 128, 16),
    ("classroom LLaMA 2, long", 32, 8, 2, 256, 16),
]


def sdpa(q, k, v):
    g = q.shape[1] // k.shape[1]
    return F.scaled_dot_product_attention(q, k.repeat_interleave(g, 1), v.repeat_interleave(g, 1), is_causal=True)


def timed(fn, q, k, v, grad) -> float:
    t = time.perf_counter()
    out = fn(q, k, v)
    torch.autograd.grad(out, (q, k, v), grad)
    return time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--runs", type=int, default=9)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    reason = sha.load()
    if reason:
        sys.exit(f"the small-head kernel cannot be built here: {reason}")
    print(f"torch {torch.__version__}, {a.threads} thread(s), {a.runs} interleaved runs, load {os.getloadavg()[0]:.1f}")
    print("| shape | B × H / KV heads × T × hd | kernel fwd+bwd | SDPA fwd+bwd | speed-up | max abs diff (out, grads) |")
    print("|---|---|---|---|---|---|")
    for label, B, Hq, Hkv, T, D in SHAPES:
        torch.manual_seed(0)
        q = torch.randn(B, T, Hq, D).transpose(1, 2).requires_grad_()
        k, v = (torch.randn(B, T, Hkv, D).transpose(1, 2).requires_grad_() for _ in range(2))
        grad = torch.randn(B, Hq, T, D)
        outs = [f(q, k, v) for f in (sha.causal_attention, sdpa)]
        grads = [torch.autograd.grad(o, (q, k, v), grad) for o in outs]
        diff = max([(outs[0] - outs[1]).abs().max().item()] + [(x - y).abs().max().item() for x, y in zip(*grads)])
        for f in (sha.causal_attention, sdpa):  # warm-up
            timed(f, q, k, v, grad)
        ks, ss = [], []
        for r in range(a.runs):
            pair = [(ks, sha.causal_attention), (ss, sdpa)]
            for bucket, f in (pair if r % 2 == 0 else pair[::-1]):
                bucket.append(timed(f, q, k, v, grad))
        km, sm = statistics.median(ks) * 1e3, statistics.median(ss) * 1e3
        print(f"| {label} | {B} × {Hq}/{Hkv} × {T} × {D} | {km:.1f} ms | {sm:.1f} ms | **{sm / km:.2f}×** | {diff:.1e} |",
              flush=True)
    print(f"load after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
