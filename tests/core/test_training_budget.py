"""Training for N minutes: the schedule fitted to the budget, ending on time and decayed, resumable."""
import dataclasses
import time

import pytest
import torch._dynamo  # noqa: F401  (the optimizer's first import: seconds on a loaded box, paid before the budgets here)

from studio.core.runs.rundir import RunDir
from studio.core.training import Finished, SpeedSetup, StepMetrics, TrainConfig, train_steps
from studio.core.training import setup as S
from studio.core.training.budget import DECAY, Budget
from tiny_training import starter_data, tiny_arch

CFG = dict(batch_size=4, context=32, eval_interval=0, eval_batches=2, sample_interval=0, threads=1, lr=3e-3,
           schedule="wsd")


def simulate(b: Budget, step_time, start=0):
    """Drive a Budget with a fake clock; returns [(step index, lr)] and the seconds used."""
    step, used, lrs = start, b.used, []
    while b.more():
        lrs.append((step, b.lr(step)))
        used += step_time(step)
        step += 1
        b.observe(step, used)
    return lrs, used


def test_budget_refits_to_a_changing_step_time_and_ends_decayed():
    # the first guess is 4x too optimistic and the steps slow down again halfway: still on time
    b = Budget(1e-3, 1e-4, 60.0, 0, step_s=0.05)
    lrs, used = simulate(b, lambda i: 0.2 if i < 150 else 0.3)
    assert abs(used - 60.0) <= 0.05 * 60 and lrs[-1][1] == pytest.approx(1e-4)
    after = [lr for i, lr in lrs if i >= b.warmup]
    assert all(a >= c for a, c in zip(after, after[1:]))           # never back up once decaying
    assert after[0] == pytest.approx(1e-3)                           # stable phase at the peak
    decaying = sum(1 for lr in after if lr < 1e-3)
    assert 0.1 * len(lrs) < decaying < 1.5 * DECAY * len(lrs)        # the last ~20 % decays
    # an extension ("N more minutes") re-warms from the floor and decays again at its own end
    b2 = Budget(1e-3, 1e-4, 30.0, start_step=len(lrs), step_s=0.3)
    more, used2 = simulate(b2, lambda i: 0.3, start=len(lrs))
    assert more[0][1] > 1e-4 and more[0][1] < 1e-3 and abs(used2 - 30.0) <= 1.5
    assert more[-1][1] == pytest.approx(1e-4)
    st = Budget.from_state(b2.state(True), 1e-3, 1e-4, len(lrs) + len(more))
    assert not st.more()


def run_for(tmp_path, data, minutes, name="run", **kw):
    cfg = TrainConfig(minutes=minutes, **CFG)
    run = RunDir(tmp_path / name)
    arch = tiny_arch()
    run.initialize(arch, "2023-07-llama-2", data.tokenizer, S.training_record(cfg), data.corpus.describe())
    return cfg, run, S.build_model(arch, 0)


def timed(gen):
    """Events, and the wall seconds from asking for the run to Finished: preparing is part of the budget."""
    evs, t0 = [], time.perf_counter()
    for ev in gen:
        evs.append(ev)
    assert any(isinstance(e, SpeedSetup) for e in evs)
    return evs, time.perf_counter() - t0


