"""DeepSeek-V4's blocks at toy size: what each one promises, checked on tensors.

Compressed attention is causal in every mode and a CSA query reads at most index_topk finished
entries; a CSA entry pools two windows, an HCA entry one; mHC's mixing matrix is doubly
stochastic and the collapse + mix blocks are the paper's one-matrix formula; hash routing is a
fixed function of the token id. (The comparison with the reference ``transformers`` modules is in
tests/core/test_deepseek_v4_reference.py.)"""
import pytest
import torch

from blocks import configs_v4 as V
from blocks.nn.compressed_attention import CompressedAttention, Compressor, LightningIndexer
from blocks.nn.hash_moe import HashMoE
from blocks.nn.hyper_connections import HCCollapse, HCMix, sinkhorn, weightless_rms
from blocks.nn.rope import rope_tables
from blocks.registry import get_spec

torch.manual_seed(0)
MODES = {"sliding": 4, "csa": 4, "hca": 8}


def _attention(mode):
    cfg = V.CompressedAttentionConfig(dim=32, n_heads=4, head_dim=16, rope_head_dim=8, q_lora_rank=16, o_groups=2,
                                      o_lora_rank=8, sliding_window=6, mode=mode, compress_ratio=MODES[mode],
                                      index_n_heads=2, index_head_dim=8, index_topk=2)
    m = CompressedAttention(cfg)
    with torch.no_grad():  # non-zero sinks and position biases, so the test sees them act
        m.sinks.normal_()
        for p in m.parameters():
            if p.dim() == 2 and p.shape[0] == cfg.compress_ratio:
                p.normal_()
    return cfg, m


@pytest.mark.parametrize("mode", sorted(MODES))
def test_compressed_attention_is_causal_and_its_formula_counts_its_parameters(mode):
    cfg, m = _attention(mode)
    assert sum(p.numel() for p in m.parameters()) == get_spec("compressed_attention").params(cfg)
    T, t = 40, 23
    x = torch.randn(2, T, 32)
    rope = rope_tables(8, T)
    y = m(x, rope)
    x2 = x.clone()
    x2[:, t:] += torch.randn_like(x2[:, t:])
    y2 = m(x2, rope)
    torch.testing.assert_close(y[:, :t], y2[:, :t], atol=1e-5, rtol=1e-5)  # the past never sees the future
    assert not torch.allclose(y[:, t:], y2[:, t:])


@pytest.mark.parametrize("mode", sorted(MODES))
def test_a_sequence_shorter_than_one_pool_has_no_entries_and_still_runs(mode):
    _, m = _attention(mode)
    m.train()
    y = m(torch.randn(1, 3, 32), rope_tables(8, 3))  # 3 tokens: no window of 4 or 8 is complete
    assert y.shape == (1, 3, 32) and torch.isfinite(y).all()
    if m.aux_loss is not None:
        assert float(m.aux_loss.detach()) == 0.0  # no entry was chosen: nothing to teach the indexer


def test_sliding_mode_forgets_what_left_the_window_and_compressed_modes_do_not():
    T = 40
    x = torch.randn(1, T, 32)
    x2 = x.clone()
    x2[:, :4] += 5 * torch.randn(1, 4, 32)  # the first window changes; the last query is far past it
    rope = rope_tables(8, T)
    for mode in ("sliding", "hca"):
        _, m = _attention(mode)
        same = torch.allclose(m(x, rope)[:, -1], m(x2, rope)[:, -1], atol=1e-6)
        assert same == (mode == "sliding"), mode


def test_csa_entry_pools_its_window_and_the_one_before_hca_only_its_own():
    for overlap, reach in ((2, {1, 2}), (1, {1})):
        comp = Compressor(dim=16, width=8, ratio=4, overlap=overlap, eps=1e-6)
        x = torch.randn(1, 20, 16)
        cos, sin = rope_tables(4, 20)
        base = comp(x, cos, sin)
        x2 = x.clone()
        x2[:, 4:8] += 1.0  # window 1
        changed = {i for i in range(5) if not torch.allclose(base[0, i], comp(x2, cos, sin)[0, i])}
        assert changed == reach, (overlap, changed)


