"""2022-11 ChatGPT at toy scale: InstructGPT's three stages (the same functions) on conversations
behind a chat template (chat_template.py), one or two turns long. A turn is an instruction of
the InstructGPT experiment; an earlier turn's reply in a training prompt is a demonstration.

Metric: multi-turn following on held-out conversations of two held-out instructions, the model
writing both replies (its first reply stays in the context of the second); a conversation counts
when both replies follow their instruction by the rule. Before = SFT, after = PPO. The folder is
also a run folder (run.yaml with the chat template, tokenizer/, checkpoints/latest.pt = the PPO
policy): ``archstudio generate DIR --chat`` and the app's Generate panel talk to it turn by turn.
"""
from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

from studio.core.experiments import instructions as I
from studio.core.experiments import rlhf_job as J
from studio.core.experiments import rlhf_pipeline as L
from studio.core.experiments import rollout as R
from studio.core.experiments.chat_template import ChatTemplate
from studio.core.experiments.common import ExperimentRequest, Folder, Stage, settings_record, torch_threads
from studio.core.experiments.deadline import Deadline

MILESTONE = "2022-11-chatgpt"
TEMPLATE = ChatTemplate()
# the stages' seconds on one core (seed 1337, starter stories, load 3.5; PPO scaled from 24 to 32
# iterations): the deadline's shares (deadline.py)
WEIGHTS = {"pretrain": 7.0, "sft": 25.0, "rm": 50.0, "before": 6.0, "ppo": 68.0, "after": 9.0}


@dataclass(frozen=True)
class Conversation:
    earlier: tuple                # ((Instruction, reply text), ...): the turns before, answered
    ins: Instruction              # the turn the model answers

    @property
    def text(self) -> str:
        return " ⏎ ".join([*(f"{e.text} → {reply}" for e, reply in self.earlier), self.ins.text])


Instruction = I.Instruction


@dataclass(frozen=True)
class Settings:
    pipeline: L.Settings = field(default_factory=lambda: L.Settings(context=160))
    two_turn_share: float = 0.5   # of the training conversations; the others are one turn


def settings_for(minutes: float) -> Settings:
    """InstructGPT's stages scaled with ``minutes``, with less PPO and reward-model work: a two-turn
    prompt is about 120 tokens against InstructGPT's 31, so each step costs 2-3 times as much."""
    from studio.core.experiments.common import scaled
    from studio.core.experiments.instructgpt import settings_for as instruct
    s = instruct(minutes).pipeline
    # β 0.5 (InstructGPT's 0.2): at 0.2 the chat policy over-exploited its reward model (one seed
    # peaked at iteration 16, then fell with KL 4.9; median both-turn share 0.131 → 0.100). PPO alone
    # on the same three seeds' SFT and reward models at 0.5: 0.131 → 0.231, 0.062 → 0.125,
    # 0.138 → 0.212 (KL 0.6-1.6)
    ppo = replace(s.ppo, iterations=scaled(32, minutes, least=2), prompts=48, kl=0.5)
    return Settings(replace(s, context=160, rm_prompts=scaled(96, minutes, least=16), rm_steps=scaled(250, minutes, least=5),
                            rm_contrast=1200, ppo=ppo, eval_every=16))


def conversations(idata: I.InstructionData, items, share: float, seed: int) -> tuple:
    """One- and two-turn conversations ending in each of ``items`` (the first turn answered by a
    demonstration of another instruction of the same split)."""
    r = random.Random(seed)
    out = []
    for ins in items:
        if r.random() < share:
            first = r.choice([x for x in items if x != ins])
            out.append(Conversation(((first, I.demonstration(idata, first, r)),), ins))
        else:
            out.append(Conversation((), ins))
    return tuple(out)


