"""Chinchilla IsoFLOP at tiny settings: every size gets the tokens C / 6N allows, the result file,
the parabola fit in log N, resume after a stop."""
import json
import math

import pytest

from studio.core.errors import StudioError
from studio.core.experiments import chinchilla as CH
from studio.core.experiments import run
from studio.core.experiments.common import (
    PROGRESS_FILE,
    RESULT_FILE,
    ExperimentRequest,
    Finished,
    Point,
)
from studio.core.jobs.control import JobControl

TINY = CH.Settings(sizes=((8, 1), (16, 1), (32, 1)), flops=6e7, batch_size=2, context=16, eval_batches=2,
                   tokenizer="byte", vocab_size=259, second_budget=0.0)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ARCHSTUDIO_CACHE_DIR", str(tmp_path / "cache"))


def _run(out, control=None, settings=TINY):
    req = ExperimentRequest(CH.MILESTONE, str(out), data="starter", settings=settings)
    return list(run(req, control or JobControl()))


def test_each_size_trains_for_its_share_of_one_budget_and_the_result_is_written(cache, tmp_path):
    events = _run(tmp_path / "ch")
    assert isinstance(events[-1], Finished)
    data = json.loads((tmp_path / "ch" / RESULT_FILE).read_text())
    assert data["milestone"] == CH.MILESTONE and data["higher_is_better"] is False
    models = data["models"]
    assert [m["dim"] for m in models] == [8, 16, 32]
    params = [m["params"] for m in models]
    tokens = [m["tokens"] for m in models]
    assert params == sorted(params) and tokens == sorted(tokens, reverse=True)  # bigger model, fewer tokens
    for m in models:  # 6·N·D stays at the budget (up to rounding to whole steps)
        assert m["flops"] == pytest.approx(TINY.flops, rel=0.25)
    assert [x for x, _ in data["curve"]] == params
    assert data["after"] == min(m["val_loss"] for m in models)
    assert data["paper_tokens_per_param"] == 20.0
    assert data["fit"] is not None and len(data["fit_curve"]) == 25
    assert sum(isinstance(e, Point) for e in events) == 3


def test_the_parabola_finds_the_optimum_of_a_known_curve():
    n_star = 1e5
    pts = [(n, 2.0 + 0.1 * (math.log(n) - math.log(n_star)) ** 2) for n in (1e4, 3e4, 1e5, 3e5, 1e6)]
    fit = CH.fit_parabola(pts)
    assert fit["convex"] and fit["n_opt"] == pytest.approx(n_star, rel=1e-6)
    assert fit["loss_at_opt"] == pytest.approx(2.0)
    assert "n_opt" not in CH.fit_parabola([(n, -y) for n, y in pts])  # concave: no optimum claimed


def test_sizes_vary_width_and_depth_of_the_llama_graph():
    from studio.core.files.presets import load_preset
    base = load_preset(CH.BASE_PRESET)
    a = CH.sized_arch(base, 48, 2, 512, 128)
    dims = a.scales["classroom"]
    assert (dims["dim"], dims["n_layers"], dims["n_heads"], dims["hidden_dim"]) == (48, 2, 3, 128)
    assert sorted(n.kind for n in a.graph.nodes.values()) == sorted(n.kind for n in base.graph.nodes.values())


def test_a_stopped_sweep_continues_with_the_sizes_not_yet_trained(cache, tmp_path, monkeypatch):
    out = tmp_path / "ch"

    class StopAfterFirst(JobControl):
        pass
    control = StopAfterFirst()
    for ev in run(ExperimentRequest(CH.MILESTONE, str(out), data="starter", settings=TINY), control):
        if isinstance(ev, Point):
            control.stop()
    assert not (out / RESULT_FILE).exists()
    assert list(json.loads((out / PROGRESS_FILE).read_text())["units"]) == ["8x1"]
    trained = []
    real = CH.train_one
    monkeypatch.setattr(CH, "train_one", lambda base, data, s, dim, *a: trained.append(dim) or real(base, data, s, dim, *a))
    assert isinstance(_run(out)[-1], Finished)
    assert trained == [16, 32]


def test_fewer_than_three_sizes_is_refused(cache, tmp_path):
    with pytest.raises(StudioError, match="at least 3"):
        _run(tmp_path / "ch", settings=CH.Settings(sizes=((8, 1), (16, 1))))


def test_a_reopened_sweep_shows_its_curve_fit_table_and_optimum(tmp_path):
    from studio.core.experiments.history import ExperimentHistory
    (tmp_path / RESULT_FILE).write_text(json.dumps({
        "milestone": CH.MILESTONE, "metric": "loss", "higher_is_better": False, "before": 4.1, "after": 3.2,
        "curve": [[9048, 3.5], [19760, 3.25], [45408, 3.2]], "fit_curve": [[9048, 3.49], [45408, 3.21]],
        "optimum": {"params": 33000.0, "tokens": 600000.0, "tokens_per_param": 18.2}, "paper_tokens_per_param": 20}))
    h = ExperimentHistory.from_folder(tmp_path)
    assert h.series["held-out loss (nats/token)"][0] == [9048.0, 19760.0, 45408.0]
    assert "fitted parabola" in h.series
    assert h.tables["result"][0] == ("parameters N", "held-out loss (nats/token)") and len(h.tables["result"]) == 4
    assert h.texts == [("compute-optimal", "fitted optimum N* = 33,000 parameters, D* = 600,000 tokens: "
                                           "18.2 tokens per parameter (paper ≈ 20)")]


def test_a_second_budget_sweeps_the_same_sizes_with_fewer_tokens(cache, tmp_path):
    from dataclasses import replace
    s = replace(TINY, second_budget=0.25)
    events = _run(tmp_path / "ch2", settings=s)
    data = json.loads((tmp_path / "ch2" / RESULT_FILE).read_text())
    assert sum(isinstance(e, Point) for e in events) == 6
    small, large = data["budgets"]
    assert small["flops"] == pytest.approx(TINY.flops / 4) and large["flops"] == TINY.flops
    assert [x for x, _ in small["curve"]] == [x for x, _ in large["curve"]] == [x for x, _ in data["curve"]]
    assert data["second_budget_curve"] == small["curve"]
    units = json.loads((tmp_path / "ch2" / PROGRESS_FILE).read_text())["units"]
    for m_small, m_large in zip(sorted((u for k, u in units.items() if "@" in k), key=lambda u: u["params"]),
                                data["models"]):
        assert m_small["params"] == m_large["params"] and m_small["steps"] < m_large["steps"]
    assert data["after"] == min(m["val_loss"] for m in data["models"])  # the metric stays the main budget's
    if all("optimum" in b for b in data["budgets"]):
        assert data["optimum_moves"]["compute_ratio"] == pytest.approx(4.0)
