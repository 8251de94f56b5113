"""The vision encoder (Kimi K2.6's MoonViT) and cross-attention with an explicit head width."""
import torch

from blocks import configs as C
from blocks.nn.attention import CrossAttention
from blocks.nn.vision import VisionEncoder
from blocks.registry import get_spec


def test_vision_encoder_turns_pixels_into_stream_tokens_and_counts_exactly():
    cfg = C.VisionEncoderConfig(dim=48, vit_dim=16, vit_layers=2, vit_heads=2, vit_hidden_dim=24,
                                patch_size=4, pos_table=16, merge=2)
    m = VisionEncoder(cfg)
    assert sum(p.numel() for p in m.parameters()) == get_spec("vision_encoder").params(cfg)
    tokens = m.encode(torch.randn(2, 3, 32, 24))  # 8 × 6 patches, merged 2 × 2 → 4 × 3 tokens
    assert tokens.shape == (2, 12, 48)
    tokens.sum().backward()
    assert all(p.grad is not None for p in m.parameters())
    x = torch.randn(2, 5, 48)
    assert m(x) is x  # a text-only batch passes through


def test_vision_encoder_at_moonvit_shape_is_about_400m_and_not_built_with_zero_layers():
    spec = get_spec("vision_encoder")
    moonvit = C.VisionEncoderConfig(dim=7168, vit_dim=1152, vit_layers=27, vit_heads=16, vit_hidden_dim=4304,
                                    patch_size=14, pos_table=4096, merge=2)
    m = 4 * 1152  # 2 × 2 merged patches
    projector = 2 * 1152 + m * m + m + m * 7168 + 7168  # the pre-norm is per patch (1152 wide), before the merge
    tower = spec.params(moonvit) - projector
    assert 0.40e9 < tower < 0.42e9  # the card's "400M" MoonViT (SigLIP-so400m shape, 64 × 64 position table)
    assert spec.params(moonvit) == 471_143_920  # K2.5/K2.6's released vision tower + projector: 471.1M
    assert spec.active_params(moonvit) == 0  # it runs once per image, not per text token
    off = C.VisionEncoderConfig(dim=64, vit_layers=0)
    assert spec.params(off) == 0 and not list(VisionEncoder(off).parameters())


def test_cross_attention_head_dim_widens_the_projections_and_the_formula_follows():
    cfg = C.CrossAttentionConfig(dim=32, n_heads=4, head_dim=16, bias=True)
    m = CrossAttention(cfg)
    assert m.wk.weight.shape == (64, 32) and m.wo.weight.shape == (32, 64)
    assert sum(p.numel() for p in m.parameters()) == get_spec("cross_attention").params(cfg)
    y = m(torch.randn(2, 3, 32), torch.randn(2, 7, 32))
    assert y.shape == (2, 3, 32)
