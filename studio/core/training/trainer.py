"""The trainer: a plain generator, so the CLI loops over it and the GUI's QThread only forwards
its events. AdamW with llama2.c's weight-decay groups (2-D weights decay, norms and biases do
not), linear warmup then cosine decay to lr/10, gradient clipping and accumulation, periodic
eval on the held-out split, sample text and atomic checkpoints that make ``resume`` continue the
very same loss curve (model, optimizer, schedule, RNG states and the batch sampler's state).
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from typing import Callable, Iterator

import numpy as np
import torch

from studio.core import errors as E
from studio.core.tokenizers import BOS
from studio.core.training.events import CheckpointSaved, EvalMetrics, Finished, Sample, StepMetrics


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
    precision: str = "fp32"          # fp32; bf16 (autocast, weights stay fp32); fp8 (simulated, see fp8.py)
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
    def warmup(self) -> int:
        return self.warmup_steps if self.warmup_steps is not None else min(100, max(1, self.steps // 20))


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
        return MuonAdamW(muon_groups(model, cfg), lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))
    if cfg.optimizer != "adamw":
        raise E.StudioError(f"unknown optimizer {cfg.optimizer!r}; choose adamw, muon or muonclip")
    params = {id(p): p for p in model.parameters() if p.requires_grad}  # tied weights once
    decay = [p for p in params.values() if p.dim() >= 2]
    no_decay = [p for p in params.values() if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": cfg.weight_decay, "base_lr": cfg.lr},
              {"params": no_decay, "weight_decay": 0.0, "base_lr": cfg.lr}]
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), eps=1e-8)


def is_encoder_decoder(model) -> bool:
    return "source" in getattr(model, "inputs", {}).values()


class Batcher:
    """Random windows of the token stream, as llama2.c's batches. For an encoder-decoder model a
    window of 2T tokens is split: the encoder reads the first T, the decoder starts from BOS and
    predicts the next T."""

    def __init__(self, tokens: np.ndarray, T: int, encdec: bool, device):
        self.tokens, self.T, self.encdec, self.device = tokens, T, encdec, device
        self.span = 2 * T if encdec else T + 1
        if len(tokens) <= self.span:
            raise E.StudioError(f"the training data has {len(tokens):,} tokens, too few for windows of {self.span}; "
                                "use more data or a smaller --context")

    def windows(self, starts) -> tuple:
        w = torch.from_numpy(np.stack([self.tokens[i:i + self.span] for i in starts]).astype(np.int64))
        if self.encdec:
            T = self.T
            src, y = w[:, :T], w[:, T:]
            x = torch.cat([torch.full((len(w), 1), BOS, dtype=torch.long), y[:, :-1]], 1)
        else:
            src, x, y = None, w[:, :-1], w[:, 1:]
        to = (lambda t: None if t is None else t.to(self.device, non_blocking=True))
        return to(x), to(y), to(src)

    def sample(self, B: int, gen: torch.Generator) -> tuple:
        starts = torch.randint(0, len(self.tokens) - self.span, (B,), generator=gen).tolist()
        return self.windows(starts)


def _eval_batcher(val: np.ndarray, T: int, encdec: bool, device) -> Batcher:
    # a tiny validation split still gets evaluated, on shorter windows
    span_T = T if len(val) > (2 * T if encdec else T + 1) else max(2, (len(val) - 1) // (2 if encdec else 1) - 1)
    return Batcher(val, span_T, encdec, device)


@torch.no_grad()
def evaluate(model, val_batcher: Batcher, batches: int, B: int) -> float:
    """Mean cross-entropy over fixed, evenly spaced windows of the held-out split."""
    was = model.training
    model.eval()
    n = max(1, batches * B)
    starts = np.linspace(0, len(val_batcher.tokens) - val_batcher.span - 1, n).astype(int).tolist()
    losses = []
    for i in range(0, n, B):
        x, y, src = val_batcher.windows(starts[i:i + B])
        model(x, y, source=src)
        losses.append(model.last_losses["ce"])
    model.train(was)
    return float(np.mean(losses))


@torch.no_grad()
def sample_text(model, tokenizer, n_tokens: int, gen: torch.Generator, device, prompt: str = "",
                temperature: float = 0.8, top_k: int | None = None) -> str:
    was = model.training
    model.eval()
    ids = tokenizer.encode(prompt, bos=True) if prompt else [BOS]
    idx = torch.tensor([ids], dtype=torch.long, device=device)
    if is_encoder_decoder(model):
        src, start = idx[:, -model.context:], torch.tensor([[BOS]], device=device)
        out = model.generate(start, n_tokens, temperature, top_k, stop_token=BOS, source=src, generator=gen)
        text = tokenizer.decode(ids + out[0, 1:].tolist())
    else:
        out = model.generate(idx, n_tokens, temperature, top_k, stop_token=BOS, generator=gen)
        text = tokenizer.decode(out[0].tolist())
    model.train(was)
    return text


def autocast(device, precision: str):
    """bf16 autocast (matmuls in bfloat16, weights and optimizer in fp32), or nothing."""
    import contextlib
    if precision == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    if precision not in ("fp32", "fp8"):
        raise E.StudioError(f"unknown precision {precision!r}; choose fp32, bf16 or fp8")
    return contextlib.nullcontext()


def _moe_modules(model):
    return [m for m in model.modules() if isinstance(getattr(m, "tokens_per_expert", None), torch.Tensor)]


def train_steps(model, data, cfg: TrainConfig, should_stop: Callable[[], bool] = lambda: False,
                is_paused: Callable[[], bool] = lambda: False, *, run=None, resume: bool = False) -> Iterator:
    """See :func:`_train_steps`; with ``cfg.precision == "fp8"`` the model's linear layers compute
    in simulated FP8 (studio.core.training.fp8) for as long as the generator runs."""
    if cfg.precision != "fp8":
        yield from _train_steps(model, data, cfg, should_stop, is_paused, run=run, resume=resume)
        return
    from studio.core.training.fp8 import fp8_linears
    with fp8_linears(model):
        yield from _train_steps(model, data, cfg, should_stop, is_paused, run=run, resume=resume)


def _train_steps(model, data, cfg: TrainConfig, should_stop, is_paused, *, run=None, resume: bool = False) -> Iterator:
    """Train ``model`` on ``data`` (a TokenData) and yield StepMetrics, EvalMetrics, Sample,
    CheckpointSaved and finally Finished. With ``run`` (a RunDir) metrics go to metrics.jsonl
    and checkpoints to run/checkpoints; ``resume`` continues run's latest checkpoint.

    Under torchrun (torch.distributed initialized, world size > 1) the model is wrapped in
    DistributedDataParallel; every rank draws the same global batch of ``cfg.batch_size`` and
    trains on its own slice of it, so the result equals one process with that batch. Only rank 0
    evaluates, samples, logs and writes checkpoints."""
    if cfg.threads:
        torch.set_num_threads(int(cfg.threads))
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
    val_batcher = _eval_batcher(data.val, T, encdec, device)
    opt = make_optimizer(model, cfg)
    batch_gen = torch.Generator().manual_seed(cfg.seed)
    sample_gen = torch.Generator(device=device).manual_seed(cfg.seed + 1)
    step, tokens = 0, 0
    if resume:
        ck = reader.load_checkpoint()
        model.load_state_dict(ck["model"], strict=False)
    if resume and not ck.get("optimizer"):  # imported weights: a fresh optimizer, schedule and sampler
        resume = False
    if resume:
        opt.load_state_dict(ck["optimizer"])
        step, tokens = int(ck["step"]), int(ck["data_pos"]["tokens"])
        batch_gen.set_state(ck["data_pos"]["generator"])
        sample_gen.set_state(ck["rng"]["sample"])
        torch.set_rng_state(ck["rng"]["torch"])
    clipping = cfg.optimizer == "muonclip"
    if clipping:
        from studio.core.training import qk_clip
        qk_clip.enable(model)
    moes = _moe_modules(model)
    params = [p for p in model.parameters() if p.requires_grad]
    recent: list[float] = []
    last_val, last_bpb = float("nan"), float("nan")
    train_time, session_tokens = 0.0, 0
    t_start = time.perf_counter()

    def checkpoint(reason: str):
        payload = {"model": model.state_dict(), "optimizer": opt.state_dict(),
                   "schedule": {"kind": cfg.schedule, "warmup": cfg.warmup, "steps": cfg.steps, "lr": cfg.lr,
                                "min_lr": cfg.lr * cfg.min_lr_ratio},
                   "rng": {"torch": torch.get_rng_state(), "sample": sample_gen.get_state()},
                   "data_pos": {"tokens": tokens, "generator": batch_gen.get_state()},
                   "config": asdict(cfg)}
        path = run.save_checkpoint(payload, step, keep_step_file=True)
        return CheckpointSaved(step, str(path), reason)

    def finish(reason: str):
        tps = session_tokens / train_time if train_time > 0 else 0.0
        train_loss = float(np.mean(recent[-10:])) if recent else float("nan")
        return Finished(step, tokens, reason, train_loss, last_val, last_bpb, tps)

    def do_eval():
        nonlocal last_val, last_bpb
        last_val = evaluate(model, val_batcher, cfg.eval_batches, cfg.batch_size)
        last_bpb = data.bits_per_byte(last_val)
        ev = EvalMetrics(step, tokens, last_val, last_bpb, float(np.mean(recent[-20:])) if recent else float("nan"))
        if run is not None:
            run.append_metrics(ev.record())
        return ev

    if step >= cfg.steps:  # resumed a finished run: report where it stands
        yield do_eval()
        yield finish("done")
        return
    while step < cfg.steps:
        t0 = time.perf_counter()
        lr = lr_at(step, cfg)
        for g in opt.param_groups:  # each group follows the schedule from its own base lr
            g["lr"] = g.get("base_lr", cfg.lr) * lr / cfg.lr
        ce, aux, mtp = 0.0, 0.0, 0.0
        for _ in range(cfg.grad_accum):
            x, y, src = batcher.sample(cfg.batch_size, batch_gen)
            if world > 1:
                x, y, src = x[shard], y[shard], (None if src is None else src[shard])
            with autocast(device, cfg.precision):
                _, loss = forward(x, y, source=src)
            if not torch.isfinite(loss):
                raise TrainingDiverged(f"the loss became {float(loss.detach())} at step {step + 1}; training stopped "
                                       + ("(the last good checkpoint is kept); " if run is not None and run.has_checkpoint() else "")
                                       + "try a lower learning rate (--lr)")
            (loss / cfg.grad_accum).backward()
            ll = model.last_losses
            ce += (ll["ce"] if "ce" in ll else float(loss.detach())) / cfg.grad_accum
            aux += ll.get("moe_aux", 0.0) / cfg.grad_accum
            mtp += sum(v for k, v in ll.items() if k not in ("ce", "moe_aux")) / cfg.grad_accum
        if world > 1:  # log the global batch's loss, not this rank's slice
            t = torch.tensor([ce, aux, mtp], dtype=torch.float64)
            dist.all_reduce(t)
            ce, aux, mtp = (t / world).tolist()
        gn = float(torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip if cfg.grad_clip > 0 else float("inf")))
        if not math.isfinite(gn):
            raise TrainingDiverged(f"the gradient norm became {gn} at step {step + 1}; training stopped; "
                                   "try a lower learning rate (--lr)")
        opt.step()
        if clipping:
            qk_clip.clip(model, cfg.qk_clip_tau)
        opt.zero_grad(set_to_none=True)
        if device.type == "cuda":
            torch.cuda.synchronize()
        dt = time.perf_counter() - t0
        step += 1
        n_tok = cfg.batch_size * T * cfg.grad_accum
        tokens += n_tok
        session_tokens += n_tok
        train_time += dt
        recent.append(ce)
        del recent[:-100]
        loads = tuple((m.tokens_per_expert.float() / max(1, int(m.tokens_per_expert.sum()))).cpu().numpy() for m in moes)
        sm = StepMetrics(step, tokens, ce, lr, gn, n_tok / dt if dt > 0 else 0.0, time.perf_counter() - t_start,
                         aux if moes else None, mtp if mtp else None, loads)
        if run is not None and (step % max(1, cfg.log_interval) == 0 or step == cfg.steps):
            run.append_metrics(sm.record())
        yield sm
        if rank == 0 and (step % max(1, cfg.eval_interval) == 0 or step == cfg.steps):
            yield do_eval()
        if rank == 0 and cfg.sample_interval and (step % cfg.sample_interval == 0 or step == cfg.steps):
            yield Sample(step, sample_text(model, data.tokenizer, cfg.sample_tokens, sample_gen, device))
        if run is not None and cfg.checkpoint_interval and step % cfg.checkpoint_interval == 0 and step < cfg.steps:
            yield checkpoint("interval")
        while is_paused() and not should_stop():
            time.sleep(0.05)
        if should_stop() and step < cfg.steps:
            if run is not None:
                yield checkpoint("stop")
            if rank == 0 and step % max(1, cfg.eval_interval):  # the summary needs a val loss at this step
                yield do_eval()
            yield finish("stopped")
            return
    if run is not None:
        yield checkpoint("end")
    yield finish("done")
