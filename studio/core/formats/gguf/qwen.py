"""llama.cpp's ``qwen2``, ``qwen3`` and ``qwen3moe`` architectures: what the Hugging Face export
writes as Qwen2 (q/k/v biases), Qwen3 (QK-norm) and Qwen3-MoE (QK-norm and a softmax MoE).

llama.cpp rotates these with RoPE "neox": pairs (i, i + head_dim/2), the halves Hugging Face's
Qwen classes rotate, not the adjacent pairs this app (and llama.cpp's ``llama``) rotates. So the
rows of q and k — and their biases, and the QK-norm gains, which act on each head's dims — are
permuted within each head exactly as for the Hugging Face export (``rope_halves``); q·k is
unchanged. The QK-norm eps is the model's rms_norm_eps in llama.cpp (the planner checked they
agree), and qwen3moe always renormalises the top-k gate weights (arches.py refuses it otherwise)."""
from __future__ import annotations

from studio.core.formats.decoder import EXPERTS
from studio.core.formats.gguf.hparams import grouped_attention_hparams, model_hparams
from studio.core.formats.gguf.layout import Layout
from studio.core.formats.hf.tensors import rope_halves


def qwen_attention(attn: dict, b: str, cfg) -> dict:
    heads = {"q": cfg.n_heads, "k": cfg.kv_heads}
    out = {f"{b}attn_{x}.weight": rope_halves(attn[f"w{x}.weight"], n) for x, n in heads.items()}
    out.update({f"{b}attn_v.weight": attn["wv.weight"], f"{b}attn_output.weight": attn["wo.weight"]})
    if cfg.qkv_bias:  # Qwen2
        out.update({f"{b}attn_{x}.bias": rope_halves(attn[f"w{x}.bias"], n) for x, n in heads.items()})
        out[f"{b}attn_v.bias"] = attn["wv.bias"]
    if cfg.qk_norm:  # Qwen3: one gain per head dim, shared by the heads
        out.update({f"{b}attn_{x}_norm.weight": rope_halves(attn[f"{x}_norm.weight"], 1) for x in heads})
    return out


def qwen_hparams(plan, gguf) -> dict:
    out = {**model_hparams(plan), **grouped_attention_hparams(plan.attention)}
    if plan.family == "qwen3_moe":
        out["expert_feed_forward_length"] = plan.ffn_config(EXPERTS).expert_hidden_dim
    return out


QWEN2 = Layout("qwen2", qwen_attention, qwen_hparams)
QWEN3 = Layout("qwen3", qwen_attention, qwen_hparams)
QWEN3MOE = Layout("qwen3moe", qwen_attention, qwen_hparams)
