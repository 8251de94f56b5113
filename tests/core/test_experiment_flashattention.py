"""FlashAttention experiment at tiny settings: the result file, the memory ratio growing with the
context (exact: live tensor bytes, not timings), the three kernels agreeing, resume after a stop."""
import json

import pytest
import torch

from studio.core.errors import StudioError
from studio.core.experiments import flashattention as FA
from studio.core.experiments import run
from studio.core.experiments.common import (
    PROGRESS_FILE,
    RESULT_FILE,
    ExperimentRequest,
    Finished,
    Point,
)
from studio.core.jobs.control import JobControl

TINY = FA.Settings(contexts=(32, 64, 128), heads=2, head_dim=16, repeats=1)


def _run(out, control=None, milestone=FA.MILESTONE, settings=TINY):
    return list(run(ExperimentRequest(milestone, str(out), settings=settings), control or JobControl()))


def test_result_has_the_common_fields_and_the_ratio_grows_with_context(tmp_path):
    events = _run(tmp_path / "fa")
    assert isinstance(events[-1], Finished)
    data = json.loads((tmp_path / "fa" / RESULT_FILE).read_text())
    for key in ("milestone", "metric", "higher_is_better", "before", "after", "curve"):
        assert key in data
    assert data["milestone"] == FA.MILESTONE and data["higher_is_better"] is True
    xs = [x for x, _ in data["curve"]]
    ratios = [y for _, y in data["curve"]]
    assert xs == [32, 64, 128]
    assert ratios == sorted(ratios) and ratios[-1] > 1.5 * ratios[0]  # the T×T matrix grows as T², the tiles as T
    assert data["after"] == ratios[-1] and data["before"] == ratios[0]
    hbm = data["hbm_ratio"]
    assert [y for _, y in hbm] == sorted(y for _, y in hbm)  # the paper's estimate grows too
    assert any(isinstance(e, Point) for e in events)


def test_the_three_kernels_compute_the_same_function():
    q, k, v = (torch.randn(1, 2, 48, 16) for _ in range(3))
    ref = FA.naive_attention(q, k, v)
    for name, fn in FA.kernels(TINY).items():
        assert torch.allclose(fn(q, k, v), ref, atol=1e-5), name


def test_hbm_estimate_standard_is_quadratic_flash_is_not():
    std1, fl1 = FA.hbm_accesses(1024, 64)
    std2, fl2 = FA.hbm_accesses(2048, 64)
    assert std2 / std1 > 3.5          # N² dominates the standard count
    assert fl1 < std1 and fl2 < std2


class StopAfter(JobControl):
    """Stops the job once ``n`` points have been yielded (a kill between units of work)."""
    def __init__(self, n):
        super().__init__()
        self.left = n

    def seen(self, ev):
        if isinstance(ev, Point):
            self.left -= 1
            if self.left <= 0:
                self.stop()


def test_a_stopped_run_continues_where_it_stopped(tmp_path, monkeypatch):
    out = tmp_path / "fa"
    control = StopAfter(1)
    for ev in run(ExperimentRequest(FA.MILESTONE, str(out), settings=TINY), control):
        control.seen(ev)
    assert not (out / RESULT_FILE).exists()
    done = json.loads((out / PROGRESS_FILE).read_text())["units"]
    assert list(done) == ["32"]
    measured = []
    real = FA.measure
    monkeypatch.setattr(FA, "measure", lambda fn, s, T, seed: measured.append(T) or real(fn, s, T, seed))
    events = _run(out)
    assert isinstance(events[-1], Finished)
    assert 32 not in measured and set(measured) == {64, 128}  # the finished context is not measured again


def test_a_folder_of_another_experiment_or_other_settings_is_refused(tmp_path):
    out = tmp_path / "fa"
    _run(out)
    with pytest.raises(StudioError, match="other settings"):
        _run(out, settings=FA.Settings(contexts=(32,), heads=1, head_dim=16, repeats=1))
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    with pytest.raises(StudioError, match="not empty"):
        _run(tmp_path / "busy")
    assert (tmp_path / "busy" / "notes.txt").read_text() == "mine"
