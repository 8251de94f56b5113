"""InstructGPT at tiny settings: the rule, the held-out split, the reward model's pairwise loss,
GAE and the PPO update, the result file, resume after a kill."""
import copy
import json
import random
from dataclasses import replace

import pytest
import torch

from studio.core.data import load_corpus
from studio.core.experiments import instructgpt as G
from studio.core.experiments import instructions as I
from studio.core.experiments import ppo as P
from studio.core.experiments import reward_model as RM
from studio.core.experiments import rlhf_pipeline as L
from studio.core.experiments import rollout as R
from studio.core.experiments import run
from studio.core.experiments.common import PROGRESS_FILE, RESULT_FILE, ExperimentRequest, Finished, Point
from studio.core.jobs.control import JobControl

PIPE = L.Settings(data=I.DataSettings(words=12, heldout=8, demos_per_word=6), dim=16, layers=1, context=128,
                  tokenizer="byte", pretrain_steps=4, pretrain_context=64, pretrain_batch=4, sft_steps=6, sft_batch=4,
                  sft_check_every=3, validation=4, rm_prompts=6, rm_contrast=20, rm_samples=2, rm_steps=2, rm_batch=4,
                  ppo=P.PPOSettings(iterations=2, prompts=4, minibatch=2, max_new=8), eval_samples=1, eval_every=1)
TINY = G.Settings(PIPE)


def test_the_rule_wants_the_name_and_the_word():
    ins = I.Instruction("Tom", "ball")
    assert I.follows(ins, "Tom had a red Ball.")
    assert not I.follows(ins, "Tom had a red balloon.")       # whole words only
    assert not I.follows(ins, "tom had a ball.")              # the name as written
    assert not I.follows(ins, "Mia had a ball.")


def test_held_out_instructions_are_never_trained_on_and_demonstrations_follow():
    data = I.build(load_corpus("starter").stories, I.DataSettings(words=12, heldout=8), 3)
    assert len(data.heldout) == 8 and not set(data.heldout) & set(data.train)
    r = random.Random(0)
    for ins in data.train[:40]:
        assert I.follows(ins, I.demonstration(data, ins, r)), ins
    assert I.build(load_corpus("starter").stories, I.DataSettings(words=12, heldout=8), 3) == data


def test_a_corpus_without_names_is_one_clear_error():
    from studio.core.errors import StudioError
    with pytest.raises(StudioError, match="needs at least 4 names"):
        I.build(["The sun was hot. A dog ran to the park."] * 20, I.DataSettings(), 1)


def test_sampling_keeps_writing_eos_after_a_reply_ends():
    replies = torch.tensor([[5, 6, R.EOS, R.EOS], [5, 6, 7, 8]])
    assert R.reply_mask(replies).tolist() == [[1, 1, 1, 0], [1, 1, 1, 1]]
    assert R.last_index(R.reply_mask(replies)).tolist() == [2, 3]


def test_gae_with_lambda_one_is_the_return_minus_the_value():
    rewards = torch.tensor([[0.0, 0.0, 1.0, 0.0]])
    values = torch.tensor([[0.5, 0.2, 0.1, 9.0]])
    mask = torch.tensor([[1.0, 1.0, 1.0, 0.0]])          # the last column is after the reply's end
    adv, ret = P.gae(rewards, values, mask, lam=1.0)
    assert adv[0, :3].tolist() == pytest.approx([0.5, 0.8, 0.9])
    assert adv[0, 3] == 0 and ret[0, :3].tolist() == pytest.approx([1.0, 1.0, 1.0])


def _model():
    return L.build_model(PIPE, 259, 0)


def test_the_reward_model_learns_a_separable_preference():
    sft = _model()
    rm = RM.make_reward_model(sft)
    prompt = [1, 70, 71, 10]
    pairs = [(prompt, [80 + i, 90, R.EOS], [80 + i, 91, R.EOS]) for i in range(6)]
    assert RM.accuracy(rm, pairs) == 0.0                  # zero head: no preference yet (ties)
    RM.train(rm, pairs, steps=40, batch=6, lr=1e-2, seed=0, should_stop=lambda: False)
    assert RM.accuracy(rm, pairs) == 1.0
    assert torch.equal(rm.score(I.left_pad([prompt]), torch.tensor([[80, 90, R.EOS]])).detach(),
                       rm.score(I.left_pad([prompt]), torch.tensor([[80, 90, R.EOS]])).detach())


