"""The trainer: a plain generator, so the CLI loops over it and the GUI's worker only forwards
its events. AdamW with llama2.c's weight-decay groups (2-D weights decay, norms and biases do
not), linear warmup then cosine or warmup-stable-decay to lr/10 over a step count or a time
budget (budget.py), gradient clipping and accumulation, periodic eval on the held-out split,
sample text and atomic checkpoints that make ``resume`` continue the very same loss curve
(model, optimizer, schedule, RNG states and the batch sampler's state).

Before the first step a preparing phase (speed.py) picks threads, bf16 or fp32 and compiles the
step; its time is reported apart and never counted as training. The hot loop keeps the step's
numbers as tensors and reads them in one go every ``read_every`` steps (on an accelerator that
saves a host sync per step; on a CPU the values are ready anyway, so it reads every step).
"""
from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import asdict, dataclass
from typing import Callable, Iterator

import numpy as np
import torch

from studio.core import errors as E
from studio.core.training.batches import (  # noqa: F401  (re-exported: the trainer's public names)
    Batcher, eval_batcher, evaluate, is_encoder_decoder, sample_text)
from studio.core.training.budget import Budget, agree_max
from studio.core.training.events import CheckpointSaved, EvalMetrics, Finished, Sample, SpeedSetup, StepMetrics
from studio.core.training.speed import PrecisionChoice, autocast, set_threads  # noqa: F401  (autocast: re-exported)
from studio.core.training.step import gradients, prepare

_eval_batcher = eval_batcher  # the older name (bench/train_presets.py)


