"""The verifiable task of the R1 and o1 experiments: multi-digit addition with an exact checker.

A problem is the prompt ``"347+285="``; a response is correct when it is the sum's digits followed
by a newline (``"632\\n"``), nothing else. The base model is the classroom LLaMA, shrunk, with the
byte-level tokenizer, pretrained by the app's trainer on plain text of solved sums, one per line
(the task's text, as a web corpus would hold it); the held-out problems never appear in it.
Sampling is batched: every prompt has the same length, so a batch needs no padding.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

NEWLINE = "\n"


@dataclass(frozen=True)
class Task:
    digits: int = 2               # each operand has exactly this many digits (3 left a 1.5 % base model)
    dim: int = 64
    layers: int = 2
    context: int = 64
    # Pretraining stops once the greedy accuracy on validation sums (neither held out nor in the
    # text) reaches base_target, checked every check_every steps, at most pretrain_steps. A fixed
    # step count gave bases from 7 % (600 steps) to 95 % (1500 steps, one seed of three): the
    # sudden rise of these tiny models comes at a seed-dependent step, so a count cannot place
    # every seed's base where RL has something to find and something left to learn.
    pretrain_steps: int = 2000
    base_target: float = 0.3
    check_every: int = 50
    pretrain_batch: int = 16
    pretrain_lr: float = 3e-3
    corpus_problems: int = 40_000  # solved sums in the pretraining text
    heldout: int = 200

    @property
    def answer_tokens(self) -> int:
        return self.digits + 2     # at most digits + 1 for the sum, plus the newline


def problem_sets(task: Task, seed: int) -> tuple[list, list]:
    """(training pairs, held-out pairs): disjoint, drawn with the seed."""
    train, held, _ = problem_sets_with_validation(task, seed)
    return train, held


def problem_sets_with_validation(task: Task, seed: int) -> tuple[list, list, list]:
    """(training pairs, held-out pairs, validation pairs), pairwise disjoint, drawn with the seed;
    validation decides when pretraining stops and is never in the text or the held-out set."""
    r = random.Random(seed)
    lo, hi = 10 ** (task.digits - 1), 10 ** task.digits - 1
    held: set = set()
    while len(held) < task.heldout:
        held.add((r.randint(lo, hi), r.randint(lo, hi)))
    val: set = set()
    while len(val) < task.heldout:
        p = (r.randint(lo, hi), r.randint(lo, hi))
        if p not in held:
            val.add(p)
    train = []
    while len(train) < task.corpus_problems:
        p = (r.randint(lo, hi), r.randint(lo, hi))
        if p not in held and p not in val:
            train.append(p)
    return train, sorted(held), sorted(val)


def prompt(p) -> str:
    return f"{p[0]}+{p[1]}="


def check(p, response: str) -> bool:
    """The exact checker: the sum's digits, then the newline, and nothing in between."""
    return response.split(NEWLINE, 1)[0] == str(p[0] + p[1]) and NEWLINE in response


def answer_of(response: str) -> str | None:
    """The answer a response gives (the text before its newline), None when it never ends."""
    return response.split(NEWLINE, 1)[0] if NEWLINE in response else None


def token_data(task: Task, pairs: list, held: list):
    """TokenData of the plain text: 50 solved sums per 'story'; held-out problems as validation."""
    import numpy as np

    from studio.core.data.sources import Corpus, content_hash
    from studio.core.data.tokenized import TokenData, pretokenize
    from studio.core.tokenizers.byte_level import ByteTokenizer
    tok = ByteTokenizer()
    lines = [f"{prompt(p)}{p[0] + p[1]}" for p in pairs]
    stories = [NEWLINE.join(lines[i:i + 50]) + NEWLINE for i in range(0, len(lines), 50)]
    val = [NEWLINE.join(f"{prompt(p)}{p[0] + p[1]}" for p in held) + NEWLINE]
    corpus = Corpus("addition", f"{task.digits}-digit sums, plain text", tuple(stories), content_hash(stories), False)
    train_tokens = pretokenize(stories, tok)
    val_tokens = pretokenize(val, tok)
    return TokenData(corpus, tok, train_tokens, np.asarray(val_tokens), sum(len(s) for s in val))


