"""Vision encoder: a ViT image tower and the projector that writes image tokens into the text
stream (Kimi K2.5/K2.6's MoonViT, SigLIP-so400m-shaped, after Kimi-VL arXiv:2504.07491).

On the graph it sits on the stream after the token embedding: a text-only batch passes
through unchanged; ``encode(images)`` turns pixels into (B, N, dim) image tokens that a
multimodal data pipeline would place at the image-placeholder positions. With
``vit_layers == 0`` nothing is built (the classroom scale trains on text only).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


class VisionLayer(nn.Module):
    """Pre-norm ViT layer: LayerNorm → attention (with biases) → add, LayerNorm → GELU MLP → add."""

    def __init__(self, dim: int, heads: int, hidden: int):
        super().__init__()
        self.heads = heads
        self.attention_norm = nn.LayerNorm(dim)
        self.wqkv = nn.Linear(dim, 3 * dim)
        self.wo = nn.Linear(dim, dim)
        self.ffn_norm = nn.LayerNorm(dim)
        self.w1 = nn.Linear(dim, hidden)
        self.w2 = nn.Linear(hidden, dim)

    def forward(self, x):  # (B, N, vit_dim)
        B, N, D = x.shape
        q, k, v = self.wqkv(self.attention_norm(x)).view(B, N, 3, self.heads, D // self.heads).unbind(2)
        q, k, v = (t.transpose(1, 2) for t in (q, k, v))  # (B, nh, N, hd): patches see each other
        y = F.scaled_dot_product_attention(q, k, v)
        x = x + self.wo(y.transpose(1, 2).reshape(B, N, D))
        return x + self.w2(F.gelu(self.w1(self.ffn_norm(x)), approximate="tanh"))


class VisionEncoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        if not cfg.vit_layers:
            return  # not built at this scale: the stream passes through
        vd, p, m = cfg.vit_dim, cfg.patch_size, cfg.merge * cfg.merge * cfg.vit_dim
        self.patch = nn.Conv2d(3, vd, kernel_size=p, stride=p)
        self.positions = nn.Parameter(torch.zeros(cfg.pos_table, vd))
        nn.init.normal_(self.positions, std=0.02)
        self.layers = nn.ModuleList(VisionLayer(vd, cfg.vit_heads, cfg.vit_hidden_dim) for _ in range(cfg.vit_layers))
        self.norm = nn.LayerNorm(vd)
        self.proj_norm = nn.LayerNorm(vd)  # per patch, before the merge (Kimi-VL / K2.5 projector pre_norm)
        self.proj1 = nn.Linear(m, m)
        self.proj2 = nn.Linear(m, cfg.dim)

    def forward(self, x):  # (B, T, dim) text embeddings; no image in a text batch
        return x

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) pixels -> (B, N, dim) image tokens, N = (H/p/merge)·(W/p/merge)."""
        if not self.cfg.vit_layers:
            raise ValueError("this vision encoder is not built at this scale (vit_layers = 0)")
        g = self.patch(images)  # (B, vd, h, w)
        B, D, h, w = g.shape
        side = int(round(self.cfg.pos_table ** 0.5))
        table = self.positions[: side * side].T.reshape(1, D, side, side)
        g = g + F.interpolate(table, size=(h, w), mode="bicubic", align_corners=False)
        x = g.flatten(2).transpose(1, 2)  # (B, h·w, vd)
        for layer in self.layers:
            x = layer(x)
        x = self.proj_norm(self.norm(x))
        r = self.cfg.merge  # pixel shuffle: each r×r block of patches becomes one token of width r²·vd
        x = x.view(B, h // r, r, w // r, r, D).permute(0, 1, 3, 2, 4, 5).reshape(B, (h // r) * (w // r), r * r * D)
        return self.proj2(F.gelu(self.proj1(x)))
