"""The GGUF metadata every decoder has (``{arch}.*`` keys), as {GGUFWriter adder: value}: the
writer calls ``add_<key>(value)`` for each, so an architecture's metadata is plain data that
its layout (llama.py, qwen.py, deepseek2.py) builds from these parts and extends."""
from __future__ import annotations

from studio.core.formats.decoder import DENSE, EXPERTS


def model_hparams(plan) -> dict:
    """Sizes, norm and RoPE base; the routed experts' count and top-k where the model has a MoE.
    feed_forward_length is the dense SwiGLU's width, or an expert's where every layer is MoE."""
    dense = next((c for t, c in plan.ffn if t == DENSE), None)
    moe = next((c for t, c in plan.ffn if t == EXPERTS), None)
    out = {"vocab_size": plan.vocab_size, "context_length": plan.context,
           "embedding_length": plan.attention.dim, "block_count": plan.n_layers,
           "feed_forward_length": dense.hidden_dim if dense else moe.expert_hidden_dim,
           "head_count": plan.attention.n_heads, "layer_norm_rms_eps": plan.norm_eps,
           "rope_freq_base": plan.rope_theta}
    if moe is not None:
        out.update(expert_count=moe.n_experts, expert_used_count=moe.top_k)
    return out


def grouped_attention_hparams(attn) -> dict:
    """Grouped-query attention (MHA and MQA included): kv heads and the head size, all of it rotated."""
    return {"head_count_kv": attn.kv_heads, "key_length": attn.hd, "value_length": attn.hd,
            "rope_dimension_count": attn.hd}

