"""What one llama.cpp architecture needs from this app: its name, how a block's attention tensors
are named and laid out, and its metadata. Everything else (embedding, norms, feed-forward,
vocabulary, the file itself) is written the same way for every architecture."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Layout:
    arch: str  # llama.cpp's architecture name (general.architecture and the metadata key prefix)
    attention: Callable  # (attention tensors without prefix, "blk.N.", attention config) -> {name: tensor}
    hparams: Callable  # (plan, gguf module) -> {GGUFWriter adder without "add_": value}
    selection_bias: bool = False  # MoE layers carry exp_probs_b (DeepSeek's bias-corrected routing)
