"""The MoE routing history is filled from training step events (plain numbers read by the trainer
on its own thread), never from a live model: no model object reaches it, no lock is needed."""
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import numpy as np
import pytest
import torch
from test_inspection import moe_mla_arch
from tiny_training import starter_data, tiny_arch

from studio.core.inspect.routing_history import RoutingHistory
from studio.core.model.compiler import compile_architecture
from studio.core.state.run import RunState
from studio.core.training import RoutingSample, StepMetrics, TrainConfig, train_steps
from studio.core.training import setup as S
from studio.core.training.routing_readout import moe_layers, read_routing

LAYERS = ("layers.1.feed_forward", "layers.2.feed_forward")


def step_event(step, loads, aux=(0.01, math.nan), bias=None):
    """A step event as the trainer yields it: the routing is tuples of floats, no tensor, no model."""
    bias = bias or tuple((0.0,) * len(ld) for ld in loads)
    return StepMetrics(step, step * 64, 3.0, 1e-3, 1.0, 100.0, 0.1 * step,
                       routing=RoutingSample(LAYERS, tuple(loads), tuple(aux), bias))


def step_from_model(step, model):
    """The step event the trainer would yield after training ``model`` one step (its routing read
    on the trainer's side; tests of the views feed RunState with it)."""
    return StepMetrics(step, step * 64, 3.0, 1e-3, 1.0, 100.0, 0.1 * step, routing=read_routing(moe_layers(model)))


def test_history_fills_from_step_events_without_a_model():
    hist = RoutingHistory(max_steps=4)
    fired = []
    hist.changed.connect(lambda: fired.append(1))
    for step in range(1, 11):
        hist.add(step_event(step, ((0.5, 0.5, 0.0, 0.0), (0.25,) * 4), bias=((0.1 * step, 0, 0, 0), (0, 0, 0, 0))))
    snap = hist.snapshot()
    assert snap.layers == LAYERS and len(fired) == snap.version > 0
    assert 2 <= len(snap.steps) <= 4 and snap.steps[0] == 1 and snap.steps[-1] >= 7  # bounded, covers the run
    assert (np.diff(snap.steps) > 0).all()
    assert snap.load[0].shape == (len(snap.steps), 4) and snap.collapsed(0) == (2, 3) and snap.collapsed(1) == ()
    assert snap.cv(1).tolist() == [0.0] * len(snap.steps)
    assert np.isfinite(snap.aux[0]).all() and np.isnan(snap.aux[1]).all()  # NaN: a block without aux loss
    assert snap.bias[0][-1, 0] == pytest.approx(0.1 * snap.steps[-1])


def test_events_without_routing_leave_the_history_alone_and_a_new_run_starts_over():
    hist = RoutingHistory()
    hist.add(step_event(5, ((1.0, 0.0), (0.5, 0.5))))
    hist.add(StepMetrics(6, 384, 3.0, 1e-3, 1.0, 100.0, 0.6))  # a dense model's step: nothing to record
    assert hist.snapshot().steps.tolist() == [5] and hist.version == 1
    hist.add(step_event(1, ((1.0, 0.0), (0.5, 0.5))))  # steps restart: another run
    assert hist.snapshot().steps.tolist() == [1]


def test_run_state_records_a_live_runs_steps_for_its_document():
    run = RunState()
    run.record_step(step_event(1, ((1.0, 0.0), (0.5, 0.5))), "mixtral")  # no live run: nowhere to go
    run.start_live("mixtral")
    run.record_step(step_event(1, ((1.0, 0.0), (0.5, 0.5))), "mixtral")
    assert run.routing_history is None  # no document on screen
    history = run._live["mixtral"].routing_history
    assert history.snapshot().steps.tolist() == [1]
    run.start_live("mixtral")  # a new run of the same document: a history of its own
    assert run._live["mixtral"].routing_history is not history and run._live["mixtral"].routing_history.version == 0


def test_read_routing_gives_plain_floats_of_the_last_forward():
    torch.manual_seed(0)
    model = compile_architecture(moe_mla_arch(bias_balancing=True)).train()
    x = torch.randint(3, 259, (2, 12))
    model(x[:, :-1], x[:, 1:])
    named = moe_layers(model)
    sample = read_routing(named)
    assert sample.layers == ("layers.1.feed_forward", "layers.2.feed_forward", "layers.3.feed_forward")
    for i, (_, m) in enumerate(named):
        counts = m.tokens_per_expert.float()
        np.testing.assert_allclose(sample.load[i], (counts / counts.sum()).numpy(), rtol=1e-6)
        np.testing.assert_allclose(sample.bias[i], m.expert_bias.numpy())
        assert sample.aux[i] == pytest.approx(float(m.aux_loss.detach()))
        assert all(type(v) is float for v in sample.load[i] + sample.bias[i] + (sample.aux[i],))
    assert read_routing(moe_layers(compile_architecture(tiny_arch()))) is None  # a dense model


def test_the_trainers_step_events_carry_the_routing(tmp_path):
    data = starter_data(tmp_path)
    model = S.build_model(tiny_arch("2023-12-mixtral"), 0)
    cfg = TrainConfig.for_run(steps=3, batch_size=4, context=32, eval_interval=3, eval_batches=1, threads=1)
    steps = [e for e in train_steps(model, data, cfg) if isinstance(e, StepMetrics)]
    assert [s.step for s in steps] == [1, 2, 3] and all(s.routing is not None for s in steps)
    r = steps[-1].routing
    assert len(r.layers) == 2 and all(len(ld) == 4 and sum(ld) == pytest.approx(1.0) for ld in r.load)
    assert all(a > 0 for a in r.aux)  # Mixtral's load-balancing loss
    assert "routing" not in steps[-1].record()  # metrics.jsonl keeps its records as before
    hist = RoutingHistory()
    for s in steps:
        hist.add(s)
    assert hist.snapshot().steps.tolist() == [1, 2, 3]
