"""Architecture race: 2–4 models trained side by side on the identical token stream.

One tokenizer (trained once on the race's data), one batch sampler with one seed: every step
draws ONE batch and every model trains on that same batch, in turn, in this one generator (so
each gets the same CPU, interleaved step by step). Same initial seed, same schedule, same
held-out windows at the same steps. ``--minutes N`` is N minutes on the wall clock from the
command or click, preparing included, paced by the trainer's own time budget (race_steps.py).
:func:`race` is a job yielding one frozen dataclass per kind of event (race_events.py). Each model gets a RUN_DIR under the race folder
(``1-<id>/``, ``2-<id>/``, …: run.yaml, metrics.jsonl with a ``batch`` hash per step, a final
checkpoint usable by generate/inspect/train --resume); ``race.yaml`` holds the setup and the
final table (params, training FLOPs, tokens/s, held-out bits per byte, a sample from each)
and is what :func:`load_race` reopens.
"""
from __future__ import annotations

import math
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterator

import yaml

from studio.core import errors as E
from studio.core.classroom.race_events import RaceDone, RaceStarted, RaceStopped
from studio.core.files.contained import inside
from studio.core.files.file_schemas import RACE, check
from studio.core.files.schema import short
from studio.core.files.yamlio import atomic_write_text, read_yaml
from studio.core.jobs.control import JobControl

RACE_SCHEMA = 1
INDEX = "race.yaml"
SAMPLE_PROMPT = "Once upon a time"
SAMPLE_TOKENS = 48


@dataclass(frozen=True)
class RaceConfig:
    models: tuple = ()                  # preset ids, model files or inline dicts (race presets)
    minutes: float = 3.0                # the whole race on the wall clock, preparing included
    steps: int | None = None            # instead of minutes
    match: str = "none"                 # none | params | active | flops (studio.core.classroom.race_setup)
    data: str | None = None
    tokenizer: str = "bpe"
    vocab_size: int = 512
    batch_size: int = 8
    context: int = 256
    lr: float = 3e-3
    seed: int = 1337
    eval_interval: int | None = None    # default: 12 evaluations (steps // 12, or every 1/12 of the minutes)
    threads: int | None = None
    device: str = "cpu"
    title: str = ""


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
    costs: object = None  # race_steps.Costs measured for a time budget (None: a step count)


def race(out_dir, cfg: RaceConfig, control: JobControl | None = None, started_at: float | None = None) -> Iterator:
    """Run the race into ``out_dir`` (a new or empty folder); see the module docstring. A job
    (studio.core.jobs): yields Preparing, RaceStarted, RaceStep and RaceEval, then RaceDone or
    RaceStopped (``control`` stops it after the step). ``started_at`` (a ``race_steps.clock()``
    reading): when the user asked for the race, where its minutes start (default: now)."""
    from studio.core.classroom.race_steps import Pace, clock, run_steps
    from studio.core.training.events import Preparing
    started_at = clock() if started_at is None else started_at
    control = control or JobControl()
    yield Preparing("loading the models and the stories, training the race's tokenizer")
    f = yield from _set_up(Path(out_dir), cfg)
    pace = Pace(f.tcfg, None if cfg.steps else 60.0 * cfg.minutes, started_at, f.costs, cfg.eval_interval)
    prep = pace.used_s()
    how = (f"{cfg.minutes:g} min on the wall clock ({prep:.0f} s of it spent preparing), steps fitted to what is "
           "left from the first one's time" if pace.budget else f"{pace.planned()} steps")
    yield RaceStarted(f.index["title"], f"{len(f.racers)} models, {how} of {cfg.batch_size}×{f.tcfg.context} tokens "
                      f"on {f.corpus_label}; the steps run eagerly (a race compiles nothing: a compile per model "
                      "would cost tens of seconds of its minutes on a cold cache)", pace.planned(), prep)
    batch_gen = yield from run_steps(f, cfg, control, pace)
    yield from _finish(f, cfg, pace, batch_gen)