def test_minutes_end_within_five_percent_with_lr_at_its_floor(tmp_path):
    data = starter_data(tmp_path)
    cfg, run, model = run_for(tmp_path, data, 0.1)
    evs, wall = timed(train_steps(model, data, cfg, run=run))
    fin = evs[-1]
    steps = [e for e in evs if isinstance(e, StepMetrics)]
    assert isinstance(fin, Finished) and fin.reason == "done" and fin.budget_s == 6.0
    assert abs(wall - 6.0) <= 0.3 and abs(fin.elapsed_s - 6.0) <= 0.3
    floor = cfg.lr * cfg.min_lr_ratio
    assert steps[-1].lr == pytest.approx(floor) and fin.final_lr == pytest.approx(floor)
    assert max(e.lr for e in steps) == pytest.approx(cfg.lr) and len(steps) > 20
    assert abs(steps[-1].planned_steps - fin.step) <= max(2, 0.05 * fin.step)  # the plan it fitted was right
    assert steps[len(steps) // 2].eta_s == pytest.approx(6.0 - steps[len(steps) // 2].elapsed_s, abs=0.5)
    assert run.read_config()["result"]["budget_s"] == 6.0


def test_resume_continues_a_stopped_budget_then_adds_minutes(tmp_path):
    data = starter_data(tmp_path)
    cfg, run, model = run_for(tmp_path, data, 0.05)
    evs = list(train_steps(model, data, cfg, should_stop=lambda: len(run.metrics()) >= 15, run=run))
    assert evs[-1].reason == "stopped" and 5 < evs[-1].step <= 15 and evs[-1].elapsed_s < 2.5
    stopped_at, used = evs[-1].step, run.load_checkpoint()["schedule"]["budget"]["used_s"]
    evs, wall = timed(train_steps(run.build_model().train(), data, cfg, run=run, resume=True))
    fin = evs[-1]
    assert fin.reason == "done" and fin.step > stopped_at
    assert wall + used == pytest.approx(3.0, abs=0.3)        # only the rest of the 3 s budget
    assert [e for e in evs if isinstance(e, StepMetrics)][-1].lr == pytest.approx(cfg.lr * cfg.min_lr_ratio)
    # finished: a plain resume only reports; "N more minutes" trains a new decayed segment
    again = list(train_steps(run.build_model().train(), data, cfg, run=run, resume=True))
    assert [type(e).__name__ for e in again][-2:] == ["EvalMetrics", "Finished"] and again[-1].step == fin.step
    cfg2 = TrainConfig(**{**cfg.__dict__, "minutes": 0.03})
    evs, wall = timed(train_steps(run.build_model().train(), data, cfg2, run=run, resume=True, extend=True))
    steps = [e for e in evs if isinstance(e, StepMetrics)]
    assert steps[0].step == fin.step + 1 and abs(wall - 1.8) <= 0.3
    assert steps[0].lr < cfg.lr and steps[-1].lr == pytest.approx(cfg.lr * cfg.min_lr_ratio)


def test_a_slow_step_at_the_end_still_ends_at_the_floor():
    # a step plus a sample overshoots the budget just before the floor step: one more step, at the floor
    for shape in ("wsd", "cosine"):
        b = Budget(1e-3, 1e-4, 10.0, 0, step_s=0.1, shape=shape)
        lrs, used = simulate(b, lambda i: 1.0 if i == 95 else 0.1)
        assert lrs[-1][1] == pytest.approx(1e-4) and used <= 10.0 * 1.05 + 0.1, (shape, lrs[-3:], used)
    # a budget over before its warmup is: the last step still runs at the floor
    b = Budget(1e-3, 1e-4, 1.0, 0, warmup=50, step_s=0.1)
    lrs, _ = simulate(b, lambda i: 0.1)
    assert len(lrs) <= 11 and lrs[-1][1] == pytest.approx(1e-4)


def test_longer_budgets_train_more_tokens_per_step_unless_told():
    from studio.core.files.presets import load_preset
    from studio.core.training import setup as S
    assert S.budget_recipe(None) == S.budget_recipe(1.0) == {"batch_size": 8, "context": 128, "optimizer": "muon"}
    long_ = S.budget_recipe(S.LONG_BUDGET_MIN)
    assert long_ == S.budget_recipe(10.0) and long_["batch_size"] * long_["context"] > 8 * 128
    arch = load_preset("2023-07-llama-2")
    assert S.default_context(arch) == 128 and S.default_context(arch, 10.0) == min(256, long_["context"])
    arch.scales["classroom"]["context"] = 64  # the model's own, shorter context wins
    assert S.default_context(arch, 10.0) == 64


def test_preparing_is_part_of_the_budget(tmp_path, monkeypatch):
    """The clock starts when the run was asked for: 2 s of set-up before the call (data, tokenizer)
    and a 1 s probe inside preparing leave 3 s of a 6 s budget to train, and the run still ends
    6 s after it was asked for, decayed."""
    from studio.core.training import speed
    data = starter_data(tmp_path)
    cfg, run, model = run_for(tmp_path, data, 0.1)
    real = speed.choose_precision

    def slow_probe(*a, **k):
        time.sleep(1.0)
        return real(*a, **k)

    monkeypatch.setattr("studio.core.training.step.choose_precision", slow_probe)
    asked = time.perf_counter() - 2.0
    evs = list(train_steps(model, data, cfg, run=run, started_at=asked))
    wall = time.perf_counter() - asked
    (setup,) = [e for e in evs if isinstance(e, SpeedSetup)]
    steps = [e for e in evs if isinstance(e, StepMetrics)]
    fin = evs[-1]
    assert setup.preparing_s >= 3.0 and run.read_config()["runtime"]["preparing_s"] >= 3.0
    assert abs(wall - 6.0) <= 0.3 and abs(fin.elapsed_s - 6.0) <= 0.3, (wall, fin.elapsed_s)
    assert steps[0].elapsed_s >= 3.0 and steps[-1].lr == pytest.approx(cfg.lr * cfg.min_lr_ratio)
    assert steps[0].eta_s == pytest.approx(6.0 - steps[0].elapsed_s, abs=0.3)  # the ETA counts from the ask


def test_the_sample_at_the_end_fits_inside_the_budget(tmp_path, monkeypatch):
    """The app samples a continuation at the end of a run (5 s on a loaded laptop): a time budget
    samples once early, at its first eval, and keeps that much back, so the last sample ends
    inside the minutes instead of after them (the GUI's 1 minute took 73 s, 5 s of it sampling)."""
    from studio.core.training import Sample
    from studio.core.training import trainer as T
    data = starter_data(tmp_path)
    cfg, run, model = run_for(tmp_path, data, 0.1)
    cfg = dataclasses.replace(cfg, sample_interval=100_000, sample_tokens=8)
    real = T.sample_text

    def slow_sample(*a, **k):
        time.sleep(1.0)
        return real(*a, **k)

    monkeypatch.setattr(T, "sample_text", slow_sample)
    evs, wall = timed(train_steps(model, data, cfg, run=run))
    samples = [e for e in evs if isinstance(e, Sample)]
    fin = evs[-1]
    assert isinstance(fin, Finished) and len(samples) == 2 and samples[0].step < samples[1].step == fin.step
    assert wall <= 6.0 + 0.4, wall  # without the early sample's measure: ≈ 7 s
