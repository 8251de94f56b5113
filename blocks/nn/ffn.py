"""Feed-forward blocks. Names follow llama2.c: w1 (gate / up), w2 (down), w3 (up)."""
import torch.nn as nn
import torch.nn.functional as F


class MLP(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.act = F.gelu if cfg.activation == "gelu" else F.relu
        self.w1 = nn.Linear(cfg.dim, cfg.hidden_dim, bias=cfg.bias)
        self.w2 = nn.Linear(cfg.hidden_dim, cfg.dim, bias=cfg.bias)

    def forward(self, x):  # (B, T, dim) -> (B, T, hidden) -> (B, T, dim)
        return self.w2(self.act(self.w1(x)))


class SwiGLU(nn.Module):
    def __init__(self, cfg=None, dim: int = 0, hidden_dim: int = 0, bias: bool = False):
        super().__init__()
        self.cfg = cfg  # the compiler reads zero_init_output from it (modded-llama2.c zero-inits w2)
        if cfg is not None:
            dim, hidden_dim, bias = cfg.dim, cfg.hidden_dim, cfg.bias
        self.w1 = nn.Linear(dim, hidden_dim, bias=bias)
        self.w2 = nn.Linear(hidden_dim, dim, bias=bias)
        self.w3 = nn.Linear(dim, hidden_dim, bias=bias)

    def forward(self, x):
        return self.w2(F.silu(self.w1(x)) * self.w3(x))
