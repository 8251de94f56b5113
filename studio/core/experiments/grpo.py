"""2025-01 DeepSeek-R1, pure RL on a verifiable reward: GRPO (Shao et al. 2024, as R1-Zero uses
it) on multi-digit addition, from a base model that has only seen the task's plain text.

Each step draws ``prompts`` held-in problems, samples a group of ``group`` responses per prompt
from the policy, scores each with the exact checker (reward 1 or 0), and takes one gradient step
on the group-relative advantage (r − mean of the group) / (std of the group), with no value
network, plus a KL penalty to the base model (the k3 estimator R1 uses). With one update per
batch the policy ratio is 1, so PPO's clip never binds and the objective is the plain
policy-gradient term. The RL prompts are bare problems: no worked answers, no examples.

Metric: pass@1 on the held-out problems (never trained on, never in the pretraining text) before
and after RL, the mean accuracy of answers sampled at the RL temperature, as R1 reports pass@1;
greedy accuracy beside it; curves of the mean reward, held-out accuracy and response length.
"""
from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from studio.core.experiments import addition as A
from studio.core.experiments.common import (
    ExperimentRequest,
    Folder,
    Point,
    Row,
    Stage,
    Text,
    settings_record,
    torch_threads,
)

MILESTONE = "2025-01-deepseek-r1"
BASE_WEIGHTS, POLICY_WEIGHTS = "base.pt", "policy.pt"


@dataclass(frozen=True)
class Settings:
    task: A.Task = field(default_factory=A.Task)
    rl_steps: int = 400
    prompts: int = 32             # problems per step
    group: int = 8                # responses per problem (GRPO's G)
    lr: float = 3e-4              # 1e-3 and 6e-4 collapsed the policy within 50 steps (pass@1 14 % → 0-8 %)
    kl: float = 0.001             # β of the KL penalty to the base model (R1's value)
    temperature: float = 1.0
    eval_every: int = 50          # steps between held-out evaluations
    eval_samples: int = 4         # sampled answers per held-out problem for pass@1


def settings_for(minutes: float) -> Settings:
    from studio.core.experiments.common import scaled
    s = Settings()
    task = A.Task(pretrain_steps=scaled(s.task.pretrain_steps, minutes, least=20))  # the cap; the target stops it
    return Settings(task=task, rl_steps=scaled(s.rl_steps, minutes, least=5))


def response_logprobs(model, prompts, responses):
    """Log-probability of each response token under ``model`` (B, L)."""
    import torch
    seq = torch.cat([prompts, responses], 1)
    logits, _ = model(seq[:, :-1])
    logits = logits[:, prompts.shape[1] - 1:, :].float()
    return torch.log_softmax(logits, -1).gather(-1, responses.unsqueeze(-1)).squeeze(-1)


def response_mask(responses):
    """1 for the tokens up to and including the first newline (the rest was sampled past the end)."""
    nl = (responses == A.NEWLINE.encode()[0] + 3).int()
    after = (nl.cumsum(1) - nl) > 0
    return (~after).float()


def grpo_step(policy, reference, opt, problems, s: Settings, gen) -> dict:
    """One GRPO update; returns the step's mean reward, response length and KL."""
    import torch
    prompts = A.encode_prompts([p for p in problems for _ in range(s.group)])
    policy.eval()  # sampling: no dropout either way, but keep the mode explicit
    responses = A.sample(policy, prompts, s.task.answer_tokens, s.temperature, gen)
    texts = A.decode_responses(responses)
    rewards = torch.tensor([float(A.check(p, t)) for p, t in zip((p for p in problems for _ in range(s.group)), texts)])
    grouped = rewards.view(len(problems), s.group)
    adv = ((grouped - grouped.mean(1, keepdim=True)) / (grouped.std(1, keepdim=True) + 1e-4)).view(-1, 1)
    mask = response_mask(responses)
    policy.train()
    logp = response_logprobs(policy, prompts, responses)
    with torch.no_grad():
        ref = response_logprobs(reference, prompts, responses)
    log_ratio = ref - logp
    kl = torch.exp(log_ratio) - log_ratio - 1  # k3: unbiased, always ≥ 0
    per_token = -(adv * logp) + s.kl * kl
    loss = (per_token * mask).sum() / mask.sum()
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(policy.parameters(), 1.0)
    opt.step()
    return {"reward": float(rewards.mean()), "length": float(mask.sum(1).mean()),
            "kl": float((kl.detach() * mask).sum() / mask.sum())}


def base_model(req: ExperimentRequest, s: Settings, folder: Folder, control):
    """The pretrained base model, from the folder when an earlier (killed) run saved it."""
    import torch
    path = folder.path / BASE_WEIGHTS
    if folder.done("base") and path.is_file():
        model = A.build(s.task, req.seed)
        from studio.core.runs.weights import load_weights  # the one way weights go in: keys and shapes checked
        load_weights(model, torch.load(path, weights_only=True), str(path))
        model.eval()
        return model, folder.done("base")
    model, info = A.pretrain(s.task, req.seed, control)
    if info is None:
        return None, None
    _save(model, path)
    folder.save_unit("base", info)
    return model, info


