"""DeepSeek-R1 GRPO and o1 test-time compute at tiny settings: the checker, the group-relative
update (equal rewards → no policy change), the result files, resume after the base model, and
majority vote / best-of-n counted right."""
import copy
import json

import pytest
import torch

from studio.core.errors import StudioError
from studio.core.experiments import addition as A
from studio.core.experiments import grpo as G
from studio.core.experiments import run
from studio.core.experiments import test_time as O1
from studio.core.experiments.common import (
    PROGRESS_FILE,
    RESULT_FILE,
    ExperimentRequest,
    Finished,
    Point,
)
from studio.core.jobs.control import JobControl

TASK = A.Task(digits=2, dim=16, layers=1, context=32, pretrain_steps=6, pretrain_batch=4, corpus_problems=300,
              heldout=12, base_target=1.0, check_every=3)
TINY = G.Settings(task=TASK, rl_steps=3, prompts=4, group=4, eval_every=2, eval_samples=2)


def test_the_checker_wants_the_exact_sum_then_a_newline():
    assert A.check((12, 30), "42\n7+1")
    assert not A.check((12, 30), "42")          # never ended
    assert not A.check((12, 30), "042\n")
    assert not A.check((12, 30), "41\n")
    assert A.answer_of("42\nxx") == "42" and A.answer_of("42") is None


def test_held_out_problems_are_never_in_the_pretraining_text():
    train, held, val = A.problem_sets_with_validation(TASK, 5)
    assert len(held) == len(val) == TASK.heldout
    assert not set(held) & set(train) and not set(val) & set(train) and not set(val) & set(held)
    assert A.problem_sets(TASK, 5) == (train, held)
    data = A.token_data(TASK, train, held)
    text = "".join(data.corpus.stories)
    for p in held:
        assert f"\n{A.prompt(p)}" not in "\n" + text


def test_response_mask_keeps_tokens_up_to_the_first_newline():
    nl = ord("\n") + 3
    responses = torch.tensor([[20, 21, nl, 22, nl], [20, 21, 22, 23, 24]])
    assert G.response_mask(responses).tolist() == [[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]]


def test_equal_rewards_in_every_group_leave_the_policy_unchanged(monkeypatch):
    """Group-relative advantages: with no difference inside any group there is nothing to learn,
    and at the start the policy equals the reference, so the KL term has no gradient either."""
    model = A.build(TASK, 0)
    policy = copy.deepcopy(model)
    opt = torch.optim.Adam(policy.parameters(), lr=1e-2)
    monkeypatch.setattr(A, "check", lambda p, r: True)
    before = [p.detach().clone() for p in policy.parameters()]
    stats = G.grpo_step(policy, model, opt, [(10, 20), (33, 44)], TINY, torch.Generator().manual_seed(0))
    assert stats["reward"] == 1.0
    assert all(torch.equal(a, b) for a, b in zip(before, policy.parameters()))


def test_different_rewards_move_the_policy_toward_the_rewarded_answer(monkeypatch):
    model = A.build(TASK, 0)
    policy = copy.deepcopy(model)
    opt = torch.optim.SGD(policy.parameters(), lr=0.5)
    prompts = A.encode_prompts([(10, 20)] * 8)
    gen = torch.Generator().manual_seed(1)
    responses = A.sample(model, prompts, TASK.answer_tokens, 1.0, gen)
    good = A.decode_responses(responses[:1])[0]
    monkeypatch.setattr(A, "sample", lambda *a: responses)  # the same 8 answers the test scores
    monkeypatch.setattr(A, "check", lambda p, r: r == good)
    s = G.Settings(task=TASK, group=8, kl=0.0)
    logp_before = G.response_logprobs(policy, prompts[:1], responses[:1]).sum()
    G.grpo_step(policy, model, opt, [(10, 20)], s, gen)
    with torch.no_grad():
        assert G.response_logprobs(policy, prompts[:1], responses[:1]).sum() > logp_before


