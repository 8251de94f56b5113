"""This app's state dict → the tensor names and layouts of the original Hugging Face checkpoints
(Meta's LLaMA conversion, Qwen2, Mistral's Mixtral, DeepSeek's V3 release), which ``transformers``
loads as they are (it fuses Mixtral's and DeepSeek's experts itself while loading).

One layout change is needed: this app rotates adjacent pairs (x[2j], x[2j+1]) as llama2.c and
Meta's reference do, while ``transformers``' LLaMA/Mixtral rotate the two halves of each head.
The rows of q and k are permuted within each head so that the halves hold the old pairs
(``permute`` of transformers' convert_llama_weights_to_hf.py); q·k is unchanged. DeepSeek-V3 keeps
the pairs (``rope_interleave: true``), so its weights are copied as they are.
"""
from __future__ import annotations

from studio.core.formats.decoder import DENSE, EXPERTS, DecoderPlan
from studio.core.formats.frame import frame_tensors

NAMES = {"tok_embeddings": "model.embed_tokens.weight", "norm": "model.norm.weight", "output": "lm_head.weight",
         "attention_norm": "model.layers.{i}.input_layernorm.weight",
         "ffn_norm": "model.layers.{i}.post_attention_layernorm.weight"}


def rope_halves(w, n_heads: int):
    """Rows of a q/k projection (n_heads·hd, ·) or bias (n_heads·hd,) from adjacent pairs to halves."""
    rows = w.shape[0]
    hd = rows // n_heads
    flat = w.reshape(rows, -1)
    out = flat.view(n_heads, hd // 2, 2, flat.shape[1]).transpose(1, 2).reshape(rows, flat.shape[1])
    return out.reshape(w.shape)


def hf_tensors(sd: dict, plan: DecoderPlan) -> dict:
    """{HF name: tensor} for the plan's family; every tensor contiguous fp32."""
    ids = plan.ids
    out, norms = frame_tensors(sd, plan, NAMES)
    for i, (kind, _) in enumerate(plan.ffn):
        src, dst = f"layers.{i}.", f"model.layers.{i}."
        layer = {k[len(src):]: v for k, v in sd.items() if k.startswith(src)}
        out.update(norms[i])
        attn = {k[len(ids["attention"]) + 1:]: v for k, v in layer.items() if k.startswith(ids["attention"] + ".")}
        if plan.family == "deepseek_v3":
            out.update(_mla(attn, dst + "self_attn."))
        else:
            out.update(_attention(attn, dst + "self_attn.", plan.attention))
        ffn = {k[len(ids["feed_forward"]) + 1:]: v for k, v in layer.items() if k.startswith(ids["feed_forward"] + ".")}
        if kind == DENSE:
            out.update(_swiglu(ffn, "", dst + "mlp."))
        elif plan.family == "mixtral":
            out.update(_mixtral_moe(ffn, dst + "block_sparse_moe.", plan.ffn_config(EXPERTS)))
        elif plan.family in ("qwen3_moe", "qwen2_moe"):
            out.update(_qwen_moe(ffn, dst + "mlp.", plan.ffn_config(EXPERTS)))
        else:
            out.update(_deepseek_moe(ffn, dst + "mlp.", plan.ffn_config(EXPERTS)))
    return {k: v.detach().float().contiguous() for k, v in out.items()}


def _attention(p: dict, dst: str, cfg) -> dict:
    out = {dst + "q_proj.weight": rope_halves(p["wq.weight"], cfg.n_heads),
           dst + "k_proj.weight": rope_halves(p["wk.weight"], cfg.kv_heads),
           dst + "v_proj.weight": p["wv.weight"], dst + "o_proj.weight": p["wo.weight"]}
    if cfg.bias or cfg.qkv_bias:  # LLaMA's attention_bias (all four) or Qwen2's (q, k, v)
        out.update({dst + "q_proj.bias": rope_halves(p["wq.bias"], cfg.n_heads),
                    dst + "k_proj.bias": rope_halves(p["wk.bias"], cfg.kv_heads), dst + "v_proj.bias": p["wv.bias"]})
    if cfg.bias:
        out[dst + "o_proj.bias"] = p["wo.bias"]
    if cfg.qk_norm:  # Qwen3: the gains act on each head's dims, which the permutation reorders too
        out[dst + "q_norm.weight"] = rope_halves(p["q_norm.weight"], 1)
        out[dst + "k_norm.weight"] = rope_halves(p["k_norm.weight"], 1)
    return out


def _mla(p: dict, dst: str) -> dict:
    names = {"wq": "q_proj", "wq_a": "q_a_proj", "q_norm": "q_a_layernorm", "wq_b": "q_b_proj",
             "wkv_a": "kv_a_proj_with_mqa", "kv_norm": "kv_a_layernorm", "wkv_b": "kv_b_proj", "wo": "o_proj"}
    return {dst + names[k.split(".")[0]] + ".weight": v for k, v in p.items()}


def _swiglu(p: dict, src: str, dst: str) -> dict:
    out = {}
    for ours, theirs in (("w1", "gate_proj"), ("w3", "up_proj"), ("w2", "down_proj")):
        for what in ("weight", "bias"):
            if f"{src}{ours}.{what}" in p:
                out[f"{dst}{theirs}.{what}"] = p[f"{src}{ours}.{what}"]
    return out


def _mixtral_moe(p: dict, dst: str, cfg) -> dict:
    out = {dst + "gate.weight": p["gate.weight"]}
    for e in range(cfg.n_experts):
        for w in ("w1", "w2", "w3"):
            out[f"{dst}experts.{e}.{w}.weight"] = p[f"experts.{e}.{w}.weight"]
    return out


def _qwen_moe(p: dict, dst: str, cfg) -> dict:
    out = {dst + "gate.weight": p["gate.weight"]}
    for e in range(cfg.n_experts):
        out.update(_swiglu(p, f"experts.{e}.", f"{dst}experts.{e}."))
    if cfg.n_shared:  # Qwen2-MoE: one shared expert, n_shared routed experts wide, scaled by a sigmoid gate
        out.update(_swiglu(p, "shared_experts.", dst + "shared_expert."))
        out[dst + "shared_expert_gate.weight"] = p["shared_expert_gate.weight"]
    return out


def _deepseek_moe(p: dict, dst: str, cfg) -> dict:
    import torch
    out = {dst + "gate.weight": p["gate.weight"],
           # the selection bias of auxiliary-loss-free balancing: a buffer in both models
           dst + "gate.e_score_correction_bias": p.get("expert_bias", torch.zeros(cfg.n_experts))}
    for e in range(cfg.n_experts):
        out.update(_swiglu(p, f"experts.{e}.", f"{dst}experts.{e}."))
    out.update(_swiglu(p, "shared_experts.", dst + "shared_experts."))
    return out
