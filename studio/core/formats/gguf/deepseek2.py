"""DeepSeek-V3-style runs (MLA + shared/routed experts with the selection bias) as llama.cpp's
``deepseek2`` architecture, laid out as llama.cpp's own convert_hf_to_gguf.py writes it.

MLA is stored as llama.cpp decompresses it: kv_b is split per head into k_b (transposed, so the
query can be absorbed into the latent) and v_b; the cache is the latent plus the RoPE key
(key_length = kv_lora_rank + rope dims, one KV "head"), and key_length_mla / value_length_mla
keep the per-head sizes. llama.cpp rotates adjacent pairs for deepseek2, as this app does, so no
row is permuted. The auxiliary-loss-free selection bias is ``exp_probs_b`` (tensors.py).
"""
from __future__ import annotations

from studio.core.formats.decoder import EXPERTS
from studio.core.formats.gguf.hparams import model_hparams
from studio.core.formats.gguf.layout import Layout

MLA = {"wq": "attn_q", "wq_a": "attn_q_a", "q_norm": "attn_q_a_norm", "wq_b": "attn_q_b",
       "wkv_a": "attn_kv_a_mqa", "kv_norm": "attn_kv_a_norm", "wo": "attn_output"}


def mla_attention(attn: dict, b: str, a) -> dict:
    out = {f"{b}{theirs}.weight": attn[f"{ours}.weight"] for ours, theirs in MLA.items() if f"{ours}.weight" in attn}
    kv_b = attn["wkv_b.weight"].view(a.n_heads, a.qk_nope_head_dim + a.v_head_dim, a.kv_lora_rank)
    k_b, v_b = kv_b.split([a.qk_nope_head_dim, a.v_head_dim], dim=1)
    out[b + "attn_k_b.weight"] = k_b.transpose(1, 2)  # (heads, kv_lora_rank, nope)
    out[b + "attn_v_b.weight"] = v_b  # (heads, v, kv_lora_rank)
    return out


def deepseek2_hparams(plan, gguf) -> dict:
    a, moe = plan.attention, plan.ffn_config(EXPERTS)
    out = {**model_hparams(plan),
           "head_count_kv": 1,  # MLA runs as one latent key/value "head"
           "rope_dimension_count": a.qk_rope_head_dim}
    if a.q_lora_rank:
        out["q_lora_rank"] = a.q_lora_rank
    out.update(kv_lora_rank=a.kv_lora_rank, key_length=a.kv_lora_rank + a.qk_rope_head_dim,
               value_length=a.kv_lora_rank, key_length_mla=a.qk_nope_head_dim + a.qk_rope_head_dim,
               value_length_mla=a.v_head_dim, leading_dense_block_count=plan.n_dense,
               expert_feed_forward_length=moe.expert_hidden_dim, expert_shared_count=moe.n_shared,
               expert_weights_scale=moe.route_scale, expert_weights_norm=moe.norm_topk,
               expert_gating_func=gguf.ExpertGatingFuncType.SIGMOID)
    return out


DEEPSEEK2 = Layout("deepseek2", mla_attention, deepseek2_hparams, selection_bias=True)
