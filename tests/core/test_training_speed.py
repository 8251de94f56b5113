"""How steps run (compile with its fallback, bf16 probe, threads) and bits per byte everywhere."""
import math

import numpy as np
import pytest
import torch

from studio.core.runs.rundir import RunDir
from studio.core.training import EvalMetrics, Finished, SpeedSetup, StepMetrics, TrainConfig, train_steps
from studio.core.training import setup as S
from studio.core.training import speed
from tiny_training import starter_data, tiny_arch

CFG = dict(batch_size=4, context=32, eval_interval=4, eval_batches=2, sample_interval=0, threads=1, lr=3e-3)


def fresh_run(tmp_path, data, cfg, name="run"):
    run = RunDir(tmp_path / name)
    arch = tiny_arch()
    run.initialize(arch, "2023-07-llama-2", data.tokenizer, S.training_record(cfg), data.corpus.describe())
    return run, S.build_model(arch, 3)


def losses(evs):
    return [e.loss for e in evs if isinstance(e, StepMetrics)]


def test_compile_failure_falls_back_to_eager_with_the_same_numbers(tmp_path, monkeypatch):
    """A compiled step that cannot run (here: simulated, as with no C++ compiler) is reported in
    the setup event and run.yaml, and training goes on eagerly with exactly the eager numbers."""
    data = starter_data(tmp_path)
    monkeypatch.delenv(speed.NO_COMPILE_ENV, raising=False)
    calls = []

    def broken_compile(fn, **kw):
        def run(*a, **k):
            calls.append(1)
            raise RuntimeError("simulated: no working C++ compiler")
        return run

    monkeypatch.setattr(torch, "compile", broken_compile)
    cfg = TrainConfig(steps=5, compile=True, **CFG)
    run, model = fresh_run(tmp_path, data, cfg)
    evs = list(train_steps(model, data, cfg, run=run))
    (setup,) = [e for e in evs if isinstance(e, SpeedSetup)]
    assert calls == [1] and not setup.compiled and "compilation failed" in setup.step
    assert "simulated: no working C++ compiler" in run.read_config()["runtime"]["step"]
    run_e, model_e = fresh_run(tmp_path, data, TrainConfig(steps=5, **CFG), "eager")
    eager = losses(train_steps(model_e, data, TrainConfig(steps=5, **CFG), run=run_e))
    assert losses(evs) == eager and evs[-1].reason == "done"


