"""MuonClip: QK-clip keeps the largest pre-softmax QK logit at or below its threshold."""
import math

import torch

from studio.core.training import StepMetrics, TrainConfig, train_steps
from studio.core.training import qk_clip
from studio.core.training import setup as S
from tiny_training import starter_data, tiny_arch


def _max_logit(model, x):
    qk_clip.enable(model)
    with torch.no_grad():
        model(x)
    worst = max(float(m.max_logit.max()) for m in qk_clip.attention_blocks(model))
    qk_clip.enable(model, False)
    return worst


def _blow_up_queries(model, factor=40.0):
    with torch.no_grad():
        for m in qk_clip.attention_blocks(model):
            w = m.wq if hasattr(m, "wq") else m.wq_b
            w.weight.mul_(factor)


def test_clip_bounds_logits_for_gqa_and_mla():
    torch.manual_seed(0)
    # One layer: the bound is exact for the inputs the step saw (with more layers, clipping a
    # lower layer changes what the upper ones see, so their logits are bounded only next step).
    for arch in (tiny_arch(n_layers=1), tiny_arch("2024-05-deepseek-v2", n_layers=1)):
        model = S.build_model(arch, 0).eval()
        x = torch.randint(0, 259, (2, 24))
        _blow_up_queries(model)
        before = _max_logit(model, x)
        tau = before / 4  # every head that reaches it must be clipped
        qk_clip.enable(model)
        with torch.no_grad():
            model(x)
        seen = qk_clip.clip(model, tau)
        assert math.isclose(seen, before, rel_tol=1e-5)
        assert _max_logit(model, x) <= tau * (1 + 1e-4)


def test_heads_under_the_threshold_are_untouched():
    model = S.build_model(tiny_arch(), 0).eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    qk_clip.enable(model)
    with torch.no_grad():
        model(torch.randint(0, 259, (1, 16)))
    qk_clip.clip(model, 1e6)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_muonclip_trains_with_logits_bounded(tmp_path):
    data = starter_data(tmp_path)
    model = S.build_model(tiny_arch(), 0)
    _blow_up_queries(model, 20.0)
    tau = 4.0
    cfg = TrainConfig(steps=6, batch_size=4, context=32, eval_interval=6, eval_batches=2, sample_interval=0,
                      threads=1, lr=3e-3, optimizer="muonclip", qk_clip_tau=tau)
    losses = [e.loss for e in train_steps(model, data, cfg) if isinstance(e, StepMetrics)]
    assert len(losses) == 6 and all(math.isfinite(v) for v in losses)
    # After clipping, the queries were scaled down: fresh text stays near the threshold.
    x = torch.tensor(data.train[:32].astype("int64"))[None]
    assert _max_logit(model, x) < 2 * tau
