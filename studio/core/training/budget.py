"""Training for a wall-clock budget ("train for N minutes"): a warmup-stable-decay schedule fitted
to the budget from the measured step time, and re-fitted after every step as that time settles.

The clock is the wall clock from the command or click that asked for the run (data, tokenizer,
preparing, steps, evals, samples, checkpoints: everything the user waits for), without time spent
paused. The step time is fitted from the steps since the latest ``mark`` (the first step, or the
step where a compiled step took over), so seconds spent before training or on slower eager steps
do not skew the plan. The learning rate
warms up over ``warmup`` steps, stays at its peak, and decays linearly to its floor over the last
``DECAY`` of the budget; the step expected to be the last one runs at the floor, so a run that
ends on time ends decayed. A finished budget can be extended: the next segment re-warms from the
floor and decays again at its own end.
"""
from __future__ import annotations

from studio.core.training.schedule import DECAY, decayed  # noqa: F401  (DECAY: the tests' name for it)

MAX_WARMUP = 100


class Budget:
    def __init__(self, lr: float, min_lr: float, seconds: float, start_step: int, used_s: float = 0.0,
                 warmup: int | None = None, step_s: float | None = None, reserve_s: float = 0.0,
                 shape: str = "wsd"):
        self.shape = shape              # wsd, or cosine over the budget (the plain recipe, for comparison)
        self.peak, self.floor, self.seconds = float(lr), float(min_lr), float(seconds)
        self.start, self.used = int(start_step), float(used_s)
        self.step_s = step_s            # seconds per step, everything included (re-fitted)
        self.step = self.start          # optimizer steps done
        self._mark = (self.start, self.used)  # (step, used) the step time is fitted from
        self.reserve = float(reserve_s)  # kept back for the final eval and checkpoint
        self.warmup = warmup if warmup is not None else self._default_warmup()
        self._last_lr = float("inf")
        self._ran_last = False  # the step handed the floor as the last one has been given out

    def _default_warmup(self) -> int:
        # 5 % of the steps the budget is expected to hold, as for step-counted runs
        if not self.step_s:
            return 10
        least = 2 if self.start else 1  # an extension re-warms from its floor: at least one step between
        return min(MAX_WARMUP, max(least, int(max(0.0, self.seconds - self.used) / self.step_s) // 20))

    # ------------------------------------------------------------------ fitting
    def observe(self, step: int, used_s: float) -> None:
        """``step`` optimizer steps are done and ``used_s`` seconds of the budget are spent."""
        self.used, self.step = float(used_s), int(step)
        done = step - self._mark[0]
        if done > 0:
            self.step_s = (self.used - self._mark[1]) / done

    def mark(self, step: int, used_s: float) -> None:
        """Fit the step time from here on (training starts, or a faster compiled step took over)."""
        self._mark = (int(step), float(used_s))
        self.used, self.step = float(used_s), int(step)

    def planned_steps(self) -> int:
        """The total step count this budget is expected to reach (for progress bars and ETA)."""
        if not self.step_s:
            return self.start + self.warmup
        return self.step + max(0, int(round((self.seconds - self.reserve - self.used) / self.step_s)))

    def remaining_s(self) -> float:
        return max(0.0, self.seconds - self.used)

    def _left_after_next(self) -> float:
        return self.seconds - self.reserve - self.used - (self.step_s or 0.0)

    def more(self) -> bool:
        """Whether to run another step: one fits (it would end before the budget, or overshoot by less
        than half a step), or time is left but less than a step, and the last step must run at the floor."""
        if self._ran_last:
            return False
        if self._left_after_next() > -0.5 * (self.step_s or 0.0):
            return True
        # out of time without the floor step (a step plus a sample or an eval took longer than the fit
        # expected): one more step, which lr() hands the floor, so the run still ends decayed
        return self.used < self.seconds - self.reserve or self._last_lr > self.floor

    def is_last(self) -> bool:
        """The next step is expected to be the last one (less than half a step would remain)."""
        return self._left_after_next() < 0.5 * (self.step_s or 0.0)

    # ------------------------------------------------------------------ schedule
    def lr(self, step: int) -> float:
        """Learning rate of the step with 0-based index ``step`` (the next one to run)."""
        k = step - self.start
        if self.step_s and self.is_last():  # (also a budget that ends during the warmup ends decayed)
            lr, self._ran_last = self.floor, True
        elif k < self.warmup:  # a fresh run warms up from 0, an extension from the floor it ended at
            base = self.floor if self.start else 0.0
            return base + (self.peak - base) * (k + 1) / self.warmup
        else:  # where this step will end, as a share of the budget
            end_frac = (self.used + (self.step_s or 0.0)) / max(1e-9, self.seconds - self.reserve)
            lr = decayed(self.shape, end_frac, self.peak, self.floor)
        self._last_lr = min(self._last_lr, lr)  # once decaying, never back up when the fit moves
        return self._last_lr

    # ------------------------------------------------------------------ checkpoints
    def state(self, finished: bool = False) -> dict:
        return {"budget_s": self.seconds, "segment_start": self.start, "used_s": self.used,
                "warmup": self.warmup, "finished": bool(finished), "shape": self.shape, "step_s": self.step_s,
                "reserve_s": self.reserve}

    @classmethod
    def from_state(cls, st: dict, lr: float, min_lr: float, step: int, reserve_s: float = 0.0) -> Budget:
        done = step - int(st["segment_start"])
        step_s = st.get("step_s") or (float(st["used_s"]) / done if done > 0 else None)
        b = cls(lr, min_lr, float(st["budget_s"]), int(st["segment_start"]), float(st["used_s"]),
                int(st["warmup"]), step_s, reserve_s or float(st.get("reserve_s") or 0.0), st.get("shape", "wsd"))
        b._ran_last = bool(st.get("finished"))
        b.mark(step, b.used)
        return b


def agree_max(dist, device, *values: float) -> list[float]:
    """Under torchrun: the largest of each value over the ranks (one small all-reduce), so that every
    rank fits its budget to the same clock; ranks that each followed their own would stop at
    different steps and the next collective would hang."""
    import torch
    t = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return t.tolist()