def test_short_auto_runs_stay_eager_and_say_why(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # a machine that never compiled
    data = starter_data(tmp_path)
    cfg = TrainConfig(steps=3, compile="auto", **CFG)
    run, model = fresh_run(tmp_path, data, cfg)
    evs = list(train_steps(model, data, cfg, run=run))
    (setup,) = [e for e in evs if isinstance(e, SpeedSetup)]
    assert not setup.compiled and "would not pay off" in setup.step and "cold cache" in setup.step
    assert run.read_config()["runtime"]["step"] == setup.step
    assert not [e for e in evs if type(e).__name__ == "StepSwitched"]


def test_precision_probe_decides_and_is_recorded(tmp_path, monkeypatch):
    data = starter_data(tmp_path)
    cfg = TrainConfig(steps=2, precision="auto", **CFG)
    run, model = fresh_run(tmp_path, data, cfg)
    evs = list(train_steps(model, data, cfg, run=run))
    rt = run.read_config()["runtime"]
    (setup,) = [e for e in evs if isinstance(e, SpeedSetup)]
    assert rt["precision"] == setup.precision in ("fp32", "bf16") and rt["threads"] == 1
    if speed.native_bf16(torch.device("cpu")):  # measured both ways, the faster one kept
        assert rt["fp32_step_ms"] > 0 and rt["bf16_step_ms"] > 0 and "measured" in rt["reason"]
        assert (rt["precision"] == "bf16") == (rt["bf16_step_ms"] < 0.95 * rt["fp32_step_ms"])
    # the decision itself, with the timings forced either way
    monkeypatch.setattr(speed, "native_bf16", lambda device: True)
    for fast, want in (({"fp32": 2.0, "bf16": 1.0}, "bf16"), ({"fp32": 1.0, "bf16": 0.99}, "fp32")):
        monkeypatch.setattr(speed, "_time_fwd_bwd", lambda m, b, d, p, r, fast=fast, **k: fast[p])
        assert speed.choose_precision("auto", None, None, torch.device("cpu")).precision == want
    monkeypatch.setattr(speed, "native_bf16", lambda device: False)
    c = speed.choose_precision("auto", None, None, torch.device("cpu"))
    assert c.precision == "fp32" and "no native bf16" in c.reason
    assert speed.choose_precision("bf16", None, None, torch.device("cpu")).reason == "chosen by the user"
    # a resumed run keeps its first decision, whatever a new probe would say
    monkeypatch.setattr(speed, "native_bf16", lambda device: True)
    monkeypatch.setattr(speed, "_time_fwd_bwd", lambda m, b, d, p, r, **k: {"fp32": 1.0, "bf16": 0.1}[p])
    cfg2 = TrainConfig(steps=3, precision="auto", **CFG)
    evs = list(train_steps(run.build_model().train(), data, cfg2, run=run, resume=True))
    (setup,) = [e for e in evs if isinstance(e, SpeedSetup)]
    assert setup.precision == rt["precision"] and "kept" in setup.precision_reason


def test_threads_default_to_the_cores_other_programs_leave_free(monkeypatch):
    n = speed.physical_cores()
    assert 1 <= n <= (__import__("os").cpu_count() or 1)
    monkeypatch.setattr(speed, "physical_cores", lambda: 4)
    for others, want in ((0.2, 4), (1.4, 3), (3.6, 1), (12.0, 1)):
        monkeypatch.setattr(speed, "others_load", lambda o=others: o)
        got, why = speed.choose_threads(None)
        assert got == want and f"load {others:.1f}" in why
    monkeypatch.setattr(speed, "others_load", lambda: None)  # no load average (other systems): all cores
    assert speed.choose_threads(None)[0] == 4 and speed.choose_threads(3) == (3, "chosen")
    assert speed.set_threads(1) == 1 == torch.get_num_threads()


def test_bits_per_byte_next_to_every_loss(tmp_path):
    data = starter_data(tmp_path)
    cfg = TrainConfig(steps=4, **CFG)
    run, model = fresh_run(tmp_path, data, cfg)
    evs = list(train_steps(model, data, cfg, run=run))
    sm = [e for e in evs if isinstance(e, StepMetrics)]
    assert all(e.bpb == pytest.approx(e.loss / math.log(2) * data.val_tokens_per_byte) for e in sm)
    ev = [e for e in evs if isinstance(e, EvalMetrics)][-1]
    fin = evs[-1]
    assert isinstance(fin, Finished) and fin.train_bpb == pytest.approx(data.bits_per_byte(fin.train_loss))
    assert ev.train_bpb == pytest.approx(data.bits_per_byte(ev.train_loss)) and 0 < fin.val_bpb < 10
    recs = run.metrics()
    assert all("bpb" in r for r in recs if r["kind"] == "step")
    assert all("train_bpb" in r and "val_bpb" in r for r in recs if r["kind"] == "eval")
    from studio.core.training import MetricsHistory
    h = MetricsHistory()
    for e in evs:
        h.add(e)
    assert h.series("bpb").y.tolist() == pytest.approx([e.bpb for e in sm])  # the plots' train bpb curve
    result = run.read_config()["result"]
    assert result["val_bpb"] == pytest.approx(fin.val_bpb, abs=1e-4) and "train_bpb" in result


def test_reading_the_loss_every_k_steps_gives_the_same_metrics(tmp_path):
    data = starter_data(tmp_path)
    out = []
    for k in (1, 3):
        cfg = TrainConfig(steps=7, read_every=k, **CFG)
        run, model = fresh_run(tmp_path, data, cfg, f"k{k}")
        evs = list(train_steps(model, data, cfg, run=run))
        out.append(([(e.step, e.loss, e.grad_norm, e.lr) for e in evs if isinstance(e, StepMetrics)],
                    [r["step"] for r in run.metrics() if r["kind"] == "step"]))
    assert out[0] == out[1] and out[0][1] == list(range(1, 8))


@pytest.mark.slow
def test_compiled_step_gives_the_eager_losses(tmp_path, monkeypatch):
    """One compiled run of a tiny model (inductor needs a C++ compiler: skipped where it has none)."""
    monkeypatch.delenv(speed.NO_COMPILE_ENV, raising=False)
    data = starter_data(tmp_path)
    cfg = dict(CFG, eval_interval=0, batch_size=2, context=16)
    eager = losses(train_steps(S.build_model(tiny_arch(), 5), data, TrainConfig(steps=4, **cfg)))
    evs = list(train_steps(S.build_model(tiny_arch(), 5), data, TrainConfig(steps=4, compile=True, **cfg)))
    (setup,) = [e for e in evs if isinstance(e, SpeedSetup)]
    if not setup.compiled:
        pytest.skip(f"inductor cannot compile here: {setup.step}")
    np.testing.assert_allclose(losses(evs), eager, rtol=2e-4)


def test_attention_auto_runs_small_heads_in_the_kernel_and_records_it(tmp_path):
    """attention="auto" (the apps' default) switches causal attention with head size 8/16 to the
    C++ kernel, says so in the setup event and run.yaml, and trains to the SDPA run's losses."""
    from blocks.nn import small_head_attention as sha
    data = starter_data(tmp_path)
    arch = tiny_arch(n_heads=4)  # classroom LLaMA 2 body, width 32: head size 8
    cfg = TrainConfig(steps=4, attention="auto", **CFG)
    run = RunDir(tmp_path / "auto")
    run.initialize(arch, "2023-07-llama-2", data.tokenizer, S.training_record(cfg), data.corpus.describe())
    evs = list(train_steps(S.build_model(arch, 3), data, cfg, run=run))
    (setup,) = [e for e in evs if isinstance(e, SpeedSetup)]
    rt = run.read_config()["runtime"]["attention"]
    if not sha.loaded():
        pytest.skip(f"small-head kernel cannot be built here: {rt['reason']}")
    assert rt["kernel"] == "small-head" and "head size 8" in setup.attention == rt["reason"]
    plain = list(train_steps(S.build_model(arch, 3), data, TrainConfig(steps=4, **CFG)))
    (plain_setup,) = [e for e in plain if isinstance(e, SpeedSetup)]
    assert plain_setup.attention == "sdpa (chosen)"
    np.testing.assert_allclose(losses(evs), losses(plain), rtol=1e-4)


def test_attention_falls_back_to_sdpa_with_the_reason(tmp_path, monkeypatch):
    from blocks.nn import small_head_attention as sha
    from studio.core import errors as E
    model = S.build_model(tiny_arch(n_heads=4), 0)
    monkeypatch.setattr(sha, "load", lambda cache_dir=None: "simulated: no C++ compiler")
    c = speed.choose_attention("auto", model, torch.device("cpu"))
    assert c.kernel == "sdpa" and c.reason == "sdpa (small-head kernel unavailable: simulated: no C++ compiler)"
    assert not any(getattr(m, "small_head_kernel", False) for m in model.modules())
    wide = S.build_model(tiny_arch(n_heads=1, n_kv_heads=1), 0)  # head size 32: SDPA is faster there
    assert "no causal attention with head size 8 or 16" in speed.choose_attention("auto", wide, torch.device("cpu")).reason
    with pytest.raises(E.StudioError, match="unknown attention"):
        speed.choose_attention("flash", model, torch.device("cpu"))
