"""Tiny-config equivalence tests for the building blocks."""

import pytest
import torch

from blocks import configs as C
from blocks.nn.attention import Attention
from blocks.nn.ffn import SwiGLU
from blocks.nn.mla import MLA
from blocks.nn.moe import MoE
from blocks.nn.rope import apply_rope, rope_tables
from blocks.registry import REGISTRY

torch.manual_seed(0)


def test_sdpa_equals_eager_with_window_and_gqa():
    for window, causal in ((0, True), (5, True), (0, False)):
        cfg = C.AttentionConfig(dim=32, n_heads=4, n_kv_heads=2, window=window, causal=causal)
        a = Attention(cfg)
        b = Attention(C.AttentionConfig(**{**cfg.__dict__, "kernel": "eager"}))
        b.load_state_dict(a.state_dict())
        x = torch.randn(2, 11, 32)
        rope = rope_tables(8, 11)
        torch.testing.assert_close(a(x, rope), b(x, rope), atol=1e-5, rtol=1e-5)


def test_eager_returns_causal_weights():
    a = Attention(C.AttentionConfig(dim=16, n_heads=2, kernel="eager"))
    a.capture = True
    a(torch.randn(1, 6, 16))
    w = a.last_weights
    assert w.shape == (1, 2, 6, 6)
    assert torch.allclose(w.sum(-1), torch.ones(1, 2, 6))
    assert float(w.triu(1).abs().sum()) == 0.0


def test_mha_matches_torch_multihead_attention():
    d, nh = 24, 3
    a = Attention(C.AttentionConfig(dim=d, n_heads=nh, n_kv_heads=nh, bias=True))
    ref = torch.nn.MultiheadAttention(d, nh, bias=True, batch_first=True)
    with torch.no_grad():
        ref.in_proj_weight.copy_(torch.cat([a.wq.weight, a.wk.weight, a.wv.weight]))
        ref.in_proj_bias.copy_(torch.cat([a.wq.bias, a.wk.bias, a.wv.bias]))
        ref.out_proj.weight.copy_(a.wo.weight)
        ref.out_proj.bias.copy_(a.wo.bias)
    x = torch.randn(2, 7, d)
    mask = torch.triu(torch.ones(7, 7, dtype=torch.bool), 1)
    torch.testing.assert_close(a(x), ref(x, x, x, attn_mask=mask, need_weights=False)[0], atol=1e-5, rtol=1e-5)


