"""2022-03 InstructGPT, the three stages at toy scale (Ouyang et al. 2022): a base model pretrained
briefly on the stories, supervised fine-tuning on demonstrations of "Write a story about {name}
that uses the word {word}.", a reward model trained on preference pairs of the SFT model's own
replies ranked by a checkable rule (the reply names the name and uses the word), then PPO with a
KL penalty to the SFT model and a value model initialised from the reward model.

Metric: the share of held-out instructions (name-word combinations no stage saw) whose sampled
replies follow the rule, judged by the rule and never by the reward model: before = SFT, after =
PPO. Also the reward model's accuracy on held-out pairs and the policy's KL to the SFT model.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace

from studio.core.experiments import instructions as I
from studio.core.experiments import rlhf_job as J
from studio.core.experiments import rlhf_pipeline as L
from studio.core.experiments.common import ExperimentRequest, Folder, Stage, settings_record, torch_threads
from studio.core.experiments.deadline import Deadline

MILESTONE = "2022-03-instructgpt"


@dataclass(frozen=True)
class Settings:
    pipeline: L.Settings = field(default_factory=L.Settings)


def settings_for(minutes: float) -> Settings:
    """The stages' step counts scale with ``minutes`` (calibrated for 3 on one thread)."""
    from studio.core.experiments.common import scaled
    s = L.Settings()
    ppo = replace(s.ppo, iterations=scaled(s.ppo.iterations, minutes, least=2))
    return Settings(replace(s, pretrain_steps=scaled(s.pretrain_steps, minutes, least=10),
                            sft_steps=scaled(s.sft_steps, minutes, least=10), rm_steps=scaled(s.rm_steps, minutes, least=5),
                            rm_prompts=scaled(s.rm_prompts, minutes, least=16), ppo=ppo))


def task_for(stories, tok, s: L.Settings, seed: int) -> tuple[L.Task, I.InstructionData]:
    data = I.build(stories, s.data, seed, I.reply_fits(tok, I.single_turn_budget(tok, s.context)))
    return L.Task(train=data.train, heldout=data.heldout, prompt=lambda ins: I.prompt_ids(tok, ins.text),
                  demonstration=lambda ins, r: I.demonstration(data, ins, r), follows=I.follows,
                  contrast=lambda ins, r: I.contrast(data, ins, r)), data


def job(req: ExperimentRequest, control) -> Iterator:
    s = (req.settings or settings_for(req.minutes)).pipeline
    folder = Folder(req, {"seed": req.seed, "data": req.data, "settings": settings_record(s)})
    dl = Deadline.for_minutes(req.minutes)  # from here: the tokenizer on a cold cache is inside it too
    with torch_threads(req.threads):
        yield Stage(f"reading the stories and the {s.tokenizer} tokenizer; building the instructions")
        corpus, tok, data = J.prepare(req, s)
        task, idata = task_for(corpus.stories, tok, s, req.seed)
        out = yield from J.sft_then_ppo(req, s, folder, control, tok, data, task,
                                        f"{len(task.heldout)} held-out instructions", 4, _line, dl)
        if out is None:
            return
        before, after, kl, curves, infos = out.before, out.after, out.kl, out.curves, out.infos
        before_rows, after_rows = out.before_rows, out.after_rows
    yield folder.finish(
        f"share of {len(task.heldout)} held-out instructions followed, judged by the rule ({s.eval_samples} sampled "
        f"replies each at temperature {s.ppo.temperature:g}): SFT vs PPO", True,
        before=before, after=after, curve=curves["heldout"], reward_curve=curves["reward"],
        kl_to_sft_curve=curves["kl"], rollout_followed_curve=curves["followed"],
        reward_model_accuracy=infos["reward_model"].get("accuracy"), kl_to_sft=kl, stages=infos,
        heldout_instructions=len(task.heldout), names=list(idata.names), words=list(idata.words),
        samples_before=_samples(before_rows), samples_after=_samples(after_rows), data=corpus.label,
        weights=dict(J.WEIGHTS), deadline=dl.record(), rule="the reply names the name and uses the word (whole words)",
        not_in_this_experiment=["PPO-ptx (pretraining gradients mixed into PPO)", "human labellers: the rule ranks"],
    )


def _line(row) -> str:
    ins, text, ok = row
    return f"{ins.text} → {text or '(empty)'}  {'✓' if ok else '✗'}"


def _samples(rows, n: int = 8) -> list:
    """The first reply of ``n`` different instructions: [instruction, reply, followed]."""
    seen, out = set(), []
    for ins, text, ok in rows:
        if ins not in seen:
            seen.add(ins)
            out.append([ins.text + " → ", text, bool(ok)])
        if len(out) == n:
            break
    return out

