"""The config.json of a Hugging Face checkpoint for a DecoderPlan (plain data; the exporter passes it
through transformers' own config class so that the file is exactly what that version writes)."""
from __future__ import annotations

from studio.core.formats.decoder import DENSE, EXPERTS, DecoderPlan

ARCHITECTURES = {"llama": "LlamaForCausalLM", "qwen2": "Qwen2ForCausalLM", "qwen3": "Qwen3ForCausalLM",
                 "qwen3_moe": "Qwen3MoeForCausalLM", "mixtral": "MixtralForCausalLM", "qwen2_moe": "Qwen2MoeForCausalLM",
                 "deepseek_v3": "DeepseekV3ForCausalLM"}


def hf_config(plan: DecoderPlan, bos_id: int, eos_id: int) -> dict:
    """Keyword arguments of transformers' config class for ``plan.family`` (model_type included)."""
    a = plan.attention
    common = {"model_type": plan.family, "architectures": [ARCHITECTURES[plan.family]],
              "vocab_size": plan.vocab_size, "hidden_size": a.dim, "num_hidden_layers": plan.n_layers,
              "num_attention_heads": a.n_heads, "max_position_embeddings": plan.context,
              "rms_norm_eps": plan.norm_eps, "hidden_act": "silu", "tie_word_embeddings": plan.tied,
              "bos_token_id": bos_id, "eos_token_id": eos_id, "rope_theta": plan.rope_theta,
              "attention_dropout": 0.0, "initializer_range": 0.02, "dtype": "float32"}
    scaling = rope_scaling(plan.rope)
    if scaling:
        common["rope_scaling"] = scaling
    if plan.family in ("llama", "mixtral"):
        common.update(num_key_value_heads=a.kv_heads, head_dim=a.hd)
    if plan.family in ("qwen3", "qwen3_moe"):
        qwen3 = {**common, "num_key_value_heads": a.kv_heads, "head_dim": a.hd, "attention_bias": False,
                 "use_sliding_window": False, "sliding_window": None, "max_window_layers": plan.n_layers}
        if plan.family == "qwen3":
            return {**qwen3, "intermediate_size": plan.ffn_config(DENSE).hidden_dim}
        moe = plan.ffn_config(EXPERTS)
        return {**qwen3, "intermediate_size": moe.expert_hidden_dim, "moe_intermediate_size": moe.expert_hidden_dim,
                "num_experts": moe.n_experts, "num_experts_per_tok": moe.top_k, "norm_topk_prob": moe.norm_topk,
                "decoder_sparse_step": 1, "mlp_only_layers": [], "router_aux_loss_coef": moe.aux_loss_weight}
    if plan.family == "qwen2":  # q/k/v biases are part of the class; head_dim is dim / heads
        return {**common, "num_key_value_heads": a.kv_heads, "intermediate_size": plan.ffn_config(DENSE).hidden_dim,
                "use_sliding_window": False, "sliding_window": None, "max_window_layers": plan.n_layers}
    if plan.family == "qwen2_moe":  # q/k/v biases are part of the class; one gated shared expert
        moe = plan.ffn_config(EXPERTS)
        return {**common, "num_key_value_heads": a.kv_heads, "intermediate_size": moe.n_shared * moe.expert_hidden_dim,
                "moe_intermediate_size": moe.expert_hidden_dim,
                "shared_expert_intermediate_size": moe.n_shared * moe.expert_hidden_dim, "num_experts": moe.n_experts,
                "num_experts_per_tok": moe.top_k, "norm_topk_prob": moe.norm_topk, "decoder_sparse_step": 1,
                "mlp_only_layers": [], "router_aux_loss_coef": moe.aux_loss_weight, "use_sliding_window": False,
                "sliding_window": None, "max_window_layers": plan.n_layers}
    if plan.family == "llama":
        ffn = plan.ffn_config(DENSE)
        return {**common, "intermediate_size": ffn.hidden_dim, "attention_bias": a.bias, "mlp_bias": ffn.bias}
    moe = plan.ffn_config(EXPERTS)
    if plan.family == "mixtral":
        return {**common, "intermediate_size": moe.expert_hidden_dim, "num_local_experts": moe.n_experts,
                "num_experts_per_tok": moe.top_k, "router_aux_loss_coef": moe.aux_loss_weight,
                "sliding_window": None}
    dense = plan.ffn_config(DENSE).hidden_dim if plan.n_dense else moe.expert_hidden_dim
    return {**common, "num_key_value_heads": a.n_heads, "intermediate_size": dense,
            "moe_intermediate_size": moe.expert_hidden_dim, "n_routed_experts": moe.n_experts,
            "n_shared_experts": moe.n_shared, "num_experts_per_tok": moe.top_k,
            "routed_scaling_factor": moe.route_scale, "norm_topk_prob": moe.norm_topk,
            "n_group": 1, "topk_group": 1,  # group-limited routing off: this app routes over all experts
            "first_k_dense_replace": plan.n_dense, "kv_lora_rank": a.kv_lora_rank,
            "q_lora_rank": a.q_lora_rank or None, "qk_nope_head_dim": a.qk_nope_head_dim,
            "qk_rope_head_dim": a.qk_rope_head_dim, "v_head_dim": a.v_head_dim,
            "rope_interleave": True,  # adjacent pairs, as this app's MLA rotates them
            "attention_bias": False, "num_mtp_layers": 0}


def rope_scaling(rope) -> dict | None:
    """The RoPE block's frequency scaling as transformers' rope_scaling, or None without one. Llama 3's
    rule is transformers' "llama3" exactly. This app's YaRN stretches the rotations only (no attention
    temperature), so it is "yarn" with attention_factor 1 (cos/sin unscaled; transformers would infer
    0.1·ln(factor) + 1) and mscale_all_dim 0 (DeepSeek-V3's softmax scale unchanged; Kimi K2's and
    DeepSeek-V3's own configs set it, which multiplies the scale by (0.1·mscale_all_dim·ln(factor) + 1)²)."""
    if rope is None:
        return None
    if rope.llama3_factor > 1:
        return {"rope_type": "llama3", "factor": rope.llama3_factor, "low_freq_factor": rope.llama3_low_freq_factor,
                "high_freq_factor": rope.llama3_high_freq_factor,
                "original_max_position_embeddings": rope.llama3_original_context}
    if rope.yarn_factor > 1:
        return {"rope_type": "yarn", "factor": rope.yarn_factor,
                "original_max_position_embeddings": rope.yarn_original_context, "beta_fast": rope.yarn_beta_fast,
                "beta_slow": rope.yarn_beta_slow, "mscale": 1.0, "mscale_all_dim": 0.0, "attention_factor": 1.0,
                "truncate": True}
    return None


def rope_scaling_notes(plan) -> list[str]:
    scaling = rope_scaling(plan.rope) or {}
    if scaling.get("rope_type") != "yarn":
        return []
    return ["YaRN written with attention_factor 1 and mscale_all_dim 0: this app's YaRN stretches the rotations "
            "only, with no attention temperature (DeepSeek-V3's and Kimi K2's own config.json set mscale_all_dim, "
            "which scales their softmax)"]
