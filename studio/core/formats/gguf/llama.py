"""llama.cpp's ``llama`` architecture: the LLaMA family and Mixtral-style MoE. llama.cpp rotates
adjacent pairs (RoPE "normal") for it, as this app does, so q and k are written exactly as
trained — not in the half-split order the Hugging Face export needs."""
from __future__ import annotations

from studio.core.formats.gguf.hparams import grouped_attention_hparams, model_hparams
from studio.core.formats.gguf.layout import Layout

ATTENTION = {"wq": "attn_q", "wk": "attn_k", "wv": "attn_v", "wo": "attn_output"}


def llama_attention(attn: dict, b: str, cfg) -> dict:
    return {f"{b}{theirs}.weight": attn[f"{ours}.weight"] for ours, theirs in ATTENTION.items()}


def llama_hparams(plan, gguf) -> dict:
    return {**model_hparams(plan), **grouped_attention_hparams(plan.attention)}


LLAMA = Layout("llama", llama_attention, llama_hparams)
