"""The small-head C++ attention kernel computes what SDPA computes (forward and gradients), in
every layout the model hands it, and says why when it cannot be built."""
import pytest
import torch
import torch.nn.functional as F

from blocks.configs import AttentionConfig
from blocks.nn import small_head_attention as sha
from blocks.nn.attention import Attention


@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    reason = sha.load(tmp_path_factory.mktemp("kernels"))
    if reason:
        pytest.skip(f"small-head kernel cannot be built here: {reason}")
    return sha


def sdpa_reference(q, k, v):
    group = q.shape[1] // k.shape[1]
    return F.scaled_dot_product_attention(q, k.repeat_interleave(group, 1), v.repeat_interleave(group, 1),
                                          is_causal=True)


def linear_layout(B, T, H, D, dtype=torch.float32):
    """(B, H, T, D) views of (B, T, H, D) tensors, as Attention makes them from its wq/wk/wv outputs."""
    return torch.randn(B, T, H, D, dtype=dtype).transpose(1, 2).requires_grad_()


@pytest.mark.parametrize("B,Hq,Hkv,T,D", [
    (2, 8, 4, 64, 8),     # stories260K's heads (GQA 2:1)
    (3, 8, 2, 37, 16),    # classroom LLaMA 2 heads (GQA 4:1), a length that is no multiple of the 16-row block
    (1, 4, 4, 1, 8),      # a single position
    (2, 2, 1, 17, 16),    # multi-query
])
def test_forward_and_gradients_match_sdpa(kernel, B, Hq, Hkv, T, D):
    torch.manual_seed(0)
    q, k, v = linear_layout(B, T, Hq, D), linear_layout(B, T, Hkv, D), linear_layout(B, T, Hkv, D)
    grad = torch.randn(B, Hq, T, D)
    out = kernel.causal_attention(q, k, v)
    got = torch.autograd.grad(out, (q, k, v), grad)
    ref = sdpa_reference(q, k, v)
    want = torch.autograd.grad(ref, (q, k, v), grad)
    torch.testing.assert_close(out, ref, atol=2e-6, rtol=1e-5)
    for g, w in zip(got, want):
        torch.testing.assert_close(g, w, atol=2e-5, rtol=1e-4)


def test_contiguous_and_bf16_inputs(kernel):
    torch.manual_seed(1)
    q, k, v = (torch.randn(2, 4, 40, 8) for _ in range(3))
    torch.testing.assert_close(kernel.causal_attention(q, k, v), sdpa_reference(q, k, v), atol=2e-6, rtol=1e-5)
    qb, kb, vb = q.bfloat16(), k.bfloat16(), v.bfloat16()  # autocast's matmul outputs: computed in fp32
    out = kernel.causal_attention(qb, kb, vb)
    assert out.dtype == torch.bfloat16
    torch.testing.assert_close(out.float(), sdpa_reference(qb.float(), kb.float(), vb.float()), atol=1e-2, rtol=1e-2)


def test_large_scores_stay_finite(kernel):
    """Scores in the hundreds (a sharp, trained attention) must not overflow the exponential."""
    q = torch.full((1, 1, 20, 8), 30.0)
    k = torch.full((1, 1, 20, 8), 30.0)
    v = torch.randn(1, 1, 20, 8)
    out = kernel.causal_attention(q, k, v)
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out, sdpa_reference(q, k, v), atol=1e-5, rtol=1e-5)


def test_custom_ops_pass_torch_opcheck(kernel):
    """Fake (meta) outputs have the real outputs' shapes and strides, so torch.compile graphs are right."""
    torch.manual_seed(2)
    q, k, v = linear_layout(2, 24, 4, 8), linear_layout(2, 24, 2, 8), linear_layout(2, 24, 2, 8)
    torch.library.opcheck(sha._forward, (q, k, v))
    o, lse = sha._forward(q.detach(), k.detach(), v.detach())
    torch.library.opcheck(sha._backward, (q.detach(), k.detach(), v.detach(), o, lse, torch.randn_like(o)))


def test_attention_module_uses_the_kernel_only_when_asked(kernel):
    torch.manual_seed(3)
    cfg = AttentionConfig(dim=64, n_heads=8, n_kv_heads=4)
    att = Attention(cfg)
    x = torch.randn(2, 33, 64, requires_grad=True)
    ref = att(x)
    (gx_ref,) = torch.autograd.grad(ref.sum(), x)
    att.small_head_kernel = True
    assert sha.usable(torch.empty(2, 8, 33, 8), torch.empty(2, 4, 33, 8))
    out = att(x)
    (gx,) = torch.autograd.grad(out.sum(), x)
    torch.testing.assert_close(out, ref, atol=2e-6, rtol=1e-5)
    torch.testing.assert_close(gx, gx_ref, atol=2e-5, rtol=1e-4)
    att.capture = True  # attention maps need the probabilities: the plain path, even with the flag set
    att(x)
    assert att.last_weights is not None and att.last_weights.shape == (2, 8, 33, 33)


def test_head_sizes_it_is_not_built_for_are_left_to_sdpa(kernel):
    assert not sha.usable(torch.empty(1, 4, 8, 32), torch.empty(1, 4, 8, 32))
    assert not sha.usable(torch.empty(1, 4, 8, 8, dtype=torch.float64), torch.empty(1, 4, 8, 8, dtype=torch.float64))
    assert not sha.usable(torch.empty(1, 4, 8, 8), torch.empty(1, 4, 9, 8))  # a kv cache longer than the queries


def test_no_compiler_gives_a_reason_not_an_exception(monkeypatch, tmp_path):
    monkeypatch.setattr(sha, "_lib", None)
    monkeypatch.setattr(sha, "_failure", None)
    monkeypatch.setattr(sha, "_compiler", lambda: None)
    reason = sha.load(tmp_path)
    assert reason == "no C++ compiler (c++, g++ or clang++) on PATH"
    assert not sha.loaded() and not sha.usable(torch.empty(1, 1, 4, 8), torch.empty(1, 1, 4, 8))
    assert list(tmp_path.iterdir()) == []  # nothing half-written


def test_a_broken_compiler_leaves_no_partial_library(monkeypatch, tmp_path):
    monkeypatch.setattr(sha, "_lib", None)
    monkeypatch.setattr(sha, "_failure", None)
    monkeypatch.setattr(sha, "SOURCE", tmp_path / "broken.cpp")
    (tmp_path / "broken.cpp").write_text("this is not C++\n")
    cache = tmp_path / "cache"
    reason = sha.load(cache)
    assert reason and reason.startswith("the C++ compiler failed")
    assert not any(cache.glob("*.so")) and not any(cache.glob("tmp*"))


def test_a_damaged_cached_library_is_rebuilt(kernel, monkeypatch, tmp_path):
    monkeypatch.setattr(sha, "_lib", None)
    monkeypatch.setattr(sha, "_failure", None)
    assert sha.load(tmp_path / "first") is None  # now mapped into this process: never touched again
    (built,) = (tmp_path / "first").glob("*.so")
    cache = tmp_path / "cache"
    cache.mkdir()
    damaged = cache / built.name  # the same key: a truncated copy, as a full disk or a killed build leaves
    damaged.write_bytes(built.read_bytes()[:100])
    monkeypatch.setattr(sha, "_lib", None)
    assert sha.load(cache) is None and sha.loaded() and damaged.stat().st_size > 1000
    q = torch.randn(1, 2, 5, 8)
    torch.testing.assert_close(sha.causal_attention(q, q, q), sdpa_reference(q, q, q), atol=2e-6, rtol=1e-5)
