"""DeepSeek-V4 against the reference ``transformers`` implementation (DeepseekV4, transformers 5.25).

The blocks compute the same functions as the reference modules with the same weights (attention in
each of its three modes, the mHC hyper-connection), and the milestone's paper-scale graph has
exactly the parameters the reference model has for V4-Pro's and V4-Flash's config.json."""
import pytest
import torch

from blocks import configs_v4 as V
from blocks.nn.compressed_attention import CompressedAttention
from blocks.nn.hyper_connections import HCCollapse, HCMix
from blocks.nn.rope import rope_tables
from studio.core.files.presets import load_preset
from studio.core.model.accounting import account
from test_deepseek_v4_figures import flash_arch

pytest.importorskip("transformers", reason="the 'export' extra is part of the test extra")
from transformers import DeepseekV4Config, DeepseekV4ForCausalLM  # noqa: E402
from transformers.masking_utils import create_sliding_window_causal_mask  # noqa: E402
from transformers.models.deepseek_v4 import modeling_deepseek_v4 as R  # noqa: E402

PRO = dict(hidden_size=7168, num_hidden_layers=61, num_attention_heads=128, q_lora_rank=1536, o_groups=16,
           o_lora_rank=1024, index_n_heads=64, index_head_dim=128, index_topk=1024, n_routed_experts=384,
           moe_intermediate_size=3072, num_experts_per_tok=6, routed_scaling_factor=2.5, num_hash_layers=3,
           qk_rope_head_dim=64, compress_ratios=[128, 128] + [4, 128] * 29 + [4, 0])  # config.json's 62 entries
FLASH = dict(num_hash_layers=3, qk_rope_head_dim=64, compress_ratios=[0, 0] + [4, 128] * 20 + [4, 0])  # the defaults are Flash's
TOY = dict(hidden_size=32, num_attention_heads=4, head_dim=16, qk_rope_head_dim=8, q_lora_rank=16, o_groups=2,
           o_lora_rank=8, sliding_window=6, index_n_heads=2, index_head_dim=8, index_topk=2, num_hidden_layers=1,
           vocab_size=64, n_routed_experts=4, num_experts_per_tok=2, moe_intermediate_size=16,
           compress_rope_theta=10000.0, compress_rates={"compressed_sparse_attention": 4, "heavily_compressed_attention": 8})
LAYER_TYPE = {"sliding": "sliding_attention", "csa": "compressed_sparse_attention", "hca": "heavily_compressed_attention"}


def _reference_counts(kw):
    cfg = DeepseekV4Config(**kw)
    with torch.device("meta"):
        model = DeepseekV4ForCausalLM(cfg)
    total = sum(p.numel() for p in model.parameters())
    experts = sum(p.numel() for n, p in model.named_parameters() if ".mlp.experts." in n)
    return total, total - experts + experts * cfg.num_experts_per_tok // cfg.n_routed_experts


@pytest.mark.parametrize("which", ["pro", "flash"])
def test_paper_scale_counts_equal_the_reference_model(which):
    arch = load_preset("2026-04-deepseek-v4") if which == "pro" else flash_arch()
    acc = account(arch, "paper")
    assert (acc.params_total, acc.params_active) == _reference_counts(PRO if which == "pro" else FLASH)


def _copy(dst, src):
    with torch.no_grad():
        dst.copy_(src.detach().reshape(dst.shape))


def _load_attention(ours, ref):
    pairs = [("wq_a.weight", "q_a_proj.weight"), ("q_norm.weight", "q_a_norm.weight"), ("wq_b.weight", "q_b_proj.weight"),
             ("wkv.weight", "kv_proj.weight"), ("kv_norm.weight", "kv_norm.weight"), ("wo_a.weight", "o_a_proj.weight"),
             ("wo_b.weight", "o_b_proj.weight"), ("sinks", "sinks")]
    comp = [("wkv.weight", "kv_proj.weight"), ("wgate.weight", "gate_proj.weight"), ("ape", "position_bias"),
            ("norm.weight", "kv_norm.weight")]
    pairs += [(f"compressor.{a}", f"compressor.{b}") for a, b in comp]
    pairs += [(f"indexer.compressor.{a}", f"compressor.indexer.{b}") for a, b in comp]
    pairs += [("indexer.wq_b.weight", "compressor.indexer.q_b_proj.weight"),
              ("indexer.weights_proj.weight", "compressor.indexer.scorer.weights_proj.weight")]
    mine, theirs = dict(ours.named_parameters()), dict(ref.named_parameters())
    used = set()
    for a, b in pairs:
        if a in mine:
            _copy(mine[a], theirs[b])
            used |= {a, b}
    assert set(mine) <= used and set(theirs) <= used  # every weight has its counterpart