def two_turn_budget(tok, context: int) -> int:
    """The most tokens a demonstration may have so that a two-turn conversation of the longest
    instructions, both answered by demonstrations, fits ``context`` (TinyStories' sentences are
    long: 162 tokens overflowed the 160 of the chat model before this bound)."""
    longest = I.longest_instruction().text
    frame = TEMPLATE.ids(tok, [(longest, ""), (longest, None)])
    return max(1, (context - len(frame)) // 2 - I.NAME_MARGIN)


def prompt_of(tok):
    return lambda c: TEMPLATE.ids(tok, [*((e.text, reply) for e, reply in c.earlier), (c.ins.text, None)])


def multi_turn(model, tok, pairs, samples: int, s: L.Settings, seed: int):
    """(share of two-turn conversations whose two replies, both the model's, follow their
    instruction; rows (conversation, second reply, followed)). Each pair is talked ``samples`` times."""
    import torch
    gen = torch.Generator().manual_seed(seed)
    convs = [p for p in pairs for _ in range(samples)]
    p = s.ppo
    first = [I.decode_reply(tok, ids) for ids in
             R.sample(model, I.left_pad([TEMPLATE.ids(tok, [(a.text, None)]) for a, _ in convs]), p.max_new,
                      p.temperature, gen).tolist()]
    second_prompts = [TEMPLATE.ids(tok, [(a.text, r1), (b.text, None)]) for (a, b), r1 in zip(convs, first)]
    second = [I.decode_reply(tok, ids) for ids in
              R.sample(model, I.left_pad(second_prompts), p.max_new, p.temperature, gen).tolist()]
    rows = [(Conversation(((a, r1),), b), r2, I.follows(a, r1) and I.follows(b, r2))
            for (a, b), r1, r2 in zip(convs, first, second)]
    return sum(ok for _, _, ok in rows) / max(1, len(rows)), rows


def task_for(stories, tok, s: Settings, seed: int) -> tuple[L.Task, list]:
    idata = I.build(stories, s.pipeline.data, seed, I.reply_fits(tok, two_turn_budget(tok, s.pipeline.context)))
    held = list(idata.heldout)
    # every held-out instruction is once the first turn and once the second: 40 conversations of 40
    # instructions (20 disjoint pairs, 4 samples each, measured in steps of 1/80: one seed's SFT
    # model scored 0.225, 0.1625 and 0.25 at three PPO checkpoints)
    pairs = list(zip(held, held[1:] + held[:1]))
    task = L.Task(train=conversations(idata, idata.train, s.two_turn_share, seed + 1),
                  heldout=conversations(idata, held, 1.0, seed + 2), prompt=prompt_of(tok),
                  demonstration=lambda c, r: I.demonstration(idata, c.ins, r),
                  follows=lambda c, text: I.follows(c.ins, text), contrast=lambda c, r: I.contrast(idata, c.ins, r),
                  heldout_eval=lambda m, sd: multi_turn(m, tok, pairs, s.pipeline.eval_samples, s.pipeline, sd))
    return task, pairs


def job(req: ExperimentRequest, control) -> Iterator:
    s_all = req.settings or settings_for(req.minutes)
    s = s_all.pipeline
    folder = Folder(req, {"seed": req.seed, "data": req.data, "settings": settings_record(s_all)})
    dl = Deadline.for_minutes(req.minutes, WEIGHTS)  # from here: a cold cache's tokenizer is inside it too
    with torch_threads(req.threads):
        yield Stage(f"reading the stories and the {s.tokenizer} tokenizer; building the conversations")
        corpus, tok, data = J.prepare(req, s)
        task, pairs = task_for(corpus.stories, tok, s_all, req.seed)
        out = yield from J.sft_then_ppo(req, s, folder, control, tok, data, task,
                                        f"{len(pairs)} held-out two-turn conversations", 3, _line, dl)
        if out is None:
            return
        before, after, kl, curves, infos = out.before, out.after, out.kl, out.curves, out.infos
        before_rows, after_rows = out.before_rows, out.after_rows
        write_chat_run(folder, s, tok, out.policy, req.seed, corpus.label)
    yield folder.finish(
        f"share of {len(pairs)} held-out two-turn conversations whose two replies (both the model's) follow "
        f"their instruction, judged by the rule ({s.eval_samples} conversations each): SFT vs PPO", True,
        before=before, after=after, curve=curves["heldout"], reward_curve=curves["reward"],
        kl_to_sft_curve=curves["kl"], rollout_followed_curve=curves["followed"],
        reward_model_accuracy=infos["reward_model"].get("accuracy"), kl_to_sft=kl, stages=infos,
        heldout_conversations=len(pairs), chat_template=TEMPLATE.record(), data=corpus.label,
        samples_before=[[c.text + " → ", t, bool(ok)] for c, t, ok in before_rows[:8]],
        samples_after=[[c.text + " → ", t, bool(ok)] for c, t, ok in after_rows[:8]],
        weights=dict(J.WEIGHTS), deadline=dl.record(), chat_run=str(folder.path),
    )


def _line(row) -> str:
    conv, text, ok = row
    return f"{conv.text} → {text or '(empty)'}  {'✓' if ok else '✗'}"


def write_chat_run(folder: Folder, s: L.Settings, tok, policy, seed: int, data_label: str) -> None:
    """The experiment folder as a run folder of the PPO policy, with its chat template."""
    from studio.core.experiments.chinchilla import BASE_PRESET, sized_arch
    from studio.core.files.presets import load_preset
    from studio.core.runs.rundir import RunDir
    arch = sized_arch(load_preset(BASE_PRESET), s.dim, s.layers, tok.vocab_size, s.context)
    arch.meta["title"] = "ChatGPT experiment: the RLHF chat model"
    run = RunDir(folder.path)
    run.initialize(arch, MILESTONE, tok, training={"steps": s.ppo.iterations, "seed": seed},
                   data={"source": "experiment", "label": data_label})
    cfg = run.read_config()
    run.write_config({**{k: v for k, v in cfg.items() if k not in ("schema_version", "kind")},
                      "chat": TEMPLATE.record()})
    run.save_checkpoint({"model": policy.state_dict()}, s.ppo.iterations, keep_step_file=False)
