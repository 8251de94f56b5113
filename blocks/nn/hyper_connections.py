"""Manifold-constrained hyper-connections (mHC; Xie et al. 2026; DeepSeek-V4 §2.2).

The residual stream becomes ``hc_mult`` (n) parallel streams, x: (B, T, n, dim). Around every
sub-block (attention, feed-forward) three maps are read off the streams themselves, from the
flattened and RMS-normalised (B, T, n·dim) vector through one linear layer each:

    pre   (n)    sigmoid(·) + eps            collapses the n streams into the sub-block's input
    post  (n)    2 · sigmoid(·)              spreads the sub-block's output back over the streams
    comb  (n×n)  Sinkhorn(softmax(·) + eps)  mixes the streams; doubly stochastic, so the mix
                                             neither amplifies nor shrinks the stream (spectral norm ≤ 1)

    x_next = post ⊗ f(Σ_i pre_i x_i) + combᵀ x

The reference code computes pre, post and comb from one (2+n)·n × n·dim matrix. Here the
collapse (pre) and the mix (post, comb) are separate blocks, each with its own rows of that matrix:
the same function and the same parameter count, drawn where each acts. ``HCCollapse`` is also
V4's final head (``hc_head``) that turns the n streams back into one before the last norm.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


def weightless_rms(x: torch.Tensor, eps: float) -> torch.Tensor:
    xf = x.float()
    return xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + eps)


def sinkhorn(m: torch.Tensor, iters: int, eps: float) -> torch.Tensor:
    """Alternately normalise columns and rows of positive (…, n, n) matrices (Sinkhorn-Knopp)."""
    m = m / (m.sum(dim=-2, keepdim=True) + eps)
    for _ in range(iters - 1):
        m = m / (m.sum(dim=-1, keepdim=True) + eps)
        m = m / (m.sum(dim=-2, keepdim=True) + eps)
    return m


class HCExpand(nn.Module):
    """(B, T, dim) -> (B, T, n, dim): the embedding copied into every stream (no parameters)."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg

    def forward(self, x):
        return x.unsqueeze(2).expand(-1, -1, self.cfg.hc_mult, -1).contiguous()


class HCCollapse(nn.Module):
    """(B, T, n, dim) -> (B, T, dim): Σ_i pre_i · x_i with pre read off the streams."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = c = cfg
        self.fn = nn.Parameter(torch.randn(c.hc_mult, c.hc_mult * c.dim) * 0.02)
        self.base = nn.Parameter(torch.zeros(c.hc_mult))
        self.scale = nn.Parameter(torch.ones(1))

    def forward(self, x):
        c = self.cfg
        B, T, n, D = x.shape
        flat = weightless_rms(x.reshape(B, T, n * D), c.eps)  # (B, T, n·dim)
        pre = torch.sigmoid(F.linear(flat, self.fn.float()).float() * self.scale + self.base) + c.hc_eps  # (B, T, n)
        return (pre.unsqueeze(-1) * x.float()).sum(dim=2).type_as(x)


class HCMix(nn.Module):
    """Streams x (B, T, n, dim) and sub-block output y (B, T, dim) -> post ⊗ y + combᵀ x."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = c = cfg
        n = c.hc_mult
        self.fn = nn.Parameter(torch.randn(n + n * n, n * c.dim) * 0.02)
        self.base = nn.Parameter(torch.zeros(n + n * n))
        self.scale = nn.Parameter(torch.ones(2))
        self.last_comb = None  # (B, T, n, n) after a captured forward, for inspection
        self.capture = False

    def maps(self, x):
        """post (B, T, n) and the doubly stochastic comb (B, T, n, n) for streams x."""
        c, n = self.cfg, self.cfg.hc_mult
        B, T = x.shape[:2]
        flat = weightless_rms(x.reshape(B, T, -1), c.eps)
        post_w, comb_w = F.linear(flat, self.fn.float()).float().split([n, n * n], dim=-1)
        post = 2 * torch.sigmoid(post_w * self.scale[0] + self.base[:n])
        comb = torch.softmax(comb_w.view(B, T, n, n) * self.scale[1] + self.base[n:].view(n, n), dim=-1) + c.hc_eps
        return post, sinkhorn(comb, c.hc_sinkhorn_iters, c.hc_eps)

    def forward(self, x, y):
        post, comb = self.maps(x)
        if self.capture:
            self.last_comb = comb.detach()
        # stream k after the block: post_k · y + Σ_j comb[j, k] · x_j
        mixed = torch.einsum("btjk,btjd->btkd", comb, x.float())
        return (post.unsqueeze(-1) * y.float().unsqueeze(2) + mixed).type_as(x)
