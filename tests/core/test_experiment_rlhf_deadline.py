"""The RLHF experiments end within --minutes on the wall clock: every stage's step count is an
upper bound and its share of the time left ends it (a fake clock stands for a slow machine)."""
import json
from dataclasses import replace

import pytest

from studio.core.experiments import deadline as D
from studio.core.experiments import instructgpt as G
from studio.core.experiments import run
from studio.core.experiments.common import RESULT_FILE, ExperimentRequest, Finished
from studio.core.jobs.control import JobControl
from test_experiment_instruct import PIPE


class _Clock:
    """A fake half second passes at every reading: a machine on which every step is slow."""

    def __init__(self):
        self.t = 1000.0

    def __call__(self):
        self.t += 0.5
        return self.t


def test_a_stage_gets_its_share_of_the_time_left_and_a_fast_one_leaves_it_to_the_rest():
    t = [0.0]
    dl = D.Deadline(100.0, {"a": 1.0, "b": 1.0, "c": 2.0}, now=lambda: t[0])
    assert dl.stage_end("a") == pytest.approx(25.0)
    t[0] = 10.0                                        # "a" ended after 10 of its 25 s
    assert dl.stage_end("b") == pytest.approx(10.0 + 90.0 / 3)
    over = dl.over("c")
    t[0] = 99.0
    assert not over(5)
    t[0] = 100.0
    assert over(7) and over(8) and dl.cut == {"c": 7}   # the step it was cut at, once


def test_the_base_model_and_sft_may_take_twice_their_share():
    t = [0.0]
    dl = D.Deadline(100.0, {"pretrain": 1.0, "sft": 1.0, "ppo": 2.0}, now=lambda: t[0])
    assert dl.stage_end("pretrain") == pytest.approx(50.0)   # 2 × 1/4 of the 100 s left
    t[0] = 50.0
    assert dl.stage_end("sft") == pytest.approx(50.0 + 50.0 * 2 / 3)
    assert dl.stage_end("ppo") == pytest.approx(100.0)        # a share is never more than what is left


def test_a_slow_machine_cuts_every_stage_and_the_run_still_ends_by_the_deadline(tmp_path, monkeypatch):
    clock = _Clock()
    monkeypatch.setattr(D, "clock", clock)
    # counts no fake minute can hold: SFT's target is never met, the RM and PPO ask for hundreds
    big = G.Settings(replace(PIPE, pretrain_steps=400, sft_steps=400, sft_target=1.1, rm_steps=400,
                             ppo=replace(PIPE.ppo, iterations=400)))
    start = clock.t
    events = list(run(ExperimentRequest(G.MILESTONE, str(tmp_path / "ig"), minutes=1.0, data="starter", settings=big),
                      JobControl()))
    assert isinstance(events[-1], Finished)
    data = json.loads((tmp_path / "ig" / RESULT_FILE).read_text())
    dl = data["deadline"]
    assert dl["budget_s"] == 60.0 - D.MARGIN_S
    assert {"sft", "rm", "ppo"} <= set(dl["cut_at_step"])
    assert clock.t - start <= dl["budget_s"] + 2      # the last few readings: the after stage's own
    st = data["stages"]
    assert st["sft"]["steps"] < 400 and st["reward_model"]["steps"] < 400 and len(data["reward_curve"]) < 400
    assert data["curve"][-1] == [len(data["reward_curve"]), data["after"]]
