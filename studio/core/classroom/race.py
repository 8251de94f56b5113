"""Architecture race: 2–4 models trained side by side on the identical token stream.

One tokenizer (trained once on the race's data), one batch sampler with one seed: every step
draws ONE batch and every model trains on that same batch, in turn, in this one generator (so
each gets the same CPU, interleaved step by step). Same initial seed, same schedule, same
held-out windows at the same steps. Each model gets a RUN_DIR under the race folder
(``1-<id>/``, ``2-<id>/``, …: run.yaml, metrics.jsonl with a ``batch`` hash per step, a final
checkpoint usable by generate/inspect/train --resume); ``race.yaml`` holds the setup and the
final table (params, training FLOPs, tokens/s, held-out bits per byte, a sample from each)
and is what :func:`load_race` reopens.
"""
from __future__ import annotations

import hashlib
import math
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import yaml

from studio.core import errors as E
from studio.core.files.contained import inside
from studio.core.files.file_schemas import RACE, check
from studio.core.files.schema import short
from studio.core.files.yamlio import atomic_write_text, read_yaml

RACE_SCHEMA = 1
INDEX = "race.yaml"
SAMPLE_PROMPT = "Once upon a time"


@dataclass(frozen=True)
class RaceConfig:
    models: tuple = ()                  # preset ids, model files or inline dicts (race presets)
    minutes: float = 3.0                # the whole race; steps are fitted to this machine
    steps: int | None = None            # instead of minutes
    match: str = "none"                 # none | params | active | flops (studio.core.classroom.race_setup)
    data: str | None = None
    tokenizer: str = "bpe"
    vocab_size: int = 512
    batch_size: int = 8
    context: int = 256
    lr: float = 3e-3
    seed: int = 1337
    eval_interval: int | None = None    # default: steps // 12
    threads: int | None = None
    device: str = "cpu"
    title: str = ""


@dataclass(frozen=True)
class RaceEvent:
    kind: str            # "start", "step", "eval", "done", "stopped"
    model: int           # index of the model (-1 for race-wide events)
    name: str
    message: str = ""
    step: int = 0
    steps: int = 0
    tokens: int = 0
    loss: float | None = None
    val_bpb: float | None = None
    wall_s: float = 0.0          # this model's own training time so far
    flops: float = 0.0           # its training FLOPs so far, 6 · active params · tokens
    batch: str = ""              # hash of the batch this model just trained on
    table: tuple = ()            # "done"/"stopped": the final rows


@dataclass
class Racer:
    name: str
    spec: str
    arch: object
    model: object
    opt: object
    run: object
    params: int
    active: int
    wall_s: float = 0.0
    tokens: int = 0
    last_bpb: float | None = None
    losses: list = field(default_factory=list)


def default_race_dir() -> Path:
    """A new folder for a race started from the app: ``races/<time>`` in the user data dir
    (``ARCHSTUDIO_RACES_DIR`` replaces that parent)."""
    import os

    import platformdirs
    env = os.environ.get("ARCHSTUDIO_RACES_DIR")
    base = Path(env) if env else Path(platformdirs.user_data_dir("archstudio", appauthor=False)) / "races"
    return base / time.strftime("race-%Y%m%d-%H%M%S")


def slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-")[:60] or "model"


def batch_hash(x, y) -> str:
    h = hashlib.sha256(x.detach().cpu().numpy().tobytes())
    h.update(y.detach().cpu().numpy().tobytes())
    return h.hexdigest()[:16]


def _write_index(out: Path, data: dict) -> None:
    atomic_write_text(out / INDEX, yaml.safe_dump({"schema_version": RACE_SCHEMA, "kind": "race", **data},
                                                  sort_keys=False, allow_unicode=True, width=100))


@dataclass
class _Field:
    """A race set up and ready to run: the racers, the one token stream and the schedule."""
    out: Path
    racers: list
    data: object
    tok: object
    tcfg: object
    device: object
    index: dict
    corpus_label: str


def race(out_dir, cfg: RaceConfig, should_stop: Callable[[], bool] = lambda: False) -> Iterator[RaceEvent]:
    """Run the race into ``out_dir`` (a new or empty folder); see the module docstring."""
    f = _set_up(Path(out_dir), cfg)
    steps, T = f.tcfg.steps, f.tcfg.context
    yield RaceEvent("start", -1, f.index["title"], f"{len(f.racers)} models, {steps} steps of {cfg.batch_size}×{T} "
                    f"tokens on {f.corpus_label}", steps=steps)
    step, batch_gen = yield from _run_steps(f, cfg, should_stop)
    yield from _finish(f, cfg, step, batch_gen)