def test_a_ppo_update_raises_the_rewarded_reply_and_leaves_the_rest_alone():
    sft = _model()
    policy, value = copy.deepcopy(sft), RM.make_reward_model(sft)
    prompts = I.left_pad([[1, 70, 71, 10]] * 4)
    replies = torch.tensor([[80, 90, R.EOS], [81, 91, R.EOS], [82, 92, R.EOS], [83, 93, R.EOS]])
    mask = R.reply_mask(replies)
    with torch.no_grad():
        old = R.logprobs(policy, prompts, replies)
    adv = torch.tensor([[1.0] * 3, [-1 / 3] * 3, [-1 / 3] * 3, [-1 / 3] * 3])
    batch = {"replies": replies, "mask": mask, "old_logp": old, "old_values": torch.zeros(4, 3), "adv": adv,
             "returns": torch.zeros(4, 3)}
    s = P.PPOSettings(epochs=1, minibatch=4, lr=1e-2)
    P.update(policy, value, torch.optim.SGD(policy.parameters(), lr=0.5), torch.optim.SGD(value.parameters(), lr=0.1),
             prompts, batch, s, torch.Generator().manual_seed(0))
    with torch.no_grad():
        new = R.logprobs(policy, prompts, replies)
    assert new[0].sum() > old[0].sum()


def test_the_final_hidden_state_is_read_at_the_lm_head():
    m = _model()
    h = R.hidden_states(m, torch.tensor([[1, 70, 71]]))
    assert h.shape == (1, 3, R.hidden_width(m))


def test_instructgpt_writes_its_result(tmp_path):
    out = tmp_path / "ig"
    events = list(run(ExperimentRequest(G.MILESTONE, str(out), data="starter", settings=TINY), JobControl()))
    assert isinstance(events[-1], Finished)
    data = json.loads((out / RESULT_FILE).read_text())
    for key in ("milestone", "metric", "higher_is_better", "before", "after", "curve", "reward_model_accuracy",
                "kl_to_sft", "reward_curve", "kl_to_sft_curve", "samples_before", "samples_after"):
        assert key in data, key
    assert data["milestone"] == G.MILESTONE and data["higher_is_better"] is True
    assert 0 <= data["before"] <= 1 and 0 <= data["after"] <= 1 and data["heldout_instructions"] == 8
    assert [x for x, _ in data["curve"]] == [0, 1, 2] and data["curve"][0][1] == data["before"]
    assert data["kl_to_sft"] is not None and len(data["kl_to_sft_curve"]) == 2
    for name in ("base.pt", "sft.pt", "reward_model.pt", "policy.pt"):
        assert (out / name).is_file()


def test_a_killed_instructgpt_continues_after_its_last_stage(tmp_path, monkeypatch):
    out = tmp_path / "ig"
    control = JobControl()
    for ev in run(ExperimentRequest(G.MILESTONE, str(out), data="starter", settings=TINY), control):
        if isinstance(ev, Point):                          # the first point comes at the start of PPO
            control.stop()
    units = json.loads((out / PROGRESS_FILE).read_text())["units"]
    assert {"base", "sft", "rm"} <= set(units) and "ppo" not in units and not (out / RESULT_FILE).exists()
    for stage in ("pretrain", "sft", "reward_stage"):
        monkeypatch.setattr(L, stage, lambda *a, **k: pytest.fail("a saved stage ran again"))
    assert isinstance(list(run(ExperimentRequest(G.MILESTONE, str(out), data="starter", settings=TINY),
                               JobControl()))[-1], Finished)


def test_sft_stops_at_its_validation_target():
    corpus = load_corpus("starter")
    from studio.core.data import make_tokenizer
    tok = make_tokenizer("byte", corpus)
    task, _ = G.task_for(corpus.stories, tok, PIPE, 1)
    _, info = L.sft(_model(), tok, task, replace(PIPE, sft_target=0.0), 0, lambda: False)
    assert info["steps"] == PIPE.sft_check_every      # a target of 0 is met at the first check
    _, info = L.sft(_model(), tok, task, replace(PIPE, sft_target=1.1), 0, lambda: False)
    assert info["steps"] == PIPE.sft_steps             # never met: the cap ends it


