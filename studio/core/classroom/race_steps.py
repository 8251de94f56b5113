"""The race's steps: every model takes each step on the same batch, in turn, and all evaluate at the
same steps; paced by a step count or by the trainer's own time budget.

A race for N minutes is N minutes on the wall clock from the command or click (``started_at``):
loading the models, training the one tokenizer and timing the models are already spent when the
first step runs. The pacing is studio.core.training.budget.Budget, the very object that paces
``archstudio train --minutes``: one race step (every model's step on the batch) is its step, re-fitted
after every step from the measured time; its warmup-stable-decay learning rate is the one every
model gets at that step; it keeps back the measured seconds of the last evaluation and of the end
(a sample and a checkpoint per model), so the race ends, table written, on its minutes.
"""
from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

from studio.core import errors as E
from studio.core.classroom.race_events import RaceEval, RaceStep

clock = time.perf_counter  # the race's wall clock (a test's fake clock replaces it)
EVALS = 12                 # held-out evaluations over a race, as a step-counted race's default steps // 12


def batch_hash(x, y) -> str:
    h = hashlib.sha256(x.detach().cpu().numpy().tobytes())
    h.update(y.detach().cpu().numpy().tobytes())
    return h.hexdigest()[:16]


@dataclass
class Costs:
    """Seconds a time budget keeps back or plans with: one race step (every model's; None until the
    first real step has timed it), one evaluation of every model (None: estimated from that step)
    and the end (a sample and a checkpoint per model, measured while preparing)."""
    step_s: float | None
    eval_s: float | None
    end_s: float