def test_lightning_indexer_keeps_at_most_topk_finished_entries():
    cfg = V.CompressedAttentionConfig(dim=32, q_lora_rank=16, mode="csa", compress_ratio=4, index_n_heads=2,
                                      index_head_dim=8, index_topk=3)
    idx = LightningIndexer(cfg)
    T = 30
    x, q_latent = torch.randn(2, T, 32), torch.randn(2, T, 16)
    chosen, scores = idx(x, q_latent, *rope_tables(8, T))
    finished = (torch.arange(chosen.shape[-1])[None, :] < ((torch.arange(T) + 1) // 4)[:, None])
    assert not (chosen & ~finished).any()  # never an entry whose window is not complete
    assert (chosen.sum(-1) == torch.minimum(finished.sum(-1), torch.tensor(3))).all()  # top-k, or all there are
    assert chosen.shape == scores.shape == (2, T, T // 4)


def test_indexer_learns_from_the_attention_through_its_kl_loss():
    _, m = _attention("csa")
    m.train()
    m(torch.randn(2, 40, 32), rope_tables(8, 40))
    assert m.aux_loss is not None and float(m.aux_loss.detach()) >= 0
    m.aux_loss.backward()
    assert m.indexer.wq_b.weight.grad is not None and m.indexer.wq_b.weight.grad.abs().sum() > 0


def _one_matrix_reference(x, collapse, mix, sub_block):
    """mHC as written with one (2+n)·n × n·dim matrix (the paper's and the reference code's form)."""
    c, n = mix.cfg, mix.cfg.hc_mult
    fn = torch.cat([collapse.fn, mix.fn])
    base = torch.cat([collapse.base, mix.base])
    scale = torch.cat([collapse.scale, mix.scale])
    B, T = x.shape[:2]
    w = weightless_rms(x.reshape(B, T, -1), c.eps) @ fn.T
    pre = torch.sigmoid(w[..., :n] * scale[0] + base[:n]) + c.hc_eps
    post = 2 * torch.sigmoid(w[..., n:2 * n] * scale[1] + base[n:2 * n])
    comb = torch.softmax(w[..., 2 * n:].view(B, T, n, n) * scale[2] + base[2 * n:].view(n, n), -1) + c.hc_eps
    comb = sinkhorn(comb, c.hc_sinkhorn_iters, c.hc_eps)
    y = sub_block((pre.unsqueeze(-1) * x).sum(2))
    return post.unsqueeze(-1) * y.unsqueeze(2) + comb.transpose(-1, -2) @ x


def test_mhc_collapse_and_mix_are_the_one_matrix_formula_and_comb_is_doubly_stochastic():
    cfg = V.HyperConnectionConfig(dim=16, hc_mult=4)
    collapse, mix = HCCollapse(cfg), HCMix(cfg)
    with torch.no_grad():
        for p in (collapse.base, mix.base, collapse.scale, mix.scale):
            p.normal_()
    sub = torch.nn.Linear(16, 16)
    x = torch.randn(2, 5, 4, 16)
    out = mix(x, sub(collapse(x)))
    torch.testing.assert_close(out, _one_matrix_reference(x, collapse, mix, sub), atol=1e-5, rtol=1e-5)
    post, comb = mix.maps(x)
    torch.testing.assert_close(comb.sum(-1), torch.ones(2, 5, 4), atol=1e-3, rtol=0)
    torch.testing.assert_close(comb.sum(-2), torch.ones(2, 5, 4), atol=1e-3, rtol=0)
    assert (comb > 0).all() and ((post > 0) & (post < 2)).all()
    assert sum(p.numel() for p in collapse.parameters()) == get_spec("hc_collapse").params(cfg)
    assert sum(p.numel() for p in mix.parameters()) == get_spec("hc_mix").params(cfg)


def test_hash_routing_depends_on_the_token_id_only():
    cfg = V.HashMoEConfig(dim=16, n_experts=8, top_k=2, expert_hidden_dim=8, vocab_size=50, score="sqrtsoftplus",
                          aux_loss_weight=0.0)
    m = HashMoE(cfg)
    assert sum(p.numel() for p in m.parameters()) == get_spec("hash_moe").params(cfg)
    assert all(len(set(row.tolist())) == 2 for row in m.tid2eid)  # two distinct experts per token id
    assert len({tuple(r.tolist()) for r in m.tid2eid}) > 10  # and the table spreads token ids over experts
    tokens = torch.tensor([[3, 7, 3, 9]])
    m.capture = True
    m(torch.randn(1, 4, 16), tokens)
    first = m.last_routing[0].clone()
    m(torch.randn(1, 4, 16), tokens)  # other hidden states, same ids: the same experts
    assert torch.equal(first, m.last_routing[0]) and torch.equal(first[0], first[2])
    torch.testing.assert_close(m.last_routing[1].sum(-1), torch.ones(4) * cfg.route_scale)
    with pytest.raises(ValueError, match="outside the hash table"):
        m(torch.randn(1, 1, 16), torch.tensor([[50]]))


def test_v4_paper_kv_cache_per_token_is_the_pooled_entries():
    spec = get_spec("compressed_attention")
    pro = dict(dim=7168, n_heads=128, head_dim=512, rope_head_dim=64, q_lora_rank=1536, o_groups=16, o_lora_rank=1024,
               sliding_window=128, index_n_heads=64, index_head_dim=128, index_topk=1024)
    assert spec.kv_elems(V.CompressedAttentionConfig(**pro, mode="csa", compress_ratio=4)) == (512 + 128) // 4
    assert spec.kv_elems(V.CompressedAttentionConfig(**pro, mode="hca", compress_ratio=128)) == 512 // 128
    assert spec.kv_elems(V.CompressedAttentionConfig(**pro, mode="sliding")) == 0
    # at 1M tokens a CSA query reads 128 window keys + its 1024 chosen entries and its indexer scores
    # all 262,144 entries; an HCA query reads 128 + all 8192 entries
    ctx = 1 << 20
    csa = V.CompressedAttentionConfig(**pro, mode="csa", compress_ratio=4)
    hca = V.CompressedAttentionConfig(**pro, mode="hca", compress_ratio=128)
    grow = {c.mode: spec.flops(c, ctx) - spec.flops(c, 128) for c in (csa, hca)}  # beyond the window
    assert grow["csa"] == 2 * 2 * 1024 * 128 * 512 + 2 * (ctx // 4) * 64 * 128 + 2 * (ctx // 4) * 64 - (
        2 * (128 // 4) * 64 * 128 + 2 * (128 // 4) * 64) - 2 * 2 * (128 // 4) * 128 * 512
    assert grow["hca"] == 2 * 2 * (ctx // 128 - 1) * 128 * 512
