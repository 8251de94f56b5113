"""The trainer, in torchtitan's shape: a :class:`Trainer` holding a run's state, with
``train_step()``, ``evaluate()``, ``checkpoint(reason)``, ``finish(reason)`` and a short ``run()``
generator, so the CLI loops over its events and the GUI's worker only forwards them. AdamW with
llama2.c's weight-decay groups (2-D weights decay, norms and biases do not), warmup then cosine or
warmup-stable-decay to lr/10 over a step count or a time budget (schedule.py, budget.py), gradient
clipping and accumulation, periodic eval on the held-out split, sample text and atomic checkpoints
that make ``resume`` continue the very same loss curve (model, optimizer, schedule, RNG states and the
batch sampler's state).

A time budget runs on the wall clock from the command or click (``started_at``): preparing (threads,
precision, attention kernel) is part of it, and training starts eagerly at once; the small-head
kernel and the compiled step switch in between steps when they are ready and pay off (step.py,
background.py). The hot loop keeps the step's numbers as tensors and reads them in one go every
``read_every`` steps (on an accelerator that saves a host sync per step; on a CPU it reads every step).
"""
from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict

import numpy as np
import torch

from studio.core import errors as E
from studio.core.training.batches import (  # noqa: F401  (re-exported: the trainer's public names)
    Batcher, eval_batcher, evaluate, is_encoder_decoder, sample_text)
from studio.core.training.budget import Budget, agree_max
from studio.core.training.config import FAST, TrainConfig, pick_device  # noqa: F401  (the trainer's public names)
from studio.core.training.events import (CheckpointSaved, EvalMetrics, Finished, Sample, SpeedSetup, StepMetrics,
                                         StepSwitched)
from studio.core.training.optimizer import make_optimizer
from studio.core.training.readout import TrainingDiverged, read_pending  # noqa: F401  (TrainingDiverged: public)
from studio.core.training.routing_readout import moe_layers
from studio.core.training.schedule import lr_at
from studio.core.training.speed import (  # noqa: F401  (autocast: re-exported)
    PrecisionChoice, autocast, choose_threads, set_threads)
from studio.core.training.fwd_bwd import gradients
from studio.core.training.step import prepare


def train_steps(model, data, cfg: TrainConfig, should_stop: Callable[[], bool] = lambda: False,
                is_paused: Callable[[], bool] = lambda: False, *, run=None, resume: bool = False,
                extend: bool = False, started_at: float | None = None) -> Iterator:
    """Train ``model`` on ``data`` (a TokenData) and yield Preparing, SpeedSetup, then StepMetrics,
    EvalMetrics, Sample, StepSwitched, CheckpointSaved and finally Finished (:meth:`Trainer.run`).
    With ``cfg.precision == "fp8"`` the model's linear layers compute in simulated FP8
    (studio.core.training.fp8) for as long as the generator runs. ``started_at`` (a
    ``time.perf_counter()`` reading): when the user asked for the run, where a time budget's clock
    starts (default: now)."""
    started_at = time.perf_counter() if started_at is None else started_at
    trainer = Trainer(model, data, cfg, should_stop, is_paused, run=run, resume=resume, extend=extend,
                      started_at=started_at)
    if cfg.precision != "fp8":
        yield from trainer.run()
        return
    from studio.core.training.fp8 import fp8_linears
    with fp8_linears(model):
        yield from trainer.run()


def _record(run, key: str, value: dict) -> None:
    cfg = run.read_config()
    run.write_config({k: v for k, v in cfg.items() if k not in ("schema_version", "kind")} | {key: value})


