"""RoPE in llama2.c's convention: adjacent pairs (x[2j], x[2j+1]) rotate by pos·θ^(-2j/hd)."""
import torch


def rope_tables(head_dim: int, context: int, theta: float = 10000.0) -> tuple[torch.Tensor, torch.Tensor]:
    freqs = 1.0 / (theta ** (torch.arange(0, head_dim, 2)[: head_dim // 2].double() / head_dim))
    angles = torch.outer(torch.arange(context, dtype=torch.float64), freqs)  # (T, hd/2)
    return angles.cos().float(), angles.sin().float()


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """x: (B, T, H, hd); cos/sin: (T, hd/2). Rotates each adjacent pair like a complex number."""
    xr = x.float().reshape(*x.shape[:-1], -1, 2)  # (B, T, H, hd/2, 2)
    x0, x1 = xr.unbind(-1)
    c, s = cos[None, :, None, :], sin[None, :, None, :]
    out = torch.stack((x0 * c - x1 * s, x0 * s + x1 * c), dim=-1)
    return out.flatten(-2).type_as(x)
