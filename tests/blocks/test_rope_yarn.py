"""YaRN on the RoPE block (issue 25): DeepSeek-V2/V3 stretch RoPE ×40, Kimi K2 ×32 and K2.5/K2.6
×64 from a 4,096-token pretraining context (their released config.json rope_scaling)."""
import math

import torch

from blocks.configs import RopeConfig
from blocks.nn.embeddings import Rope
from blocks.nn.rope import rope_tables


def _freqs(cos_sin, step=1):
    """The angle each pair turns per position, read back from the tables."""
    cos, sin = cos_sin
    return torch.atan2(sin[step], cos[step]).double()


def test_no_yarn_is_plain_rope():
    plain = rope_tables(64, 4, 10000.0)
    for t, u in zip(plain, rope_tables(64, 4, 10000.0, yarn_factor=0.0)):
        assert torch.equal(t, u)
    for t, u in zip(plain, rope_tables(64, 4, 10000.0, yarn_factor=1.0)):
        assert torch.equal(t, u)


def test_yarn_keeps_fast_pairs_and_slows_slow_pairs_by_the_factor():
    hd, theta, factor, orig = 64, 10000.0, 40.0, 4096  # DeepSeek-V3: beta_fast 32, beta_slow 1
    base = 1.0 / theta ** (torch.arange(0, hd, 2).double() / hd)
    got = _freqs(rope_tables(hd, 2, theta, factor, orig, 32.0, 1.0))
    turns = base * orig / (2 * math.pi)  # turns of each pair over the pretraining context
    fast, slow = turns > 32, turns < 1
    assert fast.any() and slow.any() and (~fast & ~slow).any()  # some pairs are blended
    assert torch.allclose(got[fast], base[fast], rtol=1e-5)
    assert torch.allclose(got[slow], base[slow] / factor, rtol=1e-5)
    mid = ~fast & ~slow
    assert ((got[mid] <= base[mid] * (1 + 1e-6)) & (got[mid] >= base[mid] / factor * (1 - 1e-6))).all()


def test_kimi_k2s_equal_betas_make_a_step_not_a_ramp():
    hd, theta, factor = 64, 50000.0, 32.0  # Kimi K2: beta_fast = beta_slow = 1
    base = 1.0 / theta ** (torch.arange(0, hd, 2).double() / hd)
    got = _freqs(rope_tables(hd, 2, theta, factor, 4096, 1.0, 1.0))
    ratio = (base / got).tolist()
    assert all(abs(r - 1) < 1e-4 or abs(r - factor) < 1e-3 * factor for r in ratio)
    assert any(abs(r - 1) < 1e-4 for r in ratio) and any(abs(r - factor) < 1e-3 * factor for r in ratio)


def test_the_block_reads_yarn_from_its_config():
    cfg = RopeConfig(head_dim=16, theta=50000.0, context=8, yarn_factor=32.0, yarn_beta_fast=1.0, yarn_beta_slow=1.0)
    cos, _ = Rope(cfg)(8)
    want, _ = rope_tables(16, 8, 50000.0, 32.0, 4096, 1.0, 1.0)
    assert torch.equal(cos, want) and not torch.equal(cos, rope_tables(16, 8, 50000.0)[0])


def test_llama3_scaling_matches_its_reference_rule():
    """Llama 3.1 (config.json rope_scaling: llama3, factor 8, low 1, high 4, from 8192): pairs
    with a wavelength above 8192 tokens slowed ×8, below 2048 kept, blended between."""
    hd, theta, factor, orig, low, high = 128, 500000.0, 8.0, 8192, 1.0, 4.0
    base = 1.0 / theta ** (torch.arange(0, hd, 2).double() / hd)
    got = _freqs(rope_tables(hd, 2, theta, llama3=(factor, orig, low, high)))
    want = []
    for f in base.tolist():  # the rule as Meta's apply_scaling writes it, pair by pair
        wavelen = 2 * math.pi / f
        if wavelen < orig / high:
            want.append(f)
        elif wavelen > orig / low:
            want.append(f / factor)
        else:
            smooth = (orig / wavelen - low) / (high - low)
            want.append((1 - smooth) * f / factor + smooth * f)
    assert torch.allclose(got, torch.tensor(want, dtype=torch.float64), rtol=1e-5)
    assert torch.equal(rope_tables(hd, 2, theta, llama3=(0.0, orig, low, high))[0], rope_tables(hd, 2, theta)[0])
