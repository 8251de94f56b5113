"""llama.cpp's ``qwen2``, ``qwen2moe``, ``qwen3`` and ``qwen3moe`` architectures: what the Hugging
Face export writes as Qwen2 (q/k/v biases), Qwen2-MoE (q/k/v biases, a softmax MoE and a shared
expert scaled by a sigmoid gate), Qwen3 (QK-norm) and Qwen3-MoE (QK-norm and a softmax MoE).

llama.cpp rotates these with RoPE "neox": pairs (i, i + head_dim/2), the halves Hugging Face's
Qwen classes rotate, not the adjacent pairs this app (and llama.cpp's ``llama``) rotates. So the
rows of q and k — and their biases, and the QK-norm gains, which act on each head's dims — are
permuted within each head exactly as for the Hugging Face export (``rope_halves``); q·k is
unchanged. The QK-norm eps is the model's rms_norm_eps in llama.cpp (the planner checked they
agree). llama.cpp fixes what Hugging Face leaves to norm_topk_prob: qwen3moe always renormalises
the top-k gate weights, qwen2moe never does (arches.py refuses the other setting)."""
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
    if plan.family in ("qwen2_moe", "qwen3_moe"):
        moe = plan.ffn_config(EXPERTS)
        out["expert_feed_forward_length"] = moe.expert_hidden_dim
        if moe.n_shared:  # Qwen2-MoE's shared expert is n_shared routed experts wide
            out["expert_shared_feed_forward_length"] = moe.n_shared * moe.expert_hidden_dim
    return out


QWEN2 = Layout("qwen2", qwen_attention, qwen_hparams)
QWEN3 = Layout("qwen3", qwen_attention, qwen_hparams)
QWEN3MOE = Layout("qwen3moe", qwen_attention, qwen_hparams)
QWEN2MOE = Layout("qwen2moe", qwen_attention, qwen_hparams)
