"""Inputs, token embeddings and the three positional schemes of the timeline."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from blocks.nn.rope import rope_tables


class InputTokens(nn.Module):
    """Marks where token ids enter; the graph interpreter feeds it directly."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg


class TokenEmbedding(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.weight = nn.Parameter(torch.empty(cfg.vocab_size, cfg.dim))
        nn.init.normal_(self.weight, std=0.02)

    def forward(self, tokens):  # (B, T) -> (B, T, dim)
        x = F.embedding(tokens, self.weight)
        return x * math.sqrt(self.cfg.dim) if self.cfg.scale else x


class LearnedPositions(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(cfg.context, cfg.dim))
        nn.init.normal_(self.weight, std=0.02)

    def forward(self, x):  # (B, T, dim)
        return x + self.weight[: x.shape[1]]


class SinusoidalPositions(nn.Module):
    def __init__(self, cfg, context: int = 4096):
        super().__init__()
        pos = torch.arange(context).float()[:, None]
        div = torch.exp(torch.arange(0, cfg.dim, 2).float() * (-math.log(10000.0) / cfg.dim))
        pe = torch.zeros(context, cfg.dim)
        pe[:, 0::2], pe[:, 1::2] = torch.sin(pos * div), torch.cos(pos * div)
        self.register_buffer("pe", pe, persistent=False)

    def forward(self, x):
        return x + self.pe[: x.shape[1]]


class Rope(nn.Module):
    """Produces the (cos, sin) tables once per forward; attention blocks apply them."""

    def __init__(self, cfg):
        super().__init__()
        cos, sin = rope_tables(cfg.head_dim, cfg.context, cfg.theta, cfg.yarn_factor, cfg.yarn_original_context,
                               cfg.yarn_beta_fast, cfg.yarn_beta_slow,
                               (cfg.llama3_factor, cfg.llama3_original_context, cfg.llama3_low_freq_factor,
                                cfg.llama3_high_freq_factor))
        self.register_buffer("cos", cos, persistent=False)
        self.register_buffer("sin", sin, persistent=False)

    def forward(self, T: int):
        return self.cos[:T], self.sin[:T]