def test_the_instructions_do_not_depend_on_the_process_hash_seed():
    """Words tied in frequency were ordered by set iteration (PYTHONHASHSEED): the same seed gave
    other instructions, another split and other results in another process."""
    import os
    import subprocess
    import sys
    code = ("from studio.core.data import load_corpus; from studio.core.experiments import instructions as I; "
            "d = I.build(load_corpus('starter').stories, I.DataSettings(), 1); print(repr((d.words, d.heldout, d.demos)))")
    outs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env=dict(os.environ, PYTHONHASHSEED=str(h))).stdout for h in (1, 2)}
    assert len(outs) == 1


def test_a_counterfactual_pair_differs_only_where_the_rule_looks():
    data = I.build(load_corpus("starter").stories, I.DataSettings(words=12, heldout=8), 3)
    r = random.Random(0)
    for ins in data.train[:60]:
        good, bad = I.contrast(data, ins, r)
        assert I.follows(ins, good) and not I.follows(ins, bad)
        g, b = I.words_of(good), I.words_of(bad)
        assert len(g) == len(b)                              # the same sentence, one name or word swapped
        assert all(x == y or x == ins.name or x.lower() == ins.word for x, y in zip(g, b))


def test_a_summed_score_adds_the_reply_tokens_up_to_its_end():
    rm = RM.make_reward_model(_model(), "sum")
    torch.nn.init.normal_(rm.head.weight)
    prompt, reply = I.left_pad([[1, 70, 71, 10]]), torch.tensor([[80, 90, R.EOS, R.EOS, R.EOS]])
    with torch.no_grad():
        per = rm.per_position(torch.cat([prompt, reply], 1))[0, 4:7]
        assert float(rm.score(prompt, reply)) == pytest.approx(float(per.sum()), abs=1e-5)
        # what follows the first EOS is padding: another token there changes nothing
        assert float(rm.score(prompt, torch.tensor([[80, 90, R.EOS, 99, 98]]))) == pytest.approx(float(per.sum()), abs=1e-5)
    with pytest.raises(ValueError, match="pooling"):
        RM.make_reward_model(_model(), "max")


def test_token_rewards_pay_the_same_score_spread_over_the_reply():
    sft = _model()
    rm = RM.make_reward_model(sft, "sum")
    torch.nn.init.normal_(rm.head.weight)
    prompts = I.left_pad([[1, 70, 71, 10]] * 3)
    out = {}
    for token in (False, True):
        s = P.PPOSettings(max_new=6, token_rewards=token)
        out[token] = P.rollout(copy.deepcopy(sft), rm, sft, rm, prompts, s, torch.Generator().manual_seed(0), (0.5, 2.0))
    assert torch.equal(out[False]["replies"], out[True]["replies"])
    # γ = λ = 1: the return at the first token is the reply's whole reward, however it is paid
    assert torch.allclose(out[False]["returns"][:, 0], out[True]["returns"][:, 0], atol=1e-4)
    assert not torch.allclose(out[False]["returns"][:, 1:], out[True]["returns"][:, 1:])


class _EndsAt:
    """Writes token 4 until a row's sequence is as long as its second prompt token, then EOS."""
    context = 64

    def __init__(self):
        self.batches = []

    def __call__(self, idx):
        self.batches.append(idx.shape[0])
        logits = torch.zeros(idx.shape[0], idx.shape[1], 10)
        ends = idx.shape[1] >= idx[:, 1]
        logits[ends, -1, R.EOS] = 1.0
        logits[~ends, -1, 4] = 1.0
        return logits, None


def test_a_finished_reply_leaves_the_batch_and_changes_no_other_row():
    m = _EndsAt()
    out = R.sample(m, torch.tensor([[1, 5, 9], [1, 6, 9], [1, 8, 9]]), 7, 0.0, torch.Generator().manual_seed(0))
    E = R.EOS
    assert out.tolist() == [[4, 4, E, E, E, E, E], [4, 4, 4, E, E, E, E], [4, 4, 4, 4, 4, E, E]]
    assert m.batches == [3, 3, 3, 2, 1, 1]                  # the rows that ended are not run again
    real = _model()
    prompts = I.left_pad([[1, 70, 71, 10], [1, 80, 10], [1, 90, 91, 92, 10]])
    together = R.sample(real, prompts, 8, 0.0, torch.Generator().manual_seed(0))
    for i in range(3):
        assert torch.equal(R.sample(real, prompts[i:i + 1], 8, 0.0, torch.Generator().manual_seed(0)), together[i:i + 1])