@pytest.mark.parametrize("mode", ["sliding", "csa", "hca"])
def test_compressed_attention_equals_the_reference_attention(mode):
    torch.manual_seed(0)
    cfg = DeepseekV4Config(**TOY, layer_types=[LAYER_TYPE[mode]], rms_norm_eps=1e-6)
    cfg._attn_implementation = "eager"
    model = DeepseekV4ForCausalLM(cfg).eval()
    ref = model.model.layers[0].self_attn
    with torch.no_grad():  # the reference initialises these to zero: make them matter
        ref.sinks.normal_()
        for p in (p for n, p in ref.named_parameters() if n.endswith("position_bias")):
            p.normal_()
    ratio = cfg.compress_rates.get(LAYER_TYPE[mode], 1)
    ours = CompressedAttention(V.CompressedAttentionConfig(
        dim=32, n_heads=4, head_dim=16, rope_head_dim=8, q_lora_rank=16, o_groups=2, o_lora_rank=8, sliding_window=6,
        mode=mode, compress_ratio=ratio, index_n_heads=2, index_head_dim=8, index_topk=2, eps=1e-6)).eval()
    _load_attention(ours, ref)
    T = 37
    x = torch.randn(2, T, 32)
    pos = torch.arange(T)[None]
    rope_type = "main" if mode == "sliding" else "compress"
    pe = {k: model.model.rotary_emb(x, position_ids=pos, layer_type=k) for k in ("main", "compress")}
    mask = create_sliding_window_causal_mask(config=cfg, inputs_embeds=x, attention_mask=None, cache=None, position_ids=pos)
    with torch.no_grad():
        want, _ = ref(x, position_embeddings=pe, position_ids=pos, attention_mask=mask)
        got = ours(x, rope_tables(8, T))
    assert pe[rope_type][0].shape[-1] == 4
    torch.testing.assert_close(got, want, atol=2e-5, rtol=2e-4)


def test_hyper_connection_blocks_equal_the_reference_hyper_connection():
    torch.manual_seed(0)
    cfg = DeepseekV4Config(**TOY)
    ref = R.DeepseekV4HyperConnection(cfg)
    with torch.no_grad():
        ref.fn.normal_(std=0.05)
        ref.base.normal_()
        ref.scale.normal_()
    hc = V.HyperConnectionConfig(dim=32, hc_mult=4, eps=cfg.rms_norm_eps)
    collapse, mix = HCCollapse(hc), HCMix(hc)
    n = 4
    _copy(collapse.fn, ref.fn[:n])
    _copy(collapse.base, ref.base[:n])
    _copy(collapse.scale, ref.scale[:1])
    _copy(mix.fn, ref.fn[n:])
    _copy(mix.base, ref.base[n:])
    _copy(mix.scale, ref.scale[1:])
    x = torch.randn(2, 5, n, 32)
    y = torch.randn(2, 5, 32)
    post, comb, collapsed = ref(x)
    want = post.unsqueeze(-1) * y.unsqueeze(-2) + torch.matmul(comb.transpose(-1, -2), x)  # the decoder layer's use
    with torch.no_grad():
        torch.testing.assert_close(collapse(x), collapsed, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(mix(x, y), want, atol=1e-5, rtol=1e-5)


def test_clamped_swiglu_expert_equals_the_reference_expert():
    from blocks.nn.moe import Expert
    torch.manual_seed(0)
    cfg = DeepseekV4Config(**TOY, swiglu_limit=0.5)
    ref = R.DeepseekV4MLP(cfg)  # the shared expert: gate_proj / up_proj / down_proj, clamped
    ours = Expert(32, 16, "swiglu", False, limit=0.5)
    for a, b in (("w1", "gate_proj"), ("w3", "up_proj"), ("w2", "down_proj")):
        _copy(getattr(ours, a).weight, getattr(ref, b).weight)
    x = 3 * torch.randn(7, 32)  # large enough for the clamp to bite
    with torch.no_grad():
        torch.testing.assert_close(ours(x), ref(x), atol=1e-6, rtol=1e-5)
        unclamped = Expert(32, 16, "swiglu", False)
        unclamped.load_state_dict(ours.state_dict())
        assert not torch.allclose(unclamped(x), ref(x))


def test_the_rope_node_rotates_as_the_reference_compressed_layers_do():
    """V4-Pro compresses in every layer: all rotate by compress_rope_theta 160000 with YaRN ×16 from 64K."""
    from studio.core.model.resolve import resolve
    rope = resolve(load_preset("2026-04-deepseek-v4"), "paper").require().node("rope").config
    T = 2048  # the reference's angles are fp32: ~1e-4 off by position 2000, as any fp32 table
    ours = rope_tables(rope.head_dim, T, rope.theta, rope.yarn_factor, rope.yarn_original_context,
                       rope.yarn_beta_fast, rope.yarn_beta_slow)
    cfg = DeepseekV4Config(**PRO, rope_scaling={"type": "yarn", "factor": 16, "original_max_position_embeddings": 65536,
                                                "beta_fast": 32, "beta_slow": 1})
    ref = R.DeepseekV4RotaryEmbedding(cfg)(torch.zeros(1), torch.arange(T)[None], layer_type="compress")
    for a, b in zip(ours, ref):
        torch.testing.assert_close(a, b[0], atol=2e-4, rtol=0)  # fp32 angles in the reference