class TrainingDiverged(E.StudioError):
    """The loss became NaN/Inf: the run stops (CLI exit 1), the last good checkpoint stays."""


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 200                 # the run's total optimizer steps (sets the schedule)
    batch_size: int = 8
    context: int = 256
    lr: float = 3e-3                 # classroom models are small: measured fastest to stories in a minute
    min_lr_ratio: float = 0.1
    schedule: str = "cosine"         # cosine, or wsd (warmup-stable-decay: flat, then linear in the last 20%)
    warmup_steps: int | None = None  # default: 5% of the steps, at most 100
    weight_decay: float = 0.1
    beta1: float = 0.9
    beta2: float = 0.95
    grad_clip: float = 1.0
    optimizer: str = "adamw"         # adamw, muon (Muon for hidden matrices + AdamW for the rest), or
                                     # muonclip (muon + QK-clip of attention logits at qk_clip_tau)
    qk_clip_tau: float = 100.0       # Kimi K2's threshold
    muon_lr: float = 0.02
    precision: str = "fp32"          # fp32; bf16 (autocast, weights stay fp32); fp8 (simulated, see fp8.py);
                                     # auto: bf16 where native and measured faster (FAST, the apps' default)
    compile: bool | str = False      # torch.compile the step (inductor), eager where that fails; "auto":
                                     # only for runs long enough to win back the compile time
    attention: str = "sdpa"          # auto: causal attention with head size 8/16 runs the C++ small-head
                                     # kernel on a CPU (same function, faster; FAST); sdpa: always SDPA
    minutes: float | None = None     # train for this wall-clock budget instead of ``steps``
    read_every: int = 0              # steps between reads of the loss; 0 = every step on a CPU, 16 elsewhere
    grad_accum: int = 1
    eval_interval: int = 50
    eval_batches: int = 4
    sample_interval: int = 100       # 0 = no samples
    sample_tokens: int = 96
    checkpoint_interval: int = 100   # 0 = only on stop and at the end
    log_interval: int = 1            # steps between metrics.jsonl step records
    seed: int = 1337
    threads: int | None = None
    device: str = "cpu"              # cpu, cuda, mps or auto

    @property
    def budget_s(self) -> float | None:
        return None if self.minutes is None else 60.0 * float(self.minutes)

    @property
    def warmup(self) -> int:
        return self.warmup_steps if self.warmup_steps is not None else min(100, max(1, self.steps // 20))


# What the CLI and the app train with unless told otherwise: the fastest way this machine runs the
# very same step (tests and the library keep the plain fp32 eager defaults, whose numbers are exact).
FAST = {"precision": "auto", "compile": "auto", "attention": "auto"}


def pick_device(name: str) -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        return torch.device("mps" if mps is not None and mps.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise E.StudioError("--device cuda: this torch build or machine has no CUDA device; use --device cpu")
    return torch.device(name)


def lr_at(step: int, cfg: TrainConfig) -> float:
    """Learning rate of the step with 0-based index ``step``."""
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    min_lr = cfg.lr * cfg.min_lr_ratio
    if cfg.schedule == "wsd":
        decay_start = cfg.warmup + int(0.8 * max(0, cfg.steps - cfg.warmup))
        if step < decay_start:
            return cfg.lr
        return cfg.lr + (min_lr - cfg.lr) * min(1.0, (step - decay_start + 1) / max(1, cfg.steps - decay_start))
    span = max(1, cfg.steps - cfg.warmup)
    frac = min(1.0, (step - cfg.warmup) / span)
    return min_lr + 0.5 * (1.0 + math.cos(math.pi * frac)) * (cfg.lr - min_lr)


def make_optimizer(model: torch.nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    if cfg.optimizer in ("muon", "muonclip"):
        from studio.core.training.muon import MuonAdamW, muon_groups
        from studio.core.training.speed import native_bf16
        ns = torch.bfloat16 if native_bf16(pick_device(cfg.device)) else torch.float32
        return MuonAdamW(muon_groups(model, cfg), lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), ns_dtype=ns)
    if cfg.optimizer != "adamw":
        raise E.StudioError(f"unknown optimizer {cfg.optimizer!r}; choose adamw, muon or muonclip")
    params = {id(p): p for p in model.parameters() if p.requires_grad}  # tied weights once
    decay = [p for p in params.values() if p.dim() >= 2]
    no_decay = [p for p in params.values() if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": cfg.weight_decay, "base_lr": cfg.lr},
              {"params": no_decay, "weight_decay": 0.0, "base_lr": cfg.lr}]
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), eps=1e-8)


def _moe_modules(model):
    return [m for m in model.modules() if isinstance(getattr(m, "tokens_per_expert", None), torch.Tensor)]


def train_steps(model, data, cfg: TrainConfig, should_stop: Callable[[], bool] = lambda: False,
                is_paused: Callable[[], bool] = lambda: False, *, run=None, resume: bool = False,
                extend: bool = False) -> Iterator:
    """See :func:`_train_steps`; with ``cfg.precision == "fp8"`` the model's linear layers compute
    in simulated FP8 (studio.core.training.fp8) for as long as the generator runs."""
    if cfg.precision != "fp8":
        yield from _train_steps(model, data, cfg, should_stop, is_paused, run=run, resume=resume, extend=extend)
        return
    from studio.core.training.fp8 import fp8_linears
    with fp8_linears(model):
        yield from _train_steps(model, data, cfg, should_stop, is_paused, run=run, resume=resume, extend=extend)


def _record(run, key: str, value: dict) -> None:
    cfg = run.read_config()
    run.write_config({k: v for k, v in cfg.items() if k not in ("schema_version", "kind")} | {key: value})


def _train_steps(model, data, cfg: TrainConfig, should_stop, is_paused, *, run=None, resume: bool = False,
                 extend: bool = False) -> Iterator:
    """Train ``model`` on ``data`` (a TokenData) and yield Preparing, SpeedSetup, then StepMetrics,
    EvalMetrics, Sample, CheckpointSaved and finally Finished. With ``run`` (a RunDir) metrics go to
    metrics.jsonl, checkpoints to run/checkpoints and the setup and result to run.yaml; ``resume``
    continues run's latest checkpoint; ``extend`` (with ``cfg.minutes``) starts a new time budget
    there even if the run's last one is finished ("N more minutes").

    Under torchrun (torch.distributed initialized, world size > 1) the model is wrapped in
    DistributedDataParallel; every rank draws the same global batch of ``cfg.batch_size`` and
    trains on its own slice of it, so the result equals one process with that batch. Only rank 0
    evaluates, samples, logs and writes checkpoints. A time budget runs on one clock for all ranks
    (the slowest rank's step time and seconds spent, agreed after every step), so every rank follows
    the same schedule and stops at the same step."""
    t_prep = time.perf_counter()
    threads = set_threads(cfg.threads)
    device = pick_device(cfg.device)
    model.to(device).train()
    dist = torch.distributed
    world = dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1
    rank = dist.get_rank() if world > 1 else 0
    if cfg.batch_size % world:
        raise E.StudioError(f"the batch of {cfg.batch_size} does not split over {world} processes; use a multiple of {world}")
    forward = model
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel
        forward = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    shard = slice(rank * cfg.batch_size // world, (rank + 1) * cfg.batch_size // world)
    reader, run = run, (run if rank == 0 else None)  # every rank may resume; only rank 0 writes
    encdec = is_encoder_decoder(model)
    T = min(cfg.context, model.context)
    batcher = Batcher(data.train, T, encdec, device)
    val_batcher = eval_batcher(data.val, T, encdec, device)
    opt = make_optimizer(model, cfg)
    batch_gen = torch.Generator().manual_seed(cfg.seed)
    sample_gen = torch.Generator(device=device).manual_seed(cfg.seed + 1)
    step, tokens, ck = 0, 0, {}
    if resume:
        ck = reader.load_checkpoint()
        from studio.core.runs.weights import load_weights  # strict: names missing/unexpected/mis-shaped keys
        load_weights(model, ck["model"], str(reader.checkpoint_dir))
    if resume and not ck.get("optimizer"):  # imported weights: a fresh optimizer, schedule and sampler
        resume = False
    if resume:
        opt.load_state_dict(ck["optimizer"])
        step, tokens = int(ck["step"]), int(ck["data_pos"]["tokens"])
        batch_gen.set_state(ck["data_pos"]["generator"])
        sample_gen.set_state(ck["rng"]["sample"])
        torch.set_rng_state(ck["rng"]["torch"])
    kept = None
    if resume and cfg.precision == "auto":  # a resumed run computes as it started
        kept = ((reader.read_config().get("runtime") or {}).get("precision"))
        if kept in ("fp32", "bf16"):
            cfg = dataclasses.replace(cfg, precision=kept)
    clipping = cfg.optimizer == "muonclip"
    if clipping:
        from studio.core.training import qk_clip
        qk_clip.enable(model)
    runner, choice, step_s = yield from prepare(model, forward, cfg, device, batcher, cfg.batch_size // world, world > 1,
                                                cfg.steps - step)
    if clipping:
        qk_clip.enable(model)  # forget the warm-up's logits
    if world > 1 and step_s is not None:  # every rank fits its budget to the same (the slowest) step time
        step_s = agree_max(dist, device, step_s)[0]
    if kept in ("fp32", "bf16"):
        choice = PrecisionChoice(kept, "kept from the run's first session (auto)")
    setup = SpeedSetup(threads, choice.precision, choice.reason, runner.note, runner.is_compiled,
                       time.perf_counter() - t_prep,
                       attention=runner.attention.reason if runner.attention else "sdpa")
    precision = choice.precision
    if run is not None:
        _record(run, "runtime", {"threads": threads, "device": device.type, **choice.record(), "step": runner.note,
                                 "attention": runner.attention.record() if runner.attention else None,
                                 "preparing_s": round(setup.preparing_s, 2)})
    yield setup

    min_lr = cfg.lr * cfg.min_lr_ratio
    budget = None
    if cfg.budget_s:
        st = (ck.get("schedule") or {}).get("budget") if resume else None
        budget = Budget.from_state(st, cfg.lr, min_lr, step) if st and not extend else \
            Budget(cfg.lr, min_lr, cfg.budget_s, step, 0.0, cfg.warmup_steps, step_s,
                   shape="cosine" if cfg.schedule == "cosine" else "wsd")
    budget_base = budget.used if budget else 0.0  # seconds of the budget spent by earlier sessions
    more = budget.more if budget else (lambda: step < cfg.steps)
    lr_of = budget.lr if budget else (lambda i: lr_at(i, cfg))
    planned = budget.planned_steps if budget else (lambda: cfg.steps)
    groups = [(g, g.get("base_lr", cfg.lr) / cfg.lr) for g in opt.param_groups]  # each follows its own base lr
    moes = _moe_modules(model)
    params = [p for p in model.parameters() if p.requires_grad]
    clip_at = cfg.grad_clip if cfg.grad_clip > 0 else float("inf")
    # under torchrun every step: the read's all-reduce must happen on every rank alike, and only rank 0 evaluates
    read_every = 1 if world > 1 else cfg.read_every or (1 if device.type == "cpu" else 16)
    eval_every_s = (budget.seconds / 10) if budget and not cfg.eval_interval else None
    recent: list[float] = []
    last_val, last_bpb, last_eval_step, next_eval_s = float("nan"), float("nan"), -1, eval_every_s
    train_time, session_tokens, paused_s, last_lr = 0.0, 0, 0.0, None
    cost = {"eval": 0.0, "checkpoint": 0.0}  # seconds of the latest eval and checkpoint

    def keep_back():
        """Keep the final eval and checkpoint inside the budget. Under torchrun only rank 0 evaluates and
        saves: the reserve then changes at the next step's agreement, on every rank at once."""
        if budget and world == 1:
            budget.reserve = 1.2 * (cost["eval"] + cost["checkpoint"])

    pending: list[tuple] = []  # (step, lr, ce, aux, other, grad norm) of steps not read yet
    n_tok = cfg.batch_size * T * cfg.grad_accum
    t_start = t_window = time.perf_counter()

    def used_s() -> float:
        return time.perf_counter() - t_start - paused_s

    def read(final: bool = False):
        """Turn the pending steps' tensors into StepMetrics: one host sync for all of them."""
        nonlocal t_window, train_time
        if not pending:
            return []
        zero = torch.zeros((), device=device)
        vals = torch.stack([torch.stack([p[2].float(), zero if p[3] is None else p[3].float(),
                                         zero if p[4] is None else p[4].float(), p[5].float()]) for p in pending])
        if world > 1:  # log the global batch's loss, not this rank's slice
            dist.all_reduce(vals)
            vals = vals / world
        rows = vals.double().tolist()
        now = time.perf_counter()
        dt = (now - t_window) / len(pending)
        t_window = now
        loads = tuple((m.tokens_per_expert.float() / max(1, int(m.tokens_per_expert.sum()))).cpu().numpy() for m in moes)
        out = []
        for (stp, lr, _, aux_t, other_t, _), (ce, aux, other, gn) in zip(pending, rows):
            if not math.isfinite(ce):
                raise TrainingDiverged(f"the loss became {ce} at step {stp}; training stopped "
                                       + ("(the last good checkpoint is kept); " if run is not None and run.has_checkpoint() else "")
                                       + "try a lower learning rate (--lr)")
            if not math.isfinite(gn):
                raise TrainingDiverged(f"the gradient norm became {gn} at step {stp}; training stopped; "
                                       "try a lower learning rate (--lr)")
            train_time += dt
            recent.append(ce)
            eta = budget.remaining_s() if budget else (cfg.steps - stp) * (used_s() / max(1, stp - start_step))
            sm = StepMetrics(stp, tokens - n_tok * (step - stp), ce, lr, gn, n_tok / dt if dt > 0 else 0.0, now - t_start,
                             aux if moes else None, other if other_t is not None and other else None,
                             loads if stp == step else (), data.bits_per_byte(ce), planned(), eta)
            if run is not None and (stp % max(1, cfg.log_interval) == 0 or (final and stp == step)):
                run.append_metrics(sm.record())
            out.append(sm)
        del recent[:-100]
        pending.clear()
        return out

    def checkpoint(reason: str):
        payload = {"model": model.state_dict(), "optimizer": opt.state_dict(),
                   "schedule": {"kind": cfg.schedule, "warmup": cfg.warmup, "steps": cfg.steps, "lr": cfg.lr,
                                "min_lr": min_lr, "budget": budget.state(reason == "end") if budget else None},
                   "rng": {"torch": torch.get_rng_state(), "sample": sample_gen.get_state()},
                   "data_pos": {"tokens": tokens, "generator": batch_gen.get_state()},
                   "config": asdict(cfg)}
        t = time.perf_counter()
        path = run.save_checkpoint(payload, step, keep_step_file=True)
        cost["checkpoint"] = time.perf_counter() - t
        keep_back()
        return CheckpointSaved(step, str(path), reason)

    def finish(reason: str):
        tps = session_tokens / train_time if train_time > 0 else 0.0
        train_loss = float(np.mean(recent[-10:])) if recent else float("nan")
        fin = Finished(step, tokens, reason, train_loss, last_val, last_bpb, tps, data.bits_per_byte(train_loss),
                       used_s(), budget.seconds if budget else None, last_lr)
        if run is not None and session_tokens:  # (a resumed finished run only reports: its result stays)
            run.append_metrics(fin.record())
            _record(run, "result", {k: (round(v, 5) if isinstance(v, float) else v) for k, v in fin.record().items()
                                    if k != "kind"})
        return fin

    def do_eval():
        nonlocal last_val, last_bpb, last_eval_step
        t = time.perf_counter()
        last_val = evaluate(model, val_batcher, cfg.eval_batches, cfg.batch_size)
        last_bpb, last_eval_step = data.bits_per_byte(last_val), step
        train_loss = float(np.mean(recent[-20:])) if recent else float("nan")
        ev = EvalMetrics(step, tokens, last_val, last_bpb, train_loss, data.bits_per_byte(train_loss))
        if run is not None:
            run.append_metrics(ev.record())
        cost["eval"] = time.perf_counter() - t
        keep_back()
        return ev

    start_step = step
    if not more():  # resumed a finished run: report where it stands
        yield do_eval()
        yield finish("done")
        return
    while more():
        lr = lr_of(step)
        for g, base in groups:
            g["lr"] = base * lr
        micro = []
        for _ in range(cfg.grad_accum):
            x, y, src = batcher.sample(cfg.batch_size, batch_gen)
            micro.append((x[shard], y[shard], None if src is None else src[shard]) if world > 1 else (x, y, src))
        ce, aux, other = gradients(runner, model, micro, precision, device, cfg.grad_accum)
        gn = torch.nn.utils.clip_grad_norm_(params, clip_at)
        opt.step()
        if clipping:
            qk_clip.clip(model, cfg.qk_clip_tau)
        opt.zero_grad(set_to_none=True)
        step += 1
        tokens += n_tok
        session_tokens += n_tok
        last_lr = lr
        pending.append((step, lr, ce, aux, other, gn))
        if budget:
            spent = budget_base + used_s()
            if world > 1:  # one clock for all ranks (the slowest), so all fit, decay and stop alike
                spent, reserve = agree_max(dist, device, spent, 1.2 * (cost["eval"] + cost["checkpoint"]))
                budget.reserve = reserve
            budget.observe(step, spent)
        final = not more()
        evaluating = rank == 0 and (final or (
            step % cfg.eval_interval == 0 if cfg.eval_interval else
            next_eval_s is not None and used_s() >= next_eval_s))
        sampling = rank == 0 and cfg.sample_interval and (step % cfg.sample_interval == 0 or final)
        checkpointing = run is not None and cfg.checkpoint_interval and step % cfg.checkpoint_interval == 0 and not final
        stopping = should_stop() or is_paused()
        if len(pending) >= read_every or final or evaluating or sampling or checkpointing or stopping:
            yield from read(final)
        if evaluating:
            if eval_every_s:  # every 10 % of the budget, but evals take at most ~10 % of the time
                next_eval_s = used_s() + max(eval_every_s, 9 * cost["eval"])
            yield do_eval()
        if sampling:
            yield Sample(step, sample_text(model, data.tokenizer, cfg.sample_tokens, sample_gen, device))
        if checkpointing:
            yield checkpoint("interval")
        t_pause = time.perf_counter()
        while is_paused() and not should_stop():
            time.sleep(0.05)
        paused_s += time.perf_counter() - t_pause
        if should_stop() and more():
            if run is not None:
                yield checkpoint("stop")
            if rank == 0 and last_eval_step != step:  # the summary needs a val loss at this step
                yield do_eval()
            yield finish("stopped")
            return
    yield from read(True)
    if rank == 0 and last_eval_step != step:
        yield do_eval()
    if run is not None:
        yield checkpoint("end")
    yield finish("done")
