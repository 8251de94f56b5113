"""Every preset trains at both precisions, forced: fp32 and bf16 autocast (issue 22 H1: every
mixture-of-experts milestone failed under bf16 in the expert dispatch's ``index_add_``).

Each preset is built at its classroom scale (context cut to 16) and trained two steps by the
trainer's own ``train_steps`` with the apps' defaults (``FAST``: compile "auto", attention "auto"),
so the step runs on the path a short run takes: eager, since compiling would not pay for itself.
The compiled path of an MoE preset is covered by ``test_compiled_moe_step_under_bf16`` (slow)."""
import math

import pytest
import torch
from tiny_training import starter_data, tiny_arch

from blocks import configs as C
from blocks.nn.moe import MoE
from studio.core.files.presets import load_preset, preset_ids
from studio.core.training import (
    SpeedSetup,
    StepMetrics,
    TrainConfig,
    speed,
    train_steps,
)
from studio.core.training import setup as S
from studio.core.training.trainer import FAST

TINY_RUN = {"steps": 2, "batch_size": 2, "context": 16, "eval_interval": 0, "eval_batches": 1,
            "sample_interval": 0, "checkpoint_interval": 0, "threads": 1}
MOE_PRESETS = [p for p in preset_ids() if load_preset(p).scales["classroom"].get("n_experts")]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return starter_data(tmp_path_factory.mktemp("data"), n=60)


def _train(arch, data, **cfg):
    evs = list(train_steps(S.build_model(arch, 0), data, TrainConfig(**dict(FAST, **TINY_RUN, **cfg))))
    (setup,) = [e for e in evs if isinstance(e, SpeedSetup)]
    return setup, [e for e in evs if isinstance(e, StepMetrics)]


def test_the_moe_presets_are_found():
    assert {"2020-06-gshard", "2023-12-mixtral", "2024-12-deepseek-v3"} <= set(MOE_PRESETS)


@pytest.mark.parametrize("preset", preset_ids())
def test_every_preset_trains_in_fp32_and_in_bf16(preset, data):
    arch = S.classroom_arch(load_preset(preset), data.tokenizer.vocab_size, TINY_RUN["context"])
    first = {}
    for precision in ("fp32", "bf16"):
        setup, steps = _train(arch, data, precision=precision)
        assert setup.precision == precision and not setup.compiled, (setup.precision, setup.step)
        assert [s.step for s in steps] == [1, 2] and all(math.isfinite(s.loss) for s in steps)
        if preset in MOE_PRESETS:  # the router sent every token somewhere, in both precisions
            assert steps[-1].expert_load and all(abs(load.sum() - 1) < 1e-4 for load in steps[-1].expert_load)
        first[precision] = steps[0].loss
    # the same initial weights and batch: bf16 computes the same function to bf16's precision
    assert first["bf16"] == pytest.approx(first["fp32"], rel=2e-2)


def test_the_precision_probe_measures_an_moe_preset(data, monkeypatch):
    """precision "auto" on a CPU with native bf16 times both precisions ("measuring bf16 against
    fp32"), which is where DeepSeek-V3 (sigmoid router with bias, shared experts) failed."""
    monkeypatch.setattr(speed, "native_bf16", lambda device: True)  # the probe runs on any CPU
    arch = S.classroom_arch(load_preset("2024-12-deepseek-v3"), data.tokenizer.vocab_size, TINY_RUN["context"])
    setup, steps = _train(arch, data, precision="auto")
    assert "measured forward+backward" in setup.precision_reason and setup.precision in ("fp32", "bf16")
    assert len(steps) == 2 and all(math.isfinite(s.loss) for s in steps)


@pytest.mark.parametrize("score,n_shared,bias_balancing,shared_gate", [
    ("softmax", 0, False, False), ("sigmoid", 2, True, False), ("softmax", 1, False, True)])
def test_moe_dispatch_under_autocast_sums_in_the_stream_dtype(score, n_shared, bias_balancing, shared_gate):
    """Mixtral-style (softmax top-2), DeepSeek-style (sigmoid router with selection bias, shared
    experts) and Qwen2-MoE-style (a gated shared expert): under bf16 autocast the experts compute in bf16, the router and the accumulator stay
    in the token stream's fp32, and the output equals the fp32 one to bf16's precision."""
    torch.manual_seed(0)
    cfg = C.MoEConfig(dim=16, n_experts=4, top_k=2, expert_hidden_dim=32, n_shared=n_shared, score=score,
                      bias_balancing=bias_balancing, norm_topk=score == "sigmoid", shared_gate=shared_gate)
    moe = MoE(cfg).eval()
    x = torch.randn(2, 5, 16, requires_grad=True)
    ref = moe(x)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = moe(x)
        scores, _, weights = moe.route(x.reshape(-1, 16))
    assert out.dtype == torch.float32 and scores.dtype == weights.dtype == torch.float32
    torch.testing.assert_close(out, ref, rtol=5e-2, atol=5e-2)
    out.sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()


@pytest.mark.slow
def test_compiled_moe_step_under_bf16(data, monkeypatch):
    """The compiled step (where a longer run compiles) of an MoE preset under bf16 autocast. Inductor's
    C++ build of the step took 174 s on a loaded 2-core box, so this traces with torch.compile's
    aot_eager backend: dynamo and AOT autograd propagate the dtypes exactly as inductor's graph
    would, without generating C++ (the expert loop itself runs eagerly, see blocks/nn/moe.py)."""
    monkeypatch.delenv(speed.NO_COMPILE_ENV, raising=False)
    real = torch.compile
    monkeypatch.setattr(torch, "compile", lambda fn, **kw: real(fn, **dict(kw, backend="aot_eager")))
    arch = tiny_arch("2023-12-mixtral", data.tokenizer.vocab_size, context=16)
    setup, steps = _train(arch, data, precision="bf16", compile=True)
    assert setup.compiled and setup.precision == "bf16", setup.step
    assert len(steps) == 2 and all(math.isfinite(s.loss) for s in steps)