def _set_up(out: Path, cfg: RaceConfig):
    """Models, the one tokenizer and token stream, run folders, and for a time budget the measured
    cost of the race's end (a generator: yields the Preparing steps, returns the race's _Field)."""
    import torch

    from studio.core.classroom.race_setup import load_race_model, match_models
    from studio.core.data import load_corpus, make_tokenizer, tokenize_corpus
    from studio.core.model.accounting import account
    from studio.core.runs.rundir import RunDir
    from studio.core.training import setup as S
    from studio.core.training.events import Preparing
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
    tcfg = TrainConfig.for_run(steps=cfg.steps or 1, minutes=None if cfg.steps else cfg.minutes,
                               batch_size=cfg.batch_size, context=T, lr=cfg.lr, seed=cfg.seed, threads=cfg.threads,
                               device=cfg.device)
    costs = None
    if cfg.steps is None:
        yield Preparing("timing the end of the race (a sample and a checkpoint per model)")
        costs = _costs(models, tok, cfg, device)
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
             "steps": cfg.steps, "context": T,  # a time budget's steps: known at the end
             "models": [{"name": r.name, "spec": r.spec, "run": r.run.path.name, "params": r.params,
                         "params_active": r.active} for r in racers]}
    _write_index(out, index)
    return _Field(out, racers, data, tok, tcfg, device, index, corpus.label, costs)


def _costs(models, tok, cfg: RaceConfig, device):
    """What a time budget keeps back for the end, measured on the untrained models: the 48-token
    sample and the checkpoint (weights and AdamW's two moments) of every model. The step and the
    evaluation are timed by the race's first step (race_steps.Pace)."""
    import io

    import torch

    from studio.core.classroom.race_steps import Costs
    from studio.core.training.trainer import sample_text
    t0 = time.perf_counter()
    for m in models:
        sample_text(m, tok, SAMPLE_TOKENS, torch.Generator(device=device).manual_seed(cfg.seed + 1), device,
                    prompt=SAMPLE_PROMPT)
        torch.save(m.state_dict(), io.BytesIO())
    end_s = (time.perf_counter() - t0) * 1.5  # the checkpoint also holds the optimizer's moments
    return Costs(None, None, end_s)


def _finish(f: _Field, cfg: RaceConfig, pace, batch_gen):
    """A checkpoint and a sample per model, the final table in race.yaml."""
    import torch

    from studio.core.training.trainer import sample_text
    tcfg, step, steps = f.tcfg, pace.step, pace.planned()
    finished = not pace.more()
    budget = pace.budget.state(finished) if pace.budget else None
    table = []
    for r in f.racers:
        gen = torch.Generator(device=f.device).manual_seed(cfg.seed + 1)
        text = sample_text(r.model, f.tok, SAMPLE_TOKENS, gen, f.device, prompt=SAMPLE_PROMPT)
        payload = {"model": r.model.state_dict(), "optimizer": r.opt.state_dict(),
                   "schedule": {"kind": tcfg.schedule, "warmup": tcfg.warmup, "steps": steps, "lr": cfg.lr,
                                "min_lr": cfg.lr * tcfg.min_lr_ratio, "budget": budget},
                   "rng": {"torch": torch.get_rng_state(), "sample": gen.get_state()},
                   "data_pos": {"tokens": r.tokens, "generator": batch_gen.get_state()}, "config": asdict(tcfg)}
        r.run.save_checkpoint(payload, step)
        table.append({"name": r.name, "spec": r.spec, "run": r.run.path.name, "params": r.params,
                      "params_active": r.active, "steps": step, "tokens": r.tokens,
                      "flops": 6.0 * r.active * r.tokens, "seconds": round(r.wall_s, 3),
                      "tokens_per_s": round(r.tokens / r.wall_s, 1) if r.wall_s > 0 else 0.0,
                      "val_bpb": None if r.last_bpb is None or math.isnan(r.last_bpb) else round(r.last_bpb, 4),
                      "sample": text})
    clock = {"budget_s": pace.budget.seconds, "elapsed_s": round(pace.used_s(), 2)} if pace.budget else None
    _write_index(f.out, {**f.index, "status": "done" if finished else "stopped", "steps": steps, "steps_done": step,
                         "table": table,
                         **({"clock": clock} if clock else {})})
    end = RaceDone if finished else RaceStopped
    yield end(f.index["title"], f"race {'finished' if finished else 'stopped'} after {step} of {steps} steps"
              + (f", {pace.used_s():.0f} s of {pace.budget.seconds:.0f}" if pace.budget else "") + f": {f.out}",
              step, steps, tuple(table), pace.used_s())


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
