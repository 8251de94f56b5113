"""Causal self-attention (MHA / GQA / MQA via n_kv_heads) and encoder-decoder cross-attention."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from blocks.nn import small_head_attention
from blocks.nn.norms import RMSNorm
from blocks.nn.rope import apply_rope


def attention_mask(Tq: int, Tk: int, causal: bool, window: int, device, offset: int = 0):
    """Boolean (Tq, Tk) mask, True = may attend. Query i sits at absolute position offset + i."""
    qpos = torch.arange(Tq, device=device)[:, None] + offset
    kpos = torch.arange(Tk, device=device)[None, :]
    keep = torch.ones(Tq, Tk, dtype=torch.bool, device=device)
    if causal:
        keep &= kpos <= qpos
    if window:
        keep &= kpos > qpos - window
    return keep


def max_logits(q, k, keep, is_causal: bool) -> torch.Tensor:
    """Largest pre-softmax logit per head, (nh,): what MuonClip's QK-clip bounds."""
    with torch.no_grad():
        s = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(q.shape[-1]))
        if is_causal:
            keep = attention_mask(q.shape[-2], k.shape[-2], True, 0, q.device)
        if keep is not None:
            s = s.masked_fill(~keep, float("-inf"))
        return s.amax(dim=(0, 2, 3)).float()


def attend(q, k, v, keep, kernel: str, capture: bool, is_causal: bool = False):
    """q: (B, nh, Tq, hd), k/v: (B, nh, Tk, hd[v]); returns (out, weights or None).

    ``is_causal`` (plain causal, Tq == Tk) lets SDPA pick its fused causal path; otherwise
    ``keep`` is a boolean (Tq, Tk) mask, True = may attend, or None for no mask.
    """
    if kernel == "sdpa" and not capture:
        return F.scaled_dot_product_attention(q, k, v, attn_mask=keep, is_causal=is_causal), None
    if is_causal:
        keep = attention_mask(q.shape[-2], k.shape[-2], True, 0, q.device)
    att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(q.shape[-1]))  # (B, nh, Tq, Tk)
    if keep is not None:
        att = att.masked_fill(~keep, float("-inf"))
    att = F.softmax(att.float(), dim=-1).type_as(q)
    return att @ v, att.detach() if capture else None


class Attention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.n_heads, self.n_kv_heads, self.head_dim = cfg.n_heads, cfg.kv_heads, cfg.hd
        qkv_bias = cfg.bias or cfg.qkv_bias
        self.wq = nn.Linear(cfg.dim, cfg.n_heads * cfg.hd, bias=qkv_bias)
        self.wk = nn.Linear(cfg.dim, cfg.kv_heads * cfg.hd, bias=qkv_bias)
        self.wv = nn.Linear(cfg.dim, cfg.kv_heads * cfg.hd, bias=qkv_bias)
        self.wo = nn.Linear(cfg.n_heads * cfg.hd, cfg.dim, bias=cfg.bias)
        if cfg.qk_norm:
            self.q_norm = RMSNorm(dim=cfg.hd, eps=cfg.qk_norm_eps)
            self.k_norm = RMSNorm(dim=cfg.hd, eps=cfg.qk_norm_eps)
        self.capture = False
        self.last_weights = None  # (B, nh, T, T) after a captured forward
        self.track_max_logit, self.max_logit = False, None
        self.small_head_kernel = False  # set by a trainer that measured blocks/nn/small_head_attention faster

    def forward(self, x, rope=None):
        B, T, _ = x.shape
        q = self.wq(x).view(B, T, self.n_heads, self.head_dim)
        k = self.wk(x).view(B, T, self.n_kv_heads, self.head_dim)
        v = self.wv(x).view(B, T, self.n_kv_heads, self.head_dim)
        if self.cfg.qk_norm:
            q, k = self.q_norm(q), self.k_norm(k)
        if rope is not None:
            q, k = apply_rope(q, *rope), apply_rope(k, *rope)
        q, k, v = (t.transpose(1, 2) for t in (q, k, v))  # (B, nh|nkv, T, hd)
        plain_causal = self.cfg.causal and not self.cfg.window
        if (self.small_head_kernel and plain_causal and self.cfg.kernel == "sdpa" and not self.capture
                and not self.track_max_logit and small_head_attention.usable(q, k) and v.dtype == q.dtype):
            # (QK-norm's fp32 gains make q, k fp32 under bf16 autocast while v stays bf16: not the kernel's case)
            y = small_head_attention.causal_attention(q, k, v)  # reads shared kv heads in place
            return self.wo(y.transpose(1, 2).reshape(B, T, -1))
        if self.n_kv_heads != self.n_heads:  # query head h reads kv head h // group (llama repeat_kv)
            group = self.n_heads // self.n_kv_heads
            k, v = k.repeat_interleave(group, dim=1), v.repeat_interleave(group, dim=1)
        keep = None if plain_causal or not (self.cfg.causal or self.cfg.window) else \
            attention_mask(T, T, self.cfg.causal, self.cfg.window, x.device)
        if self.track_max_logit:  # MuonClip: remember the step's largest logit per head
            m = max_logits(q, k, keep, plain_causal)
            self.max_logit = m if self.max_logit is None else torch.maximum(self.max_logit, m)
        y, self.last_weights = attend(q, k, v, keep, self.cfg.kernel, self.capture, is_causal=plain_causal)
        return self.wo(y.transpose(1, 2).reshape(B, T, -1))  # (B, T, dim)


class CrossAttention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.n_heads, self.head_dim = cfg.n_heads, cfg.hd
        inner = cfg.n_heads * cfg.hd  # = dim unless head_dim is set (GShard: 16 × 128 at width 1024)
        self.wq = nn.Linear(cfg.dim, inner, bias=cfg.bias)
        self.wk = nn.Linear(cfg.dim, inner, bias=cfg.bias)
        self.wv = nn.Linear(cfg.dim, inner, bias=cfg.bias)
        self.wo = nn.Linear(inner, cfg.dim, bias=cfg.bias)
        self.capture = False
        self.last_weights = None

    def forward(self, x, memory):  # x: (B, T, dim) decoder; memory: (B, S, dim) encoder output
        B, T, _ = x.shape
        S = memory.shape[1]
        q = self.wq(x).view(B, T, self.n_heads, self.head_dim).transpose(1, 2)
        k = self.wk(memory).view(B, S, self.n_heads, self.head_dim).transpose(1, 2)
        v = self.wv(memory).view(B, S, self.n_heads, self.head_dim).transpose(1, 2)
        y, self.last_weights = attend(q, k, v, None, self.cfg.kernel, self.capture)
        return self.wo(y.transpose(1, 2).reshape(B, T, -1))
