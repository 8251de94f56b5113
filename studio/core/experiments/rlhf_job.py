"""The RLHF stages as one job's events, shared by the InstructGPT and ChatGPT experiments: each
stage (base, SFT, reward model, PPO) is loaded from the folder when an earlier run finished it,
else run and saved (weights file, then its progress unit), so a killed run continues there.
Every stage's step count is an upper bound: it also ends when its share of the run's wall-clock
deadline is spent (deadline.py).
"""
from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass

from studio.core.experiments import ppo as P
from studio.core.experiments import reward_model as RM
from studio.core.experiments import rlhf_pipeline as L
from studio.core.experiments.common import Folder, Point, Row, Stage, Text
from studio.core.experiments.deadline import Deadline
from studio.core.experiments.history import AXES

WEIGHTS = {"base": "base.pt", "sft": "sft.pt", "rm": "reward_model.pt", "policy": "policy.pt"}


def _stage(folder: Folder, key: str, blank: Callable, fresh: Callable, dl: Deadline, share: str):
    """(model, info): the saved stage when its unit and weights are there, else ``fresh(over)`` saved
    (``over``: its share of the deadline is spent)."""
    path = folder.path / WEIGHTS[key]
    if folder.done(key) is not None and path.is_file():
        return L.load_into(blank(), path), folder.done(key)
    t0 = dl.now()
    model, info = fresh(dl.over(share))
    dl.timed(share, t0)
    if info is None:
        return None, None
    L.save(model, path)
    folder.save_unit(key, info)
    return model, info


def prepare(req, s: L.Settings):
    """(corpus, tokenizer, pretraining TokenData)."""
    from studio.core.data import load_corpus, make_tokenizer, tokenize_corpus
    corpus = load_corpus(req.data)
    tok = make_tokenizer(s.tokenizer, corpus, s.vocab_size)
    return corpus, tok, tokenize_corpus(corpus, tok)


def stages(req, s: L.Settings, folder: Folder, control, data, task: L.Task, dl: Deadline) -> Generator:
    """Base, SFT and reward model (``yield from`` it); returns (base, sft, rm, infos) or None when stopped."""
    stop = control.should_stop
    tok, vocab = data.tokenizer, data.tokenizer.vocab_size
    yield Stage(f"pretraining the base model on the stories ({s.pretrain_steps} steps)")
    base, base_info = _stage(folder, "base", lambda: L.build_model(s, vocab, req.seed),
                             lambda over: L.pretrain(s, data, req.seed, stop, over), dl, "pretrain")
    if base is None:
        return None
    yield Stage(f"supervised fine-tuning on demonstrations (until {s.sft_target:.0%} of validation instructions "
                f"are followed, at most {s.sft_steps} steps of {s.sft_batch})")
    sft, sft_info = _stage(folder, "sft", lambda: L.build_model(s, vocab, req.seed),
                           lambda over: L.sft(base, tok, task, s, req.seed, stop, over), dl, "sft")
    if sft is None:
        return None
    yield Stage(f"reward model: {s.rm_samples} SFT replies to each of {s.rm_prompts} instructions, ranked by the "
                "rule into preference pairs")
    rm, rm_info = _stage(folder, "rm", lambda: RM.make_reward_model(sft, s.rm_pooling),
                         lambda over: L.reward_stage(sft, tok, task, s, req.seed, stop, over), dl, "rm")
    if rm is None:
        return None
    acc = rm_info.get("accuracy")
    yield Row("stages", ("stage", "result"))
    yield Row("stages", ("base", f"{base_info['steps']} steps, held-out loss {base_info['val_loss']:.3f}"))
    yield Row("stages", ("SFT", f"{sft_info['steps']} steps, loss {sft_info['final_loss']:.3f}, "
                                f"validation followed {sft_info['validation_followed']:.2f}"))
    yield Row("stages", ("reward model", f"{rm_info['sampled_pairs']} sampled + {rm_info['contrast_pairs']} "
                                         "counterfactual pairs, held-out pair accuracy "
                                         f"{'n/a' if acc is None else f'{acc:.3f}'}"))
    return base, sft, rm, {"base": base_info, "sft": sft_info, "reward_model": rm_info}