def build(task: Task, seed: int):
    """The shrunk classroom LLaMA for the byte tokenizer."""
    from studio.core.experiments.chinchilla import BASE_PRESET, sized_arch
    from studio.core.files.presets import load_preset
    from studio.core.training.setup import build_model
    arch = sized_arch(load_preset(BASE_PRESET), task.dim, task.layers, 259, task.context)
    return build_model(arch, seed)


def pretrain(task: Task, seed: int, control):
    """The base model: the app's trainer on the plain text until the greedy validation accuracy
    reaches ``task.base_target`` (or ``pretrain_steps``). Returns (model, info) with info None
    when the job was stopped, else {steps, val_loss, validation_accuracy, train_s}."""
    import torch

    from studio.core.training import TrainConfig, train_steps
    from studio.core.training.events import Finished, StepMetrics
    pairs, held, val = problem_sets_with_validation(task, seed)
    data = token_data(task, pairs, held)
    model = build(task, seed)
    cfg = TrainConfig.for_run(steps=task.pretrain_steps, batch_size=task.pretrain_batch, context=task.context,
                              lr=task.pretrain_lr, eval_interval=0, eval_batches=2, checkpoint_interval=0, seed=seed,
                              attention="auto")
    reached = {"acc": 0.0, "done": False}
    end = None
    for ev in train_steps(model, data, cfg, should_stop=lambda: reached["done"] or control.should_stop()):
        if isinstance(ev, StepMetrics) and ev.step % task.check_every == 0:
            model.eval()
            reached["acc"] = accuracy(model, val, task, 0.0, torch.Generator().manual_seed(seed))[0]
            model.train()
            reached["done"] = reached["acc"] >= task.base_target
        if isinstance(ev, Finished):
            end = ev
    model.eval()
    if end is None or (end.reason != "done" and not reached["done"]):
        return model, None
    return model, {"steps": end.step, "val_loss": end.val_loss, "validation_accuracy": reached["acc"],
                   "target": task.base_target, "train_s": round(end.elapsed_s, 2)}


def encode_prompts(problems: list):
    import torch

    from studio.core.tokenizers import BOS
    from studio.core.tokenizers.byte_level import ByteTokenizer
    tok = ByteTokenizer()
    return torch.tensor([[BOS, *tok.encode(prompt(p), bos=False)] for p in problems], dtype=torch.long)


def decode_responses(ids) -> list[str]:
    """Response token ids (B, L) to text; ids that are not bytes end the text."""
    out = []
    for row in ids.tolist():
        b = bytearray()
        for t in row:
            if t < 3:
                break
            b.append(t - 3)
        out.append(b.decode("utf-8", errors="replace"))
    return out


def sample(model, prompts, n_new: int, temperature: float, gen):
    """Continue every prompt row by ``n_new`` tokens (no early stop: all rows are as long);
    temperature 0 is greedy. Returns the response ids (B, n_new)."""
    import torch
    with torch.no_grad():
        idx = prompts
        for _ in range(n_new):
            logits, _ = model(idx)
            last = logits[:, -1, :].float()
            if temperature <= 0:
                nxt = last.argmax(-1, keepdim=True)
            else:
                nxt = torch.multinomial(torch.softmax(last / temperature, -1), 1, generator=gen)
            idx = torch.cat([idx, nxt], 1)
    return idx[:, prompts.shape[1]:]


def accuracy(model, problems: list, task: Task, temperature: float, gen, batch: int = 200) -> tuple[float, list]:
    """Share of problems the checker accepts (one response each) and the responses."""
    responses = []
    for i in range(0, len(problems), batch):
        chunk = problems[i:i + batch]
        responses += decode_responses(sample(model, encode_prompts(chunk), task.answer_tokens, temperature, gen))
    right = sum(check(p, r) for p, r in zip(problems, responses))
    return right / max(1, len(problems)), responses
