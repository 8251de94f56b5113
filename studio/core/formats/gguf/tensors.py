"""This app's state dict → llama.cpp's tensor names (``blk.N.*``, numpy shapes as gguf-py takes
them), the parts every decoder shares: embedding, output head (absent when tied: llama.cpp reuses
token_embd), the two RMSNorms of each block and its feed-forward — a dense SwiGLU, or a MoE with
its router as ``ffn_gate_inp``, its experts stacked into one (n_experts, ·, ·) tensor per
projection (expert e at [e]) and shared experts as ``*_shexp`` (their sigmoid gate, where they
have one, as ``ffn_gate_inp_shexp``). The attention is the layout's own
(llama.py, qwen.py, deepseek2.py): it gets the block's attention tensors without their prefix."""
from __future__ import annotations

from studio.core.formats.decoder import DENSE
from studio.core.formats.frame import frame_tensors

NAMES = {"tok_embeddings": "token_embd.weight", "norm": "output_norm.weight", "output": "output.weight",
         "attention_norm": "blk.{i}.attn_norm.weight", "ffn_norm": "blk.{i}.ffn_norm.weight"}
SWIGLU = {"w1": "gate", "w3": "up", "w2": "down"}


def gguf_tensors(sd: dict, plan, attention, selection_bias: bool = False) -> dict:
    """{GGUF name: contiguous fp32 tensor}. ``attention(tensors, "blk.N.", attention_config)`` names a
    block's attention; ``selection_bias`` writes each MoE layer's ``exp_probs_b`` (zeros where unused)."""
    ids = plan.ids
    out, norms = frame_tensors(sd, plan, NAMES)
    for i, (tag, cfg) in enumerate(plan.ffn):
        p, b = f"layers.{i}.", f"blk.{i}."
        out.update(norms[i])
        out.update(attention(_under(sd, f"{p}{ids['attention']}."), b, plan.attention))
        ffn = _under(sd, f"{p}{ids['feed_forward']}.")
        out.update(_dense(ffn, b) if tag == DENSE else _experts(ffn, b, cfg, selection_bias))
    return {k: v.detach().float().contiguous() for k, v in out.items()}


def _under(sd: dict, prefix: str) -> dict:
    return {k[len(prefix):]: v for k, v in sd.items() if k.startswith(prefix)}


def _dense(ffn: dict, b: str) -> dict:
    return {f"{b}ffn_{theirs}.weight": ffn[f"{ours}.weight"] for ours, theirs in SWIGLU.items()}


def _experts(ffn: dict, b: str, cfg, selection_bias: bool) -> dict:
    import torch
    out = {b + "ffn_gate_inp.weight": ffn["gate.weight"]}
    if selection_bias:  # DeepSeek's auxiliary-loss-free balancing: added to the scores to pick experts
        out[b + "exp_probs_b.bias"] = ffn.get("expert_bias", torch.zeros(cfg.n_experts))
    for ours, theirs in SWIGLU.items():
        out[f"{b}ffn_{theirs}_exps.weight"] = torch.stack(
            [ffn[f"experts.{e}.{ours}.weight"] for e in range(cfg.n_experts)])
        if cfg.n_shared:
            out[f"{b}ffn_{theirs}_shexp.weight"] = ffn[f"shared_experts.{ours}.weight"]
    if cfg.n_shared and cfg.shared_gate:  # Qwen2-MoE: sigmoid(x · g) scales the shared expert
        out[b + "ffn_gate_inp_shexp.weight"] = ffn["shared_expert_gate.weight"]
    return out