def ppo_stage(req, s: L.Settings, folder: Folder, control, tok, task: L.Task, sft, rm, rm_info: dict,
              before: float, dl: Deadline) -> Generator:
    """PPO from the SFT model (``yield from`` it); returns (policy, curves) or None when stopped."""
    import copy
    import random

    import torch
    saved = folder.path / WEIGHTS["policy"]
    if folder.done("ppo") is not None and saved.is_file():
        return L.load_into(copy.deepcopy(sft), saved), folder.done("ppo")
    p: P.PPOSettings = s.ppo
    yield Stage(f"PPO against the reward model, KL penalty β = {p.kl:g} to the SFT model ({p.iterations} "
                f"iterations of {p.prompts} samples)")
    policy, value = copy.deepcopy(sft), copy.deepcopy(rm)  # the paper initialises the value model from the RM
    torch.manual_seed(req.seed)
    opt = torch.optim.Adam(policy.parameters(), lr=p.lr)
    vopt = torch.optim.Adam(value.parameters(), lr=p.value_lr)
    gen = torch.Generator().manual_seed(req.seed + 31)
    pick = random.Random(req.seed + 32)
    norm = (rm_info.get("score_mean", 0.0), rm_info.get("score_std", 1.0))
    with torch.no_grad():  # the value model starts on the scale of the normalised reward it predicts
        value.head.weight.div_(norm[1])
        value.head.bias.sub_(norm[0]).div_(norm[1])
    curves = {"heldout": [[0, before]], "reward": [], "kl": [], "followed": []}
    main = AXES[req.milestone][1]
    yield Point(main, 0, before)
    yield Row("ppo", ("iteration", "followed (samples)", "reward", "KL to SFT", "clipped", "held-out followed"))
    over, t0 = dl.over("ppo"), dl.now()
    for it in range(1, p.iterations + 1):
        if control.should_stop():
            return None
        if over(it - 1):
            break
        items = [pick.choice(task.train) for _ in range(p.prompts)]
        prompts = L.left_pad([task.prompt(x) for x in items])
        b = P.rollout(policy, value, sft, rm, prompts, p, gen, norm)
        upd = P.update(policy, value, opt, vopt, prompts, b, p, gen)
        texts = [L.decode_reply(tok, ids) for ids in b["replies"].tolist()]
        followed = sum(task.follows(x, t) for x, t in zip(items, texts)) / len(items)
        reward, kl = float(((b["score"] - norm[0]) / norm[1]).mean()), float(b["kl"].mean())
        for key, y in (("reward", reward), ("kl", kl), ("followed", followed)):
            curves[key].append([it, y])
        yield Point("followed (PPO samples)", it, followed)
        yield Point("mean reward", it, reward)
        yield Point("KL to SFT (nats per reply)", it, kl)
        held = None
        if it % s.eval_every == 0 and it < p.iterations:  # the last one is the final evaluation's
            held, _ = L.evaluate_heldout(policy, tok, task, s, req.seed + 41)
            curves["heldout"].append([it, held])
            yield Point(main, it, held)
        yield Row("ppo", (it, round(followed, 3), round(reward, 3), round(kl, 3), round(upd["clip_fraction"], 3),
                          "" if held is None else round(held, 3)))
    dl.timed("ppo", t0)
    L.save(policy, saved)
    folder.save_unit("ppo", curves)
    return policy, curves


@dataclass(frozen=True)
class Outcome:
    """What the four stages and the held-out evaluations leave for experiment.json."""
    policy: object
    before: float
    after: float
    kl: float
    curves: dict
    infos: dict
    before_rows: list   # the held-out samples of each side, judged (for experiment.json)
    after_rows: list


def sft_then_ppo(req, s: L.Settings, folder: Folder, control, tok, data, task: L.Task, what: str, shown: int,
                 line: Callable, dl: Deadline) -> Generator:
    """Base, SFT and reward model (:func:`stages`), the SFT model on the held-out set, PPO, the policy
    on the same set and its KL to SFT (``yield from`` it); ``what`` names the held-out set in the
    stage line, ``shown`` samples of each side go out as Text through ``line(row)``. Returns an
    :class:`Outcome`, or None when stopped."""
    got = yield from stages(req, s, folder, control, data, task, dl)
    if got is None:
        return None
    _base, sft, rm, infos = got
    yield Stage(f"the SFT model on {what} ({s.eval_samples} samples each)")
    t0 = dl.now()
    before, before_rows = L.evaluate_heldout(sft, tok, task, s, req.seed + 41)
    dl.timed("before", t0)
    # the policy's evaluation costs what the SFT model's did, its KL estimate about half that again
    dl.measured("after", 1.5 * dl.spent["before"])
    for row in before_rows[:shown]:
        yield Text("SFT", line(row))
    got = yield from ppo_stage(req, s, folder, control, tok, task, sft, rm, infos["reward_model"], before, dl)
    if got is None:
        return None
    policy, curves = got
    t0 = dl.now()
    after, after_rows = L.evaluate_heldout(policy, tok, task, s, req.seed + 41)
    kl = L.mean_kl(policy, sft, task, task.heldout, s, req.seed + 43)
    dl.timed("after", t0)
    last = curves["reward"][-1][0] if curves["reward"] else 0
    curves = {**curves, "heldout": [*curves["heldout"], [last, after]]}
    yield Point(AXES[req.milestone][1], last, after)
    for row in after_rows[:shown]:
        yield Text("RLHF", line(row))
    return Outcome(policy, before, after, kl, curves, infos, before_rows, after_rows)
