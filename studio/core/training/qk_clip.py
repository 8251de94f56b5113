"""MuonClip's QK-clip (Kimi K2): after each optimizer step, any attention head whose largest
pre-softmax logit q·k/√d exceeded τ in that step's forward has its query projection scaled by
γ = τ / max, so the same inputs now give logits ≤ τ. Muon does the update; this bounds the logits.

Kimi splits √γ between queries and keys per head; with keys shared across heads (GQA, MLA's
shared RoPE key) scaling only the head's own query rows by γ bounds the logit the same way
without touching other heads.
"""
from __future__ import annotations

import torch

from blocks.nn.attention import Attention
from blocks.nn.mla import MLA


def attention_blocks(model) -> list:
    return [m for m in model.modules() if isinstance(m, (Attention, MLA))]


def enable(model, on: bool = True) -> None:
    for m in attention_blocks(model):
        m.track_max_logit = on
        m.max_logit = None


@torch.no_grad()
def clip(model, tau: float) -> float:
    """Scale the query rows of every head whose max logit exceeded tau; return the largest logit seen."""
    worst = 0.0
    for m in attention_blocks(model):
        mx = getattr(m, "max_logit", None)
        if mx is None:
            continue
        worst = max(worst, float(mx.max()))
        gamma = (tau / mx.clamp_min(1e-12)).clamp(max=1.0)  # (n_heads,)
        if bool((gamma < 1).any()):
            if isinstance(m, MLA):
                w = m.wq_b if m.cfg.q_lora_rank else m.wq
                rows = m.qk_head_dim
            else:
                w, rows = m.wq, m.head_dim
            scale = gamma.repeat_interleave(rows).to(w.weight.dtype)  # one factor per output row
            w.weight.mul_(scale[:, None])
            if w.bias is not None:
                w.bias.mul_(scale)
        m.max_logit = None
    return worst