def test_r1_writes_its_result_and_o1_samples_its_policy(tmp_path):
    r1 = tmp_path / "r1"
    events = list(run(ExperimentRequest(G.MILESTONE, str(r1), settings=TINY), JobControl()))
    assert isinstance(events[-1], Finished)
    data = json.loads((r1 / RESULT_FILE).read_text())
    for key in ("milestone", "metric", "higher_is_better", "before", "after", "curve", "reward_curve",
                "length_curve", "greedy_before", "greedy_after"):
        assert key in data
    assert data["heldout_problems"] == TASK.heldout and 0 <= data["before"] <= 1 and 0 <= data["after"] <= 1
    assert [x for x, _ in data["curve"]] == [0, 2, 3] and len(data["reward_curve"]) == 3
    assert (r1 / "base.pt").is_file() and (r1 / "policy.pt").is_file()

    o1 = tmp_path / "o1"
    s = O1.Settings(task=TASK, samples=(1, 2, 4))
    events = list(run(ExperimentRequest(O1.MILESTONE, str(o1), settings=s, source=str(r1)), JobControl()))
    data = json.loads((o1 / RESULT_FILE).read_text())
    assert [x for x, _ in data["curve"]] == [1, 2, 4] and "R1 experiment's RL policy" in data["model"]
    best = [y for _, y in data["best_of_n_curve"]]
    assert best[0] == pytest.approx(data["curve"][0][1])  # one sample: vote and verifier agree
    from studio.core.experiments.history import ExperimentHistory
    for folder in (r1, o1):  # the view's Open…: o1's samples_before/after are counts, not sample lists
        h = ExperimentHistory.from_folder(folder)
        assert h.status == "done" and h.series


def test_a_stopped_r1_keeps_its_base_model(tmp_path, monkeypatch):
    out = tmp_path / "r1"
    control = JobControl()
    for ev in run(ExperimentRequest(G.MILESTONE, str(out), settings=TINY), control):
        if isinstance(ev, Point):
            control.stop()
    assert "base" in json.loads((out / PROGRESS_FILE).read_text())["units"]
    monkeypatch.setattr(A, "pretrain", lambda *a: pytest.fail("the saved base model is pretrained again"))
    assert isinstance(list(run(ExperimentRequest(G.MILESTONE, str(out), settings=TINY), JobControl()))[-1], Finished)


def test_majority_vote_and_best_of_n_are_counted_per_disjoint_set():
    assert O1.majority(["3", None, "5", "5", "3"]) == "3"    # tie: the answer given first
    assert O1.majority([None, None]) is None
    problems = [(1, 2)]
    responses = [["4\n", "3\n", "3\n", "5\n"]]
    acc = O1.curves(problems, responses, (1, 2, 4))
    assert acc[1] == (0.5, 0.5)           # 2 of 4 single samples are right
    assert acc[2] == (0.5, 1.0)           # {4,3}: the tie goes to 4 ✗; {3,5}: 3 ✓; each set holds a 3
    assert acc[4] == (1.0, 1.0)


def test_o1_from_a_folder_that_is_not_r1_is_refused(tmp_path):
    with pytest.raises(StudioError, match="no finished"):
        list(run(ExperimentRequest(O1.MILESTONE, str(tmp_path / "o1"), source=str(tmp_path),
                                   settings=O1.Settings(task=TASK)), JobControl()))


def test_pretraining_stops_once_the_validation_target_is_reached():
    from dataclasses import replace
    model, info = A.pretrain(replace(TASK, pretrain_steps=40, base_target=0.0, check_every=2), 0, JobControl())
    assert info["steps"] == 2 and info["validation_accuracy"] >= 0.0  # a target of 0 is met at the first check
    model, info = A.pretrain(replace(TASK, pretrain_steps=4, base_target=1.0, check_every=2), 0, JobControl())
    assert info["steps"] == 4  # never met: the cap ends it
