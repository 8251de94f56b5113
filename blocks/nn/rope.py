"""RoPE in llama2.c's convention: adjacent pairs (x[2j], x[2j+1]) rotate by pos·θ^(-2j/hd)."""
import math

import torch


def yarn_frequencies(freqs: torch.Tensor, head_dim: int, theta: float, factor: float, original_context: int,
                     beta_fast: float, beta_slow: float) -> torch.Tensor:
    """YaRN's NTK-by-parts interpolation (Peng et al. 2023, as in DeepSeek-V3's and Kimi K2's
    reference code): pairs that turn fewer than ``beta_slow`` times over the original context are
    slowed by ``factor``, pairs that turn more than ``beta_fast`` times are kept, a linear ramp
    blends the ones between."""
    def pair_index(turns: float) -> float:  # the pair index that turns ``turns`` times over the original context
        return head_dim * math.log(original_context / (turns * 2 * math.pi)) / (2 * math.log(theta))
    low = max(math.floor(pair_index(beta_fast)), 0)
    high = min(math.ceil(pair_index(beta_slow)), head_dim - 1)
    if low == high:
        high += 0.001  # a step, not a division by zero (Kimi K2: beta_fast = beta_slow = 1)
    ramp = ((torch.arange(head_dim // 2, dtype=torch.float64) - low) / (high - low)).clamp(0, 1)
    return freqs / factor * ramp + freqs * (1 - ramp)


def llama3_frequencies(freqs: torch.Tensor, factor: float, original_context: int, low_freq_factor: float,
                       high_freq_factor: float) -> torch.Tensor:
    """Llama 3.1's RoPE scaling (its reference code, apply_scaling): pairs whose wavelength is
    longer than original_context / low_freq_factor are slowed by ``factor``, shorter than
    original_context / high_freq_factor kept, the ones between blended by how often they turn."""
    wavelength = 2 * math.pi / freqs
    turns = original_context / wavelength
    smooth = ((turns - low_freq_factor) / (high_freq_factor - low_freq_factor)).clamp(0, 1)
    return freqs / factor * (1 - smooth) + freqs * smooth


def rope_tables(head_dim: int, context: int, theta: float = 10000.0, yarn_factor: float = 0.0,
                yarn_original_context: int = 4096, yarn_beta_fast: float = 32.0,
                yarn_beta_slow: float = 1.0, llama3: tuple[float, int, float, float] | None = None,
                ) -> tuple[torch.Tensor, torch.Tensor]:
    """cos/sin tables; ``yarn_factor`` > 1 stretches them by YaRN, ``llama3`` = (factor,
    original context, low_freq_factor, high_freq_factor) with a factor > 1 by Llama 3's scaling."""
    freqs = 1.0 / (theta ** (torch.arange(0, head_dim, 2)[: head_dim // 2].double() / head_dim))
    if yarn_factor > 1:
        freqs = yarn_frequencies(freqs, head_dim, theta, yarn_factor, yarn_original_context, yarn_beta_fast,
                                 yarn_beta_slow)
    if llama3 and llama3[0] > 1:
        freqs = llama3_frequencies(freqs, *llama3)
    angles = torch.outer(torch.arange(context, dtype=torch.float64), freqs)  # (T, hd/2)
    return angles.cos().float(), angles.sin().float()


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """x: (B, T, H, hd); cos/sin: (T, hd/2). Rotates each adjacent pair like a complex number."""
    xr = x.float().reshape(*x.shape[:-1], -1, 2)  # (B, T, H, hd/2, 2)
    x0, x1 = xr.unbind(-1)
    c, s = cos[None, :, None, :], sin[None, :, None, :]
    out = torch.stack((x0 * c - x1 * s, x0 * s + x1 * c), dim=-1)
    return out.flatten(-2).type_as(x)
