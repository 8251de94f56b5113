"""The RLHF experiments' wall-clock deadline: every stage's step count is an upper bound, and the
stage also ends when its share of the time left is spent, so that a run on a loaded machine (or
one that first trains its tokenizer on a cold cache) still ends within ``--minutes``.

A stage's share is the time left times its weight over the weights of it and the stages after it
(the weights are the stages' seconds on one core at the default settings), times its priority:
the base model and SFT may take up to twice their proportional share, because every later stage
is worth nothing without them (a loaded start once cut pretraining to 29 of 250 steps and the SFT
model then followed nothing), while fewer reward-model steps or PPO iterations only weaken the
effect. A stage that ends early (SFT reaching its target) leaves its time to the later ones; one
that takes longer than its weight said (a cold tokenizer) takes it from all of them. The final
evaluation is the metric and is never cut: its weight is set to what the same evaluation of the
SFT model took.
"""
from __future__ import annotations

import time
from collections.abc import Callable

clock: Callable[[], float] = time.monotonic  # the tests put a fake clock here

# seconds on one free core at the default settings (InstructGPT, starter stories); only their
# ratios matter. "after": the held-out evaluation of the policy and its KL, never cut.
WEIGHTS = {"pretrain": 12.0, "sft": 25.0, "rm": 40.0, "before": 2.0, "ppo": 80.0, "after": 3.0}
PRIORITY = {"pretrain": 2.0, "sft": 2.0}
MARGIN_S = 12.0  # Python and torch starting, the result files: outside the job's own clock


class Deadline:
    def __init__(self, seconds: float, weights: dict | None = None, now: Callable[[], float] | None = None):
        self.now = now or clock
        self.weights = dict(weights or WEIGHTS)
        self.start = self.now()
        self.end = self.start + max(0.0, float(seconds))
        self.cut: dict[str, int] = {}     # stage -> the steps it had done when its share ran out
        self.spent: dict[str, float] = {}  # stage -> seconds it took

    @classmethod
    def for_minutes(cls, minutes: float, weights: dict | None = None) -> Deadline:
        return cls(minutes * 60.0 - MARGIN_S, weights)

    def left(self) -> float:
        return max(0.0, self.end - self.now())

    def stage_end(self, stage: str) -> float:
        """The clock reading by which ``stage`` should end: its share of the time left."""
        keys = list(self.weights)
        later = keys[keys.index(stage):]
        share = self.weights[stage] * PRIORITY.get(stage, 1.0) / max(1e-9, sum(self.weights[k] for k in later))
        now = self.now()
        return now + max(0.0, self.end - now) * min(1.0, share)

    def over(self, stage: str) -> Callable[[int], bool]:
        """``over(steps_done)``: True (and the cut recorded) once ``stage``'s share is spent."""
        end = self.stage_end(stage)

        def check(steps_done: int = 0) -> bool:
            if self.now() >= end:
                self.cut.setdefault(stage, int(steps_done))
                return True
            return False
        return check

    def measured(self, stage: str, seconds: float) -> None:
        """Set a later stage's weight to what a like one took (the final evaluation's, from the first)."""
        self.weights[stage] = max(0.0, float(seconds))

    def timed(self, stage: str, t0: float) -> None:
        self.spent[stage] = round(self.now() - t0, 2)

    def record(self) -> dict:
        """What experiment.json keeps: the budget, each stage's seconds and where a share cut it."""
        return {"budget_s": round(self.end - self.start, 2), "stage_s": dict(self.spent), "cut_at_step": dict(self.cut),
                "weights": dict(self.weights)}