class Trainer:
    """One session of a run. With ``run`` (a RunDir) metrics go to metrics.jsonl, checkpoints to
    run/checkpoints and the setup and result to run.yaml; ``resume`` continues run's latest
    checkpoint; ``extend`` (with ``cfg.minutes``) starts a new time budget there even if the run's
    last one is finished ("N more minutes").

    Under torchrun (torch.distributed initialized, world size > 1) the model is wrapped in
    DistributedDataParallel; every rank draws the same global batch of ``cfg.batch_size`` and trains
    on its own slice of it, so the result equals one process with that batch. Only rank 0 evaluates,
    samples, logs and writes checkpoints. A time budget runs on one clock for all ranks (the slowest
    rank's step time and seconds spent, agreed after every step), so every rank follows the same
    schedule and stops at the same step."""

    def __init__(self, model, data, cfg: TrainConfig, should_stop=lambda: False, is_paused=lambda: False, *,
                 run=None, resume: bool = False, extend: bool = False, started_at: float | None = None):
        self.model, self.data, self.cfg = model, data, cfg
        self.should_stop, self.is_paused, self.extend = should_stop, is_paused, extend
        self.t_start = time.perf_counter() if started_at is None else started_at  # the budget's clock
        self.dist = torch.distributed
        self.world = self.dist.get_world_size() if self.dist.is_available() and self.dist.is_initialized() else 1
        self.rank = self.dist.get_rank() if self.world > 1 else 0
        self.reader, self.out = run, (run if self.rank == 0 else None)  # every rank may resume; only rank 0 writes
        self.resume = resume
        self.step = self.tokens = self.session_tokens = 0
        self.paused_s = self.train_time = 0.0
        self.last_val = self.last_bpb = float("nan")
        self.last_eval_step, self.last_lr = -1, None
        self.recent: list[float] = []
        self.pending: list[tuple] = []  # (step, lr, ce, aux, other, grad norm) of steps not read yet
        self.cost = {"eval": 0.0, "checkpoint": 0.0, "finish": 0.0}  # seconds of the latest of each
        self.budget, self.budget_base, self.speedups, self.runtime = None, 0.0, None, {}

    def used_s(self) -> float:
        """Seconds of this session on the wall clock since the ask, less time paused."""
        return time.perf_counter() - self.t_start - self.paused_s

    # ------------------------------------------------------------------ set-up
    def _place(self) -> None:
        cfg, model = self.cfg, self.model
        self.threads, self.threads_why = choose_threads(cfg.threads)
        set_threads(self.threads)
        self.device = pick_device(cfg.device)
        model.to(self.device).train()
        if cfg.batch_size % self.world:
            raise E.StudioError(f"the batch of {cfg.batch_size} does not split over {self.world} processes; "
                                f"use a multiple of {self.world}")
        self.forward = model
        if self.world > 1:
            from torch.nn.parallel import DistributedDataParallel
            self.forward = DistributedDataParallel(model, device_ids=[self.device.index] if self.device.type == "cuda"
                                                   else None)
        self.shard = slice(self.rank * cfg.batch_size // self.world, (self.rank + 1) * cfg.batch_size // self.world)
        encdec = is_encoder_decoder(model)
        self.T = min(cfg.context, model.context)
        self.batcher = Batcher(self.data.train, self.T, encdec, self.device)
        self.val_batcher = eval_batcher(self.data.val, self.T, encdec, self.device)
        self.opt = make_optimizer(model, cfg)
        self.batch_gen = torch.Generator().manual_seed(cfg.seed)
        self.sample_gen = torch.Generator(device=self.device).manual_seed(cfg.seed + 1)

    def _load(self) -> dict:
        """Continue the checkpoint when resuming; returns it ({} for a fresh run)."""
        if not self.resume:
            return {}
        ck = self.reader.load_checkpoint()
        from studio.core.runs.weights import (
            load_weights,  # strict: names missing/unexpected/mis-shaped keys
        )
        load_weights(self.model, ck["model"], str(self.reader.checkpoint_dir))
        if not ck.get("optimizer"):  # imported weights: a fresh optimizer, schedule and sampler
            self.resume = False
            return ck
        self.opt.load_state_dict(ck["optimizer"])
        self.step, self.tokens = int(ck["step"]), int(ck["data_pos"]["tokens"])
        self.batch_gen.set_state(ck["data_pos"]["generator"])
        self.sample_gen.set_state(ck["rng"]["sample"])
        torch.set_rng_state(ck["rng"]["torch"])
        return ck

    def setup(self) -> Iterator:
        """Devices, data, optimizer, resume, then the preparing phase (step.prepare): yields its
        Preparing events and the SpeedSetup."""
        self._place()
        cfg, ck = self.cfg, self._load()
        kept = None
        if self.resume and cfg.precision == "auto":  # a resumed run computes as it started
            kept = (self.reader.read_config().get("runtime") or {}).get("precision")
            if kept in ("fp32", "bf16"):
                cfg = self.cfg = dataclasses.replace(cfg, precision=kept)
        self.clipping = cfg.optimizer == "muonclip"
        if self.clipping:
            from studio.core.training import qk_clip
            qk_clip.enable(self.model)
        prior = (ck.get("schedule") or {}).get("budget") if self.resume and cfg.budget_s else None
        earlier = float(prior["used_s"]) if prior and not self.extend and not prior.get("finished") else 0.0
        left = (lambda: max(0.0, cfg.budget_s - earlier - self.used_s())) if cfg.budget_s else None
        runner, choice, step_s, self.speedups = yield from prepare(
            self.model, self.forward, cfg, self.device, self.batcher, cfg.batch_size // self.world, self.world > 1,
            cfg.steps - self.step, run=self.out, remaining_s=left)
        if self.clipping:
            qk_clip.enable(self.model)  # forget the warm-up's logits
        if self.world > 1 and step_s is not None:  # every rank fits its budget to the same (the slowest) step time
            step_s = agree_max(self.dist, self.device, step_s)[0]
        if kept in ("fp32", "bf16"):
            choice = PrecisionChoice(kept, "kept from the run's first session (auto)")
        self.runner, self.precision, self.step_s = runner, choice.precision, step_s
        setup = SpeedSetup(self.threads, choice.precision, choice.reason, runner.note, runner.is_compiled,
                           self.used_s(), attention=runner.attention.reason if runner.attention else "sdpa")
        if self.out is not None:
            self.runtime = {"threads": self.threads, "threads_reason": self.threads_why, "device": self.device.type,
                            **choice.record(), "step": runner.note,
                            "attention": runner.attention.record() if runner.attention else None,
                            "preparing_s": round(setup.preparing_s, 2), "switches": []}
            t = time.perf_counter()
            _record(self.out, "runtime", self.runtime)
            self.cost["finish"] = time.perf_counter() - t  # the result is one more run.yaml write
        yield setup
        self._schedule(prior)

    def _schedule(self, prior: dict | None) -> None:
        """The step count or time budget this session trains for, and its clocks."""
        cfg = self.cfg
        self.min_lr = cfg.lr * cfg.min_lr_ratio
        if cfg.budget_s:
            now = self._agreed(self.used_s())  # under torchrun every rank fits from the same (the slowest) clock
            if prior and not self.extend:
                self.budget = Budget.from_state(prior, cfg.lr, self.min_lr, self.step)
                self.budget_base = self.budget.used  # seconds of the budget spent by earlier sessions
            else:  # this session's preparing is already spent
                self.budget = Budget(cfg.lr, self.min_lr, cfg.budget_s, self.step, now, cfg.warmup_steps,
                                     self.step_s, shape="cosine" if cfg.schedule == "cosine" else "wsd")
            self.budget.mark(self.step, self.budget_base + now)
            if self.budget.reserve:  # a resumed budget keeps back what its last session measured
                self.cost["eval"] = self.cost["checkpoint"] = self.budget.reserve / 2.4
            self._keep_back()
        self.groups = [(g, g.get("base_lr", cfg.lr) / cfg.lr) for g in self.opt.param_groups]  # own base lrs
        self.moe_layers = moe_layers(self.model)  # (name, module): read after each step for the Routing dock
        self.moes = [m for _, m in self.moe_layers]
        self.params = [p for p in self.model.parameters() if p.requires_grad]
        # under torchrun every step: the read's all-reduce must happen on every rank alike, and only rank 0 evaluates
        self.read_every = 1 if self.world > 1 else cfg.read_every or (1 if self.device.type == "cpu" else 16)
        self.eval_every_s = (self.budget.seconds / 10) if self.budget and not cfg.eval_interval else None
        self.next_eval_s = self.used_s() + self.eval_every_s if self.eval_every_s else None
        self.n_tok = cfg.batch_size * self.T * cfg.grad_accum
        self.t_window = time.perf_counter()
        self.t_loop, self.loop_step, self.start_step = self.used_s(), self.step, self.step
        if self.speedups is not None:  # how much training is left, for whether loading a compiled step pays off
            self.speedups.remaining = self.budget.remaining_s if self.budget else self._steps_left_s

    def _agreed(self, seconds: float) -> float:
        return agree_max(self.dist, self.device, seconds)[0] if self.world > 1 else seconds

    def _steps_left_s(self) -> float:
        return (self.cfg.steps - self.step) * (self.used_s() - self.t_loop) / max(1, self.step - self.loop_step)

    def more(self) -> bool:
        return self.budget.more() if self.budget else self.step < self.cfg.steps

    def planned(self) -> int:
        return self.budget.planned_steps() if self.budget else self.cfg.steps

    def _keep_back(self) -> None:
        """Keep the final eval and checkpoint inside the budget. Under torchrun only rank 0 evaluates and
        saves: the reserve then changes at the next step's agreement, on every rank at once."""
        if self.budget and self.world == 1:
            self.budget.reserve = 1.2 * sum(self.cost.values())

    # ------------------------------------------------------------------ one step
    def train_step(self) -> None:
        """One optimizer step (its numbers stay tensors in ``pending`` until :meth:`read`)."""
        cfg = self.cfg
        lr = self.budget.lr(self.step) if self.budget else lr_at(self.step, cfg)
        for g, base in self.groups:
            g["lr"] = base * lr
        micro = []
        for _ in range(cfg.grad_accum):
            x, y, src = self.batcher.sample(cfg.batch_size, self.batch_gen)
            micro.append((x[self.shard], y[self.shard], None if src is None else src[self.shard])
                         if self.world > 1 else (x, y, src))
        ce, aux, other = gradients(self.runner, self.model, micro, self.precision, self.device, cfg.grad_accum)
        gn = torch.nn.utils.clip_grad_norm_(self.params, cfg.grad_clip if cfg.grad_clip > 0 else float("inf"))
        self.opt.step()
        if self.clipping:
            from studio.core.training import qk_clip
            qk_clip.clip(self.model, cfg.qk_clip_tau)
        self.opt.zero_grad(set_to_none=True)
        self.step += 1
        self.tokens += self.n_tok
        self.session_tokens += self.n_tok
        self.last_lr = lr
        self.pending.append((self.step, lr, ce, aux, other, gn))
        if self.budget:
            spent = self.budget_base + self.used_s()
            if self.world > 1:  # one clock for all ranks (the slowest), so all fit, decay and stop alike
                spent, self.budget.reserve = agree_max(self.dist, self.device, spent, 1.2 * sum(self.cost.values()))
            self.budget.observe(self.step, spent)

    def read(self, final: bool = False) -> list[StepMetrics]:
        """Turn the pending steps' tensors into StepMetrics: one host sync for all of them (readout.py)."""
        return read_pending(self, final)

    # ------------------------------------------------------------------ evals, checkpoints, the end
    def evaluate(self) -> EvalMetrics:
        t = time.perf_counter()
        self.last_val = evaluate(self.model, self.val_batcher, self.cfg.eval_batches, self.cfg.batch_size)
        self.last_bpb, self.last_eval_step = self.data.bits_per_byte(self.last_val), self.step
        train_loss = float(np.mean(self.recent[-20:])) if self.recent else float("nan")
        ev = EvalMetrics(self.step, self.tokens, self.last_val, self.last_bpb, train_loss,
                         self.data.bits_per_byte(train_loss))
        if self.out is not None:
            self.out.append_metrics(ev.record())
        self.cost["eval"] = time.perf_counter() - t
        self._keep_back()
        return ev

    def sample(self) -> Sample:
        """A short continuation; its seconds join the reserve, so the one at a budget's end fits in it."""
        t = time.perf_counter()
        text = sample_text(self.model, self.data.tokenizer, self.cfg.sample_tokens, self.sample_gen, self.device)
        self.cost["sample"] = time.perf_counter() - t
        self._keep_back()
        return Sample(self.step, text)

    def checkpoint(self, reason: str) -> CheckpointSaved:
        cfg, b = self.cfg, self.budget
        payload = {"model": self.model.state_dict(), "optimizer": self.opt.state_dict(),
                   "schedule": {"kind": cfg.schedule, "warmup": cfg.warmup, "steps": cfg.steps, "lr": cfg.lr,
                                "min_lr": self.min_lr, "budget": b.state(reason == "end") if b else None},
                   "rng": {"torch": torch.get_rng_state(), "sample": self.sample_gen.get_state()},
                   "data_pos": {"tokens": self.tokens, "generator": self.batch_gen.get_state()},
                   "config": asdict(cfg)}
        t = time.perf_counter()
        path = self.out.save_checkpoint(payload, self.step, keep_step_file=True)
        self.cost["checkpoint"] = time.perf_counter() - t
        self._keep_back()
        return CheckpointSaved(self.step, str(path), reason)

    def finish(self, reason: str) -> Finished:
        tps = self.session_tokens / self.train_time if self.train_time > 0 else 0.0
        train_loss = float(np.mean(self.recent[-10:])) if self.recent else float("nan")
        fin = Finished(self.step, self.tokens, reason, train_loss, self.last_val, self.last_bpb, tps,
                       self.data.bits_per_byte(train_loss), self.used_s(),
                       self.budget.seconds if self.budget else None, self.last_lr)
        if self.out is not None and self.session_tokens:  # (a resumed finished run only reports: its result stays)
            self.out.append_metrics(fin.record())
            _record(self.out, "result", {k: (round(v, 5) if isinstance(v, float) else v)
                                         for k, v in fin.record().items() if k != "kind"})
        return fin

    def switched(self, sw) -> StepSwitched:
        """A speed-up switched in between two steps: say so, and keep run.yaml's runtime current."""
        if self.out is not None:
            self.runtime["switches"].append({"step": self.step, "what": sw.what, "note": sw.note,
                                             "at_s": round(self.used_s(), 2)})
            if sw.what == "step":
                self.runtime["step"] = sw.note
            else:
                self.runtime["attention"] = {"kernel": "small-head" if "small-head kernel (" in sw.note else "sdpa",
                                             "reason": sw.note}
            _record(self.out, "runtime", self.runtime)
        return StepSwitched(self.step, sw.what, sw.note, self.runner.is_compiled)

    def _speedups(self, t_step: float, fit_s: float) -> list:
        """After a step: the compiled step's first (loading) step measured, what became ready switched in."""
        sp = self.speedups
        if sp is None:
            return []
        if sp.loading_since is not None:  # this step loaded the compiled graph from the cache
            sp.loaded(time.perf_counter() - t_step, sp.ratio * fit_s)
            if self.budget:
                self.budget.mark(self.step, self.budget_base + self.used_s())  # fit the compiled step's time
        return sp.poll() if sp.busy else []

    def _wait_while_paused(self) -> None:
        t = time.perf_counter()
        while self.is_paused() and not self.should_stop():
            time.sleep(0.05)
        self.paused_s += time.perf_counter() - t

    # ------------------------------------------------------------------ the loop
    def run(self) -> Iterator:
        yield from self.setup()
        try:
            yield from self._steps()
        finally:
            if self.speedups is not None:  # a compile still running beside the training stops with it
                self.speedups.cancel()

    def _steps(self) -> Iterator:
        cfg, lead = self.cfg, self.rank == 0
        if not self.more():  # resumed a finished run: report where it stands
            yield self.evaluate()
            yield self.finish("done")
            return
        while self.more():
            t_step, fit_s = time.perf_counter(), (self.budget.step_s if self.budget else self.step_s) or 0.0
            self.train_step()
            switches = self._speedups(t_step, fit_s)
            final, step = not self.more(), self.step
            evaluating = lead and (final or (step % cfg.eval_interval == 0 if cfg.eval_interval else
                                             self.next_eval_s is not None and self.used_s() >= self.next_eval_s))
            sampling = lead and cfg.sample_interval and (step % cfg.sample_interval == 0 or final or (
                evaluating and self.budget is not None and "sample" not in self.cost))  # its cost, early
            checkpointing = self.out is not None and cfg.checkpoint_interval and step % cfg.checkpoint_interval == 0 \
                and not final
            stopping = self.should_stop() or self.is_paused()
            if len(self.pending) >= self.read_every or final or evaluating or sampling or checkpointing or stopping:
                yield from self.read(final)
            if evaluating:
                if self.eval_every_s:  # every 10 % of the budget, but evals take at most ~10 % of the time
                    self.next_eval_s = self.used_s() + max(self.eval_every_s, 9 * self.cost["eval"])
                yield self.evaluate()
            if sampling:
                yield self.sample()
            for sw in switches:
                yield self.switched(sw)
            if checkpointing:
                yield self.checkpoint("interval")
            self._wait_while_paused()
            if self.should_stop() and self.more():
                if self.out is not None:
                    yield self.checkpoint("stop")
                if lead and self.last_eval_step != self.step:  # the summary needs a val loss at this step
                    yield self.evaluate()
                yield self.finish("stopped")
                return
        yield from self.read(True)
        if lead and self.last_eval_step != self.step:
            yield self.evaluate()
        if self.out is not None:
            yield self.checkpoint("end")
        yield self.finish("done")
