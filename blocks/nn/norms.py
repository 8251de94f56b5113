import torch
import torch.nn as nn
import torch.nn.functional as F


class RMSNorm(nn.Module):
    """llama2.c's RMSNorm: x / sqrt(mean(x²) + eps) · g, computed in float32."""

    def __init__(self, cfg=None, dim: int | None = None, eps: float = 1e-5):
        super().__init__()
        self.dim = cfg.dim if cfg is not None else dim
        self.eps = cfg.eps if cfg is not None else eps
        self.weight = nn.Parameter(torch.ones(self.dim))

    def forward(self, x):
        xf = x.float()
        return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)).type_as(x) * self.weight


class LayerNorm(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.eps = cfg.eps
        self.weight = nn.Parameter(torch.ones(cfg.dim))
        self.bias = nn.Parameter(torch.zeros(cfg.dim)) if cfg.bias else None

    def forward(self, x):
        return F.layer_norm(x, self.weight.shape, self.weight, self.bias, self.eps)
