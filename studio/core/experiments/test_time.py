"""2024-09 o1, test-time compute: more samples per problem, more problems solved, with no change
to the weights. On the R1 experiment's model (its RL policy with ``--from DIR``, else its base
model pretrained here exactly as the R1 experiment does), every held-out sum gets ``max_samples``
sampled answers; for n = 1, 2, 4, ... the answer is chosen by

* majority vote (self-consistency, Wang et al. 2022): the most frequent answer among n, and
* best-of-n with a verifier: the exact checker accepts any of the n (pass@n),

each accuracy averaged over the max_samples / n disjoint sets of n samples of a problem. o1's
own method (a long chain of thought learned by RL) is not public; what carries over is the curve:
accuracy rising with the compute spent per problem.
"""
from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from studio.core import errors as E
from studio.core.experiments import addition as A
from studio.core.experiments.common import (
    RESULT_FILE,
    ExperimentRequest,
    Folder,
    Point,
    Row,
    Stage,
    Text,
    settings_record,
    torch_threads,
)

MILESTONE = "2024-09-o1"
R1 = "2025-01-deepseek-r1"


@dataclass(frozen=True)
class Settings:
    task: A.Task = field(default_factory=A.Task)
    samples: tuple = (1, 2, 4, 8, 16)
    temperature: float = 1.0


def settings_for(minutes: float) -> Settings:
    from studio.core.experiments import grpo
    return Settings(task=grpo.settings_for(minutes).task)


def majority(answers: list) -> str | None:
    """The most frequent answer (ties: the one given first); responses that never end do not vote."""
    votes = Counter(a for a in answers if a is not None)
    if not votes:
        return None
    top = max(votes.values())
    return next(a for a in answers if a is not None and votes[a] == top)


def curves(problems: list, responses: list[list[str]], samples: tuple) -> dict:
    """n -> (majority-vote accuracy, best-of-n accuracy), each averaged over disjoint sets of n."""
    out = {}
    for n in samples:
        vote = best = sets = 0
        for p, rs in zip(problems, responses):
            for i in range(0, len(rs) - n + 1, n):
                chunk = rs[i:i + n]
                want = str(p[0] + p[1])
                vote += majority([A.answer_of(r) for r in chunk]) == want
                best += any(A.check(p, r) for r in chunk)
                sets += 1
        out[n] = (vote / max(1, sets), best / max(1, sets))
    return out


def _r1_result(source: str) -> dict:
    src = Path(source)
    try:
        r1 = json.loads((src / RESULT_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise E.StudioError(f"--from {src}: no finished {R1} experiment there ({exc})") from None
    if not isinstance(r1, dict) or r1.get("milestone") != R1:
        raise E.StudioError(f"--from {src}: not a {R1} experiment")
    return r1


def _model(req: ExperimentRequest, s: Settings, control):
    """(model, task, what it is): the R1 policy from ``req.source``, else the R1 base model."""
    import torch
    if req.source:
        src = Path(req.source)
        r1 = _r1_result(req.source)
        task = A.Task(**r1["settings"]["settings"]["task"])
        model = A.build(task, int(r1["settings"]["seed"]))
        from studio.core.runs.weights import load_weights  # keys and shapes checked: one line if not
        policy = src / r1["weights"]["policy"]
        load_weights(model, torch.load(policy, weights_only=True), str(policy))
        return model.eval(), task, f"the R1 experiment's RL policy ({src})"
    model, info = A.pretrain(s.task, req.seed, control)
    return (model if info else None), s.task, "the R1 experiment's base model (pretrained here, same seed)"


def job(req: ExperimentRequest, control) -> Iterator:
    import torch
    s = req.settings or settings_for(req.minutes)
    if req.source:
        _r1_result(req.source)  # refused before anything is written
    folder = Folder(req, {"seed": req.seed, "source": req.source, "settings": settings_record(s)})
    with torch_threads(req.threads):
        yield Stage("the R1 experiment's model" + (" (pretraining it)" if not req.source else ""))
        model, task, what = _model(req, s, control)
        if model is None:
            return
        _, held = A.problem_sets(task, req.seed)
        n_max = max(s.samples)
        yield Stage(f"sampling {n_max} answers for each of {len(held)} held-out problems")
        gen = torch.Generator().manual_seed(req.seed + 3)
        prompts = A.encode_prompts([p for p in held for _ in range(n_max)])
        texts = []
        for i in range(0, len(prompts), 800):
            if control.should_stop():
                return
            texts += A.decode_responses(A.sample(model, prompts[i:i + 800], task.answer_tokens, s.temperature, gen))
        responses = [texts[i * n_max:(i + 1) * n_max] for i in range(len(held))]
        for p, rs in list(zip(held, responses))[:3]:
            yield Text("samples", f"{A.prompt(p)} → {', '.join(a or '…' for a in map(A.answer_of, rs[:8]))}; "
                                  f"vote {majority([A.answer_of(r) for r in rs])}")
        acc = curves(held, responses, s.samples)
        yield Row("samples", ("samples per problem", "majority vote", "best-of-n (checker)"))
        for n, (vote, best) in acc.items():
            yield Row("samples", (n, round(vote, 3), round(best, 3)))
            yield Point("majority vote", n, vote)
            yield Point("best-of-n with the checker", n, best)
    first, last = min(s.samples), max(s.samples)
    yield folder.finish(
        f"held-out accuracy by majority vote over n samples ({len(held)} {task.digits}-digit sums)", True,
        before=acc[first][0], after=acc[last][0], curve=[[n, v] for n, (v, _) in acc.items()],
        best_of_n_curve=[[n, b] for n, (_, b) in acc.items()], model=what, heldout_problems=len(held),
        temperature=s.temperature, samples_before=first, samples_after=last,
    )
