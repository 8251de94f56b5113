"""DeepSeek-V3-style runs (MLA + shared/routed experts with the selection bias) as llama.cpp's
``deepseek2`` architecture, laid out as llama.cpp's own convert_hf_to_gguf.py writes it.

MLA is stored as llama.cpp decompresses it: kv_b is split per head into k_b (transposed, so the
query can be absorbed into the latent) and v_b; the cache is the latent plus the RoPE key
(key_length = kv_lora_rank + rope dims, one KV "head"), and key_length_mla / value_length_mla
keep the per-head sizes. llama.cpp rotates adjacent pairs for deepseek2, as this app does, so no
row is permuted. The auxiliary-loss-free selection bias is ``exp_probs_b``.
"""
from __future__ import annotations

from studio.core.formats.decoder import DENSE, EXPERTS


def deepseek2_tensors(sd: dict, plan) -> dict:
    import torch
    ids, a = plan.ids, plan.attention
    out = {"token_embd.weight": sd[f"{ids['tok_embeddings']}.weight"],
           "output_norm.weight": sd[f"{ids['norm']}.weight"]}
    if not plan.tied:
        out["output.weight"] = sd[f"{ids['output']}.weight"]
    names = {"wq": "attn_q", "wq_a": "attn_q_a", "q_norm": "attn_q_a_norm", "wq_b": "attn_q_b",
             "wkv_a": "attn_kv_a_mqa", "kv_norm": "attn_kv_a_norm", "wo": "attn_output"}
    ffn = {"w1": "gate", "w3": "up", "w2": "down"}
    for i, (tag, cfg) in enumerate(plan.ffn):
        p, b = f"layers.{i}.", f"blk.{i}."
        out[b + "attn_norm.weight"] = sd[f"{p}{ids['attention_norm']}.weight"]
        out[b + "ffn_norm.weight"] = sd[f"{p}{ids['ffn_norm']}.weight"]
        att = f"{p}{ids['attention']}."
        for ours, theirs in names.items():
            if f"{att}{ours}.weight" in sd:
                out[f"{b}{theirs}.weight"] = sd[f"{att}{ours}.weight"]
        kv_b = sd[f"{att}wkv_b.weight"].view(a.n_heads, a.qk_nope_head_dim + a.v_head_dim, a.kv_lora_rank)
        k_b, v_b = kv_b.split([a.qk_nope_head_dim, a.v_head_dim], dim=1)
        out[b + "attn_k_b.weight"] = k_b.transpose(1, 2)  # (heads, kv_lora_rank, nope)
        out[b + "attn_v_b.weight"] = v_b  # (heads, v, kv_lora_rank)
        f = f"{p}{ids['feed_forward']}."
        if tag == DENSE:
            for ours, theirs in ffn.items():
                out[f"{b}ffn_{theirs}.weight"] = sd[f"{f}{ours}.weight"]
            continue
        out[b + "ffn_gate_inp.weight"] = sd[f"{f}gate.weight"]
        out[b + "exp_probs_b.bias"] = sd.get(f"{f}expert_bias", torch.zeros(cfg.n_experts))
        for ours, theirs in ffn.items():
            out[f"{b}ffn_{theirs}_exps.weight"] = torch.stack(
                [sd[f"{f}experts.{e}.{ours}.weight"] for e in range(cfg.n_experts)])
            out[f"{b}ffn_{theirs}_shexp.weight"] = sd[f"{f}shared_experts.{ours}.weight"]
    return {k: v.detach().float().contiguous() for k, v in out.items()}


def write_deepseek2_metadata(w, gguf, plan) -> None:
    a = plan.attention
    moe = next(c for t, c in plan.ffn if t == EXPERTS)
    dense = next((c for t, c in plan.ffn if t == DENSE), None)
    w.add_vocab_size(plan.vocab_size)
    w.add_context_length(plan.context)
    w.add_embedding_length(a.dim)
    w.add_block_count(plan.n_layers)
    w.add_feed_forward_length(dense.hidden_dim if dense else moe.expert_hidden_dim)
    w.add_head_count(a.n_heads)
    w.add_head_count_kv(1)  # MLA runs as one latent key/value "head"
    w.add_layer_norm_rms_eps(plan.norm_eps)
    w.add_rope_freq_base(plan.rope_theta)
    w.add_rope_dimension_count(a.qk_rope_head_dim)
    if a.q_lora_rank:
        w.add_q_lora_rank(a.q_lora_rank)
    w.add_kv_lora_rank(a.kv_lora_rank)
    w.add_key_length(a.kv_lora_rank + a.qk_rope_head_dim)
    w.add_value_length(a.kv_lora_rank)
    w.add_key_length_mla(a.qk_nope_head_dim + a.qk_rope_head_dim)
    w.add_value_length_mla(a.v_head_dim)
    w.add_leading_dense_block_count(plan.n_dense)
    w.add_expert_feed_forward_length(moe.expert_hidden_dim)
    w.add_expert_count(moe.n_experts)
    w.add_expert_used_count(moe.top_k)
    w.add_expert_shared_count(moe.n_shared)
    w.add_expert_weights_scale(moe.route_scale)
    w.add_expert_weights_norm(moe.norm_topk)
    w.add_expert_gating_func(gguf.ExpertGatingFuncType.SIGMOID)
