"""DeepSeek multi-head latent attention (MLA).

Keys and values are rebuilt per head from a compressed latent c_kv (kv_lora_rank wide) plus one
decoupled RoPE key shared by all heads; only (c_kv, k_rope) is cached per token.
"""
import torch
import torch.nn as nn

from blocks.nn.attention import attend, attention_mask, max_logits
from blocks.nn.norms import RMSNorm
from blocks.nn.rope import apply_rope


class MLA(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = c = cfg
        self.qk_head_dim = c.qk_nope_head_dim + c.qk_rope_head_dim
        if c.q_lora_rank:
            self.wq_a = nn.Linear(c.dim, c.q_lora_rank, bias=False)
            self.q_norm = RMSNorm(dim=c.q_lora_rank, eps=c.eps)
            self.wq_b = nn.Linear(c.q_lora_rank, c.n_heads * self.qk_head_dim, bias=False)
        else:
            self.wq = nn.Linear(c.dim, c.n_heads * self.qk_head_dim, bias=False)
        self.wkv_a = nn.Linear(c.dim, c.kv_lora_rank + c.qk_rope_head_dim, bias=False)
        self.kv_norm = RMSNorm(dim=c.kv_lora_rank, eps=c.eps)
        self.wkv_b = nn.Linear(c.kv_lora_rank, c.n_heads * (c.qk_nope_head_dim + c.v_head_dim), bias=False)
        self.wo = nn.Linear(c.n_heads * c.v_head_dim, c.dim, bias=False)
        self.capture = False
        self.last_weights = None
        self.track_max_logit, self.max_logit = False, None

    def latent(self, x, cos, sin):
        """x: (B, T, dim) -> what the cache keeps: c_kv (B, T, kv_r) and k_rope (B, T, 1, rope)."""
        c = self.cfg
        c_kv, k_pe = self.wkv_a(x).split([c.kv_lora_rank, c.qk_rope_head_dim], dim=-1)
        k_pe = apply_rope(k_pe.unsqueeze(2), cos, sin)
        return self.kv_norm(c_kv), k_pe

    def queries(self, x, cos, sin):
        c = self.cfg
        B, T, _ = x.shape
        q = self.wq_b(self.q_norm(self.wq_a(x))) if c.q_lora_rank else self.wq(x)
        q_nope, q_pe = q.view(B, T, c.n_heads, self.qk_head_dim).split([c.qk_nope_head_dim, c.qk_rope_head_dim], -1)
        return torch.cat([q_nope, apply_rope(q_pe, cos, sin)], dim=-1)  # (B, T, nh, qk_hd)

    def attend_latent(self, q, c_kv, k_pe, offset: int = 0):
        """q: (B, Tq, nh, qk_hd) at positions offset..; c_kv/k_pe: the whole cached prefix (B, S, ·)."""
        c = self.cfg
        B, Tq, S = q.shape[0], q.shape[1], c_kv.shape[1]
        kv = self.wkv_b(c_kv).view(B, S, c.n_heads, c.qk_nope_head_dim + c.v_head_dim)
        k_nope, v = kv.split([c.qk_nope_head_dim, c.v_head_dim], dim=-1)
        k = torch.cat([k_nope, k_pe.expand(-1, -1, c.n_heads, -1)], dim=-1)  # (B, S, nh, qk_hd)
        keep = attention_mask(Tq, S, c.causal, 0, q.device, offset)
        if self.track_max_logit:  # MuonClip: remember the step's largest logit per head
            m = max_logits(q.transpose(1, 2), k.transpose(1, 2), keep, False)
            self.max_logit = m if self.max_logit is None else torch.maximum(self.max_logit, m)
        y, self.last_weights = attend(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), keep, c.kernel, self.capture)
        return self.wo(y.transpose(1, 2).reshape(B, Tq, -1))

    def forward(self, x, rope):
        cos, sin = rope
        c_kv, k_pe = self.latent(x, cos, sin)
        return self.attend_latent(self.queries(x, cos, sin), c_kv, k_pe)

    def forward_cached(self, x, rope_full, cache: dict, offset: int):
        """Incremental decoding: appends this chunk's latent to ``cache`` and attends over it."""
        T = x.shape[1]
        cos, sin = (t[offset: offset + T] for t in rope_full)
        c_kv, k_pe = self.latent(x, cos, sin)
        if cache:
            c_kv, k_pe = torch.cat([cache["c_kv"], c_kv], 1), torch.cat([cache["k_pe"], k_pe], 1)
        cache["c_kv"], cache["k_pe"] = c_kv, k_pe
        return self.attend_latent(self.queries(x, cos, sin), c_kv, k_pe, offset)