class Pace:
    """How long the race runs and when it evaluates: ``tcfg.steps`` steps, or (``seconds``) the
    trainer's Budget on the wall clock from ``started_at``.

    With no step time measured beforehand, the first race step times the models on real work (at
    the smallest first learning rate a warmup gives, 1/MAX_WARMUP of the peak); the budget is then
    set up from it, its warmup sized as the trainer sizes it, and fits the later steps from there."""

    def __init__(self, tcfg, seconds: float | None, started_at: float, costs: Costs | None, eval_interval: int | None):
        self.tcfg, self.started_at, self.step = tcfg, started_at, 0
        self.eval_interval = eval_interval or (None if seconds else max(1, tcfg.steps // EVALS))
        self.budget = self.next_eval_s = None
        self.seconds, self.costs = seconds, costs
        if seconds:
            self.eval_every_s = seconds / EVALS
            self._fit(costs.step_s)

    def _fit(self, step_s: float | None) -> None:
        """The budget from now on (the preparing, and the first step when it timed the models, spent)."""
        from studio.core.training.budget import Budget
        tcfg, now = self.tcfg, self.used_s()
        if step_s and self.costs.eval_s is None:  # forward only: about a third of a step per batch
            self.costs.eval_s = step_s * tcfg.eval_batches / 3
        self.budget = Budget(tcfg.lr, tcfg.lr * tcfg.min_lr_ratio, self.seconds, 0, now, step_s=step_s)
        self.budget.mark(self.step, now)  # the step time is fitted from here
        self._keep_back()
        self.next_eval_s = now + max(self.eval_every_s, 9 * (self.costs.eval_s or 0.0))  # as after every evaluation

    def timing(self) -> bool:
        """The next step is the first of a time budget and times the models."""
        return self.budget is not None and self.budget.step_s is None

    def used_s(self) -> float:
        return clock() - self.started_at

    def more(self) -> bool:
        return self.budget.more() if self.budget else self.step < self.tcfg.steps

    def lr(self) -> float:
        """The learning rate of the next step, the same for every model."""
        from studio.core.training.budget import MAX_WARMUP
        from studio.core.training.schedule import lr_at
        if self.timing():
            return self.tcfg.lr / MAX_WARMUP
        return self.budget.lr(self.step) if self.budget else lr_at(self.step, self.tcfg)

    def stepped(self) -> None:
        timing = self.timing()
        self.step += 1
        if timing:
            self._fit(self.used_s() - self.budget.used)
        elif self.budget:
            self.budget.observe(self.step, self.used_s())

    def planned(self) -> int:
        """The steps the race is expected to reach (0: not known before the first step is timed)."""
        if self.timing():
            return 0
        return max(self.step, self.budget.planned_steps()) if self.budget else self.tcfg.steps

    def evaluates(self, final: bool) -> bool:
        if final or self.eval_interval:
            return final or self.step % self.eval_interval == 0
        return self.used_s() >= self.next_eval_s

    def evaluated(self, seconds: float) -> None:
        """An evaluation of every model took ``seconds``: the reserve and the next one follow it."""
        if self.budget:
            self.costs.eval_s = seconds
            self._keep_back()
            # every 1/12 of the minutes, but evaluating takes at most ~10 % of the time
            self.next_eval_s = self.used_s() + max(self.eval_every_s, 9 * seconds)

    def _keep_back(self) -> None:
        self.budget.reserve = 1.2 * ((self.costs.eval_s or 0.0) + self.costs.end_s)


def run_steps(f, cfg, control, pace: Pace):
    """Every model takes each step on the same batch; evaluations at the same steps. Yields RaceStep
    and RaceEval; returns the batch generator (for the checkpoints)."""
    import torch

    from studio.core.training.trainer import Batcher, autocast, evaluate
    tcfg, T = f.tcfg, f.tcfg.context
    batcher = Batcher(f.data.train, T, False, f.device)
    val_T = T if len(f.data.val) > T + 1 else max(2, len(f.data.val) - 2)
    val_batcher = Batcher(f.data.val, val_T, False, f.device)
    batch_gen = torch.Generator().manual_seed(cfg.seed)  # ONE sampler: the same batches in the same order
    params_of = [[p for p in r.model.parameters() if p.requires_grad] for r in f.racers]
    while pace.more() and not control.should_stop():
        x, y, _ = batcher.sample(cfg.batch_size, batch_gen)
        lr, h = pace.lr(), batch_hash(x, y)  # what every model is about to see
        step = pace.step + 1
        for i, r in enumerate(f.racers):
            t0 = time.perf_counter()
            for g in r.opt.param_groups:
                g["lr"] = g.get("base_lr", cfg.lr) * lr / cfg.lr
            with autocast(f.device, tcfg.precision):
                _, loss = r.model(x, y)
            if not torch.isfinite(loss):
                raise E.StudioError(f"{r.name}: the loss became {float(loss.detach())} at step {step}; "
                                    "race again with a lower --lr")
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params_of[i], tcfg.grad_clip)
            r.opt.step()
            r.opt.zero_grad(set_to_none=True)
            if f.device.type == "cuda":
                torch.cuda.synchronize()
            dt = time.perf_counter() - t0
            r.wall_s += dt
            r.tokens += x.numel()
            ce = float(r.model.last_losses.get("ce", float(loss.detach())))
            flops = 6.0 * r.active * r.tokens
            r.run.append_metrics({"kind": "step", "step": step, "tokens": r.tokens, "loss": ce, "lr": lr,
                                  "tokens_per_s": x.numel() / dt if dt > 0 else 0.0, "elapsed_s": r.wall_s,
                                  "flops": flops, "batch": h})
            yield RaceStep(i, r.name, step, pace.planned(), r.tokens, ce, r.wall_s, flops, h, pace.used_s())
        pace.stepped()
        if pace.evaluates(final=not pace.more()):
            t0 = time.perf_counter()
            for i, r in enumerate(f.racers):
                vl = evaluate(r.model, val_batcher, tcfg.eval_batches, cfg.batch_size)
                r.last_bpb = f.data.bits_per_byte(vl)
                r.run.append_metrics({"kind": "eval", "step": step, "tokens": r.tokens, "val_loss": vl,
                                      "val_bpb": r.last_bpb, "train_loss": float("nan"), "elapsed_s": r.wall_s,
                                      "flops": 6.0 * r.active * r.tokens})
                yield RaceEval(i, r.name, step, pace.planned(), r.tokens, r.last_bpb, r.wall_s,
                               6.0 * r.active * r.tokens)
            pace.evaluated(time.perf_counter() - t0)
    return batch_gen