def test_gqa_equals_mha_with_repeated_kv_heads():
    d, nh, nkv = 32, 4, 2
    g = Attention(C.AttentionConfig(dim=d, n_heads=nh, n_kv_heads=nkv))
    m = Attention(C.AttentionConfig(dim=d, n_heads=nh, n_kv_heads=nh))
    hd = d // nh
    with torch.no_grad():
        m.wq.weight.copy_(g.wq.weight)
        m.wo.weight.copy_(g.wo.weight)
        # query head h reads kv head h // (nh / nkv): repeat each kv head's rows
        for src, dst in ((g.wk, m.wk), (g.wv, m.wv)):
            dst.weight.copy_(src.weight.view(nkv, hd, d).repeat_interleave(nh // nkv, 0).reshape(nh * hd, d))
    x = torch.randn(2, 9, d)
    rope = rope_tables(hd, 9)
    torch.testing.assert_close(g(x, rope), m(x, rope), atol=1e-5, rtol=1e-5)


def test_rope_matches_complex_reference():
    hd, T = 16, 13
    x = torch.randn(2, T, 3, hd)
    cos, sin = rope_tables(hd, T, theta=10000.0)
    freqs = 1.0 / (10000.0 ** (torch.arange(0, hd, 2).float() / hd))
    fc = torch.polar(torch.ones(T, hd // 2), torch.outer(torch.arange(T).float(), freqs))
    ref = torch.view_as_real(torch.view_as_complex(x.reshape(2, T, 3, -1, 2)) * fc[None, :, None]).flatten(3)
    torch.testing.assert_close(apply_rope(x, cos, sin), ref, atol=1e-5, rtol=1e-5)


def test_rope_theta_changes_rotation():
    c1, _ = rope_tables(8, 10, 10000.0)
    c2, _ = rope_tables(8, 10, 500000.0)
    assert not torch.allclose(c1, c2)


def test_moe_one_expert_top1_equals_dense_swiglu():
    moe = MoE(C.MoEConfig(dim=16, n_experts=1, top_k=1, expert_hidden_dim=24, aux_loss_weight=0.0))
    dense = SwiGLU(C.SwiGLUConfig(dim=16, hidden_dim=24))
    dense.load_state_dict({k.split(".", 2)[-1]: v for k, v in moe.state_dict().items() if k.startswith("experts.0.")})
    x = torch.randn(3, 5, 16)
    torch.testing.assert_close(moe(x), dense(x), atol=1e-6, rtol=1e-5)


def test_moe_routes_every_token_and_counts_them():
    cfg = C.MoEConfig(dim=16, n_experts=6, top_k=2, expert_hidden_dim=8, n_shared=1)
    moe = MoE(cfg).train()
    x = torch.randn(2, 10, 16)
    y = moe(x)
    assert y.shape == x.shape
    assert int(moe.tokens_per_expert.sum()) == 2 * 10 * 2
    assert moe.aux_loss is not None and float(moe.aux_loss.detach()) > 0
    y.sum().backward()
    assert moe.gate.weight.grad is not None and moe.gate.weight.grad.abs().sum() > 0


def test_moe_matches_naive_loop():
    cfg = C.MoEConfig(dim=8, n_experts=4, top_k=2, expert_hidden_dim=12, score="sigmoid")
    moe = MoE(cfg).eval()
    x = torch.randn(1, 7, 8)
    y = moe(x)
    xf = x.view(-1, 8)
    s = torch.sigmoid(moe.gate(xf))
    idx = s.topk(2, -1).indices
    w = s.gather(-1, idx)
    w = w / w.sum(-1, keepdim=True)
    ref = torch.stack([sum(w[t, j] * moe.experts[int(idx[t, j])](xf[t:t + 1])[0] for j in range(2)) for t in range(7)])
    torch.testing.assert_close(y.view(-1, 8), ref, atol=1e-5, rtol=1e-5)


def test_aux_free_bias_moves_toward_balance():
    cfg = C.MoEConfig(dim=8, n_experts=4, top_k=1, expert_hidden_dim=8, score="sigmoid",
                      bias_balancing=True, bias_update_rate=0.01, aux_loss_weight=0.0)
    moe = MoE(cfg).train()
    with torch.no_grad():
        moe.gate.weight.zero_()
        moe.gate.weight[0] += 1.0  # everyone prefers expert 0 on positive inputs
    x = torch.rand(1, 64, 8)
    moe(x)
    assert moe.expert_bias[0] < 0 and (moe.expert_bias[1:] > 0).all()
    assert "expert_bias" in moe.state_dict()


def test_mla_cached_latent_path_equals_uncached():
    cfg = C.MLAConfig(dim=32, n_heads=4, q_lora_rank=16, kv_lora_rank=8, qk_nope_head_dim=8,
                      qk_rope_head_dim=4, v_head_dim=8)
    mla = MLA(cfg).eval()
    x = torch.randn(2, 9, 32)
    rope = rope_tables(4, 9)
    full = mla(x, rope)
    cache, outs = {}, []
    for t0, t1 in ((0, 4), (4, 5), (5, 9)):
        outs.append(mla.forward_cached(x[:, t0:t1], rope, cache, t0))
    torch.testing.assert_close(torch.cat(outs, 1), full, atol=1e-5, rtol=1e-4)
    assert cache["c_kv"].shape == (2, 9, 8) and cache["k_pe"].shape == (2, 9, 1, 4)


def test_mla_without_q_lora_and_sdpa_equals_eager():
    cfg = C.MLAConfig(dim=32, n_heads=2, q_lora_rank=0, kv_lora_rank=8, qk_nope_head_dim=8, qk_rope_head_dim=4, v_head_dim=6)
    a, b = MLA(cfg), MLA(C.MLAConfig(**{**cfg.__dict__, "kernel": "eager"}))
    b.load_state_dict(a.state_dict())
    x = torch.randn(1, 5, 32)
    rope = rope_tables(4, 5)
    torch.testing.assert_close(a(x, rope), b(x, rope), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("kind", sorted(REGISTRY))
def test_every_block_param_formula_matches_module(kind):
    spec = REGISTRY[kind]
    cfg = spec.config_cls()
    if kind == "moe":
        cfg = C.MoEConfig(n_shared=2, expert="relu", expert_bias=True)
    m = spec.module_class()(cfg)
    n = sum(p.numel() for p in m.parameters())
    if kind == "mtp":
        n += 0  # the inner block is attached by the compiler and counted by accounting
    assert spec.params(cfg) == n, kind
    assert spec.summary and spec.title and spec.family


def test_configs_reject_impossible_values():
    assert C.AttentionConfig(dim=30, n_heads=4).check()
    assert C.AttentionConfig(dim=32, n_heads=6, n_kv_heads=4, head_dim=8).check()
    assert C.MoEConfig(n_experts=4, top_k=6).check()
    assert C.RopeConfig(head_dim=7).check()
    assert C.MLPConfig(activation="tanh").check()
    assert not C.AttentionConfig(dim=32, n_heads=4, n_kv_heads=2).check()
    assert C.AttentionConfig(dim=2560, n_heads=32, head_dim=128).warnings()  # GPT-3 XL style