def _set_up(out: Path, cfg: RaceConfig) -> _Field:
    """Models, the one tokenizer and token stream, the step count fitted to the minutes, run folders."""
    import dataclasses

    import torch

    from studio.core.classroom.race_setup import load_race_model, match_models
    from studio.core.classroom.time_budget import measure_step_seconds, steps_for
    from studio.core.data import load_corpus, make_tokenizer, tokenize_corpus
    from studio.core.model.accounting import account
    from studio.core.runs.rundir import RunDir
    from studio.core.training import setup as S
    from studio.core.training.trainer import TrainConfig, is_encoder_decoder, make_optimizer, pick_device
    if not 2 <= len(cfg.models) <= 4:
        raise E.StudioError(f"a race takes 2 to 4 models, not {len(cfg.models)}")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise E.StudioError(f"{out}: exists and is not an empty folder; choose a new --out for the race")
    if cfg.steps is None and not cfg.minutes > 0:
        raise E.StudioError("--minutes must be positive")
    loaded = [load_race_model(m) for m in cfg.models]
    corpus = load_corpus(cfg.data)
    tok = make_tokenizer(cfg.tokenizer, corpus, cfg.vocab_size)  # ONE tokenizer for every model
    archs = match_models([S.classroom_arch(a, S.model_vocab(tok, None), cfg.context) for a, _ in loaded], cfg.match)
    if cfg.threads:
        torch.set_num_threads(int(cfg.threads))
    device = pick_device(cfg.device)
    models = [S.build_model(a, cfg.seed) for a in archs]  # the same seed for every initialisation
    if any(is_encoder_decoder(m) for m in models):
        raise E.StudioError("the 2017 encoder-decoder reads (source, target) pairs, not one token stream; "
                            "race decoder-only models")
    T = min([cfg.context] + [m.context for m in models])
    data = tokenize_corpus(corpus, tok)
    tcfg = TrainConfig.for_run(steps=cfg.steps or 1, batch_size=cfg.batch_size, context=T, lr=cfg.lr, seed=cfg.seed,
                               threads=cfg.threads, device=cfg.device)
    if cfg.steps is None:
        per_step = sum(measure_step_seconds(m, data, cfg.batch_size, T, cfg.device) for m in models)
        tcfg = dataclasses.replace(tcfg, steps=steps_for(60.0 * cfg.minutes, per_step))
    tcfg = dataclasses.replace(tcfg, eval_interval=cfg.eval_interval or max(1, tcfg.steps // 12))
    out.mkdir(parents=True, exist_ok=True)
    racers: list[Racer] = []
    for i, ((arch, spec), a, m) in enumerate(zip(loaded, archs, models)):
        run = RunDir(out / f"{i + 1}-{slug(spec)}")
        run.initialize(a, spec, tok, {**S.training_record(tcfg), "race": str(out)}, corpus.describe())
        acc = account(a, "classroom")
        m.to(device).train()
        name = str((a.meta or {}).get("title", spec))
        racers.append(Racer(name, spec, a, m, make_optimizer(m, tcfg), run, acc.params_total, acc.params_active))
    index = {"title": cfg.title or " vs ".join(r.name for r in racers), "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
             "status": "running", "config": {k: v for k, v in asdict(cfg).items() if k != "models"},
             "data": corpus.describe(), "tokenizer": {"kind": tok.kind, "vocab_size": tok.vocab_size},
             "steps": tcfg.steps, "context": T,
             "models": [{"name": r.name, "spec": r.spec, "run": r.run.path.name, "params": r.params,
                         "params_active": r.active} for r in racers]}
    _write_index(out, index)
    return _Field(out, racers, data, tok, tcfg, device, index, corpus.label)


def _run_steps(f: _Field, cfg: RaceConfig, should_stop):
    """Every model takes each step on the same batch; evaluations at the same steps. Returns
    (steps taken, the batch generator) for the checkpoints."""
    import torch

    from studio.core.training.trainer import Batcher, autocast, evaluate, lr_at
    tcfg, steps, T = f.tcfg, f.tcfg.steps, f.tcfg.context
    batcher = Batcher(f.data.train, T, False, f.device)
    val_T = T if len(f.data.val) > T + 1 else max(2, len(f.data.val) - 2)
    val_batcher = Batcher(f.data.val, val_T, False, f.device)
    batch_gen = torch.Generator().manual_seed(cfg.seed)  # ONE sampler: the same batches in the same order
    params_of = [[p for p in r.model.parameters() if p.requires_grad] for r in f.racers]
    step = 0
    while step < steps and not should_stop():
        x, y, _ = batcher.sample(cfg.batch_size, batch_gen)
        lr = lr_at(step, tcfg)
        step += 1
        for i, r in enumerate(f.racers):
            h = batch_hash(x, y)  # what this model is about to see
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
            yield RaceEvent("step", i, r.name, step=step, steps=steps, tokens=r.tokens, loss=ce, wall_s=r.wall_s,
                            flops=flops, batch=h)
        if step % tcfg.eval_interval == 0 or step == steps:
            for i, r in enumerate(f.racers):
                vl = evaluate(r.model, val_batcher, tcfg.eval_batches, cfg.batch_size)
                r.last_bpb = f.data.bits_per_byte(vl)
                r.run.append_metrics({"kind": "eval", "step": step, "tokens": r.tokens, "val_loss": vl,
                                      "val_bpb": r.last_bpb, "train_loss": float("nan"), "elapsed_s": r.wall_s,
                                      "flops": 6.0 * r.active * r.tokens})
                yield RaceEvent("eval", i, r.name, step=step, steps=steps, tokens=r.tokens, val_bpb=r.last_bpb,
                                wall_s=r.wall_s, flops=6.0 * r.active * r.tokens)
    return step, batch_gen


def _finish(f: _Field, cfg: RaceConfig, step: int, batch_gen):
    """A checkpoint and a sample per model, the final table in race.yaml."""
    import torch

    from studio.core.training.trainer import sample_text
    tcfg, steps = f.tcfg, f.tcfg.steps
    table = []
    for r in f.racers:
        gen = torch.Generator(device=f.device).manual_seed(cfg.seed + 1)
        text = sample_text(r.model, f.tok, 48, gen, f.device, prompt=SAMPLE_PROMPT)
        payload = {"model": r.model.state_dict(), "optimizer": r.opt.state_dict(),
                   "schedule": {"kind": tcfg.schedule, "warmup": tcfg.warmup, "steps": steps, "lr": cfg.lr,
                                "min_lr": cfg.lr * tcfg.min_lr_ratio},
                   "rng": {"torch": torch.get_rng_state(), "sample": gen.get_state()},
                   "data_pos": {"tokens": r.tokens, "generator": batch_gen.get_state()}, "config": asdict(tcfg)}
        r.run.save_checkpoint(payload, step)
        table.append({"name": r.name, "spec": r.spec, "run": r.run.path.name, "params": r.params,
                      "params_active": r.active, "steps": step, "tokens": r.tokens,
                      "flops": 6.0 * r.active * r.tokens, "seconds": round(r.wall_s, 3),
                      "tokens_per_s": round(r.tokens / r.wall_s, 1) if r.wall_s > 0 else 0.0,
                      "val_bpb": None if r.last_bpb is None or math.isnan(r.last_bpb) else round(r.last_bpb, 4),
                      "sample": text})
    finished = step >= steps
    _write_index(f.out, {**f.index, "status": "done" if finished else "stopped", "steps_done": step, "table": table})
    yield RaceEvent("done" if finished else "stopped", -1, f.index["title"],
                    f"race {'finished' if finished else 'stopped'} after {step} of {steps} steps: {f.out}",
                    step=step, steps=steps, table=tuple(table))


@dataclass(frozen=True)
class SavedRace:
    path: Path
    index: dict
    curves: dict   # model name -> list of eval records (step, tokens, val_bpb, elapsed_s, flops)

    @property
    def table(self) -> list[dict]:
        return list(self.index.get("table") or [])


def load_race(path) -> SavedRace:
    """Reopen a race folder: its race.yaml and every model's held-out curve from metrics.jsonl."""
    from studio.core.runs.rundir import RunDir
    p = Path(path)
    if not (p / INDEX).is_file():
        raise E.LoadError(f"{p}: not a race folder (no {INDEX}); run 'archstudio race A B --out {p}'")
    index = read_yaml(p / INDEX)
    v = index.get("schema_version")
    if index.get("kind") != "race" or not isinstance(v, int) or isinstance(v, bool) or v > RACE_SCHEMA:
        raise E.LoadError(f"{p / INDEX}: not a race index this version reads (kind {short(index.get('kind'))}, "
                          f"schema_version {short(v)})")
    index = check(index, RACE, str(p / INDEX))
    curves = {}
    for i, m in enumerate(index["models"]):
        run = inside(p, m["run"], f"{p / INDEX}: models[{i}].run")  # read only inside the race folder
        curves[str(m["name"])] = RunDir(run).read_metrics().of_kind("eval")
    return SavedRace(p, index, curves)