def _save(model, path: Path) -> None:
    import io

    import torch

    from studio.core.files.yamlio import atomic_write_bytes
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    atomic_write_bytes(path, buf.getvalue())


def evaluate(model, held, s: Settings, seed: int) -> tuple[float, float, list]:
    """(pass@1: the mean accuracy of ``eval_samples`` answers sampled at the RL temperature, as R1
    reports pass@1; greedy accuracy; the greedy responses). The same seed draws the same noise."""
    import torch
    gen = torch.Generator().manual_seed(seed)
    sampled, _ = A.accuracy(model, [p for p in held for _ in range(s.eval_samples)], s.task, s.temperature, gen)
    greedy, responses = A.accuracy(model, held, s.task, 0.0, gen)
    return sampled, greedy, responses


def job(req: ExperimentRequest, control) -> Iterator:
    import copy

    import torch
    s = req.settings or settings_for(req.minutes)
    folder = Folder(req, {"seed": req.seed, "settings": settings_record(s)})
    with torch_threads(req.threads):
        yield Stage(f"pretraining the base model on plain {s.task.digits}-digit sums (until it solves "
                    f"{s.task.base_target:.0%} of validation sums)")
        base, base_info = base_model(req, s, folder, control)
        if base is None:
            return
        train_pairs, held = A.problem_sets(s.task, req.seed)
        before, greedy_before, before_resp = evaluate(base, held, s, req.seed)
        yield Stage(f"base model ({base_info['steps']} pretraining steps): held-out pass@1 {before:.3f}, greedy "
                    f"{greedy_before:.3f}; GRPO for {s.rl_steps} steps")
        yield Point("held-out pass@1", 0, before)
        yield Point("held-out greedy accuracy", 0, greedy_before)
        for p, r in list(zip(held, before_resp))[:4]:
            yield Text("before RL", f"{A.prompt(p)}{r.split(A.NEWLINE)[0]}  {'✓' if A.check(p, r) else '✗'}")
        policy = copy.deepcopy(base)
        torch.manual_seed(req.seed)
        opt = torch.optim.Adam(policy.parameters(), lr=s.lr)
        gen = torch.Generator().manual_seed(req.seed + 7)
        pick = random.Random(req.seed + 11)
        curves = {"reward": [], "accuracy": [[0, before]], "greedy": [[0, greedy_before]], "length": [], "kl": []}
        yield Row("rl", ("step", "mean reward (0–1)", "response length (tokens)", "KL to base (nats/token)",
                          "held-out pass@1", "greedy"))
        for step in range(1, s.rl_steps + 1):
            if control.should_stop():
                return
            stats = grpo_step(policy, base, opt, pick.sample(train_pairs, s.prompts), s, gen)
            for k in ("reward", "length", "kl"):
                curves[k].append([step, stats[k]])
            yield Point("mean reward", step, stats["reward"])
            acc = greedy = None
            if step % s.eval_every == 0 or step == s.rl_steps:
                acc, greedy, after_resp = evaluate(policy, held, s, req.seed)
                curves["accuracy"].append([step, acc])
                curves["greedy"].append([step, greedy])
                yield Point("held-out pass@1", step, acc)
                yield Point("held-out greedy accuracy", step, greedy)
            yield Row("rl", (step, round(stats["reward"], 3), round(stats["length"], 2), round(stats["kl"], 4),
                             "" if acc is None else round(acc, 3), "" if greedy is None else round(greedy, 3)))
        _save(policy, folder.path / POLICY_WEIGHTS)
        after = curves["accuracy"][-1][1]
        for p, r in list(zip(held, after_resp))[:4]:
            yield Text("after RL", f"{A.prompt(p)}{r.split(A.NEWLINE)[0]}  {'✓' if A.check(p, r) else '✗'}")
    yield folder.finish(
        f"pass@1 on {len(held)} held-out {s.task.digits}-digit sums ({s.eval_samples} samples each at "
        f"temperature {s.temperature:g})", True, before=before, after=after,
        curve=curves["accuracy"], greedy_before=greedy_before, greedy_after=curves["greedy"][-1][1],
        greedy_curve=curves["greedy"], reward_curve=curves["reward"], length_curve=curves["length"],
        kl_curve=curves["kl"], heldout_problems=len(held), base=base_info,
        samples_before=[[A.prompt(p), r, A.check(p, r)] for p, r in list(zip(held, before_resp))[:8]],
        samples_after=[[A.prompt(p), r, A.check(p, r)] for p, r in list(zip(held, after_resp))[:8]],
        weights={"base": BASE_WEIGHTS, "policy": POLICY_WEIGHTS},
    )
