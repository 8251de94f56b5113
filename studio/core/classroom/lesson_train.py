"""One model of a lesson: start it (steps fitted to the time budget) or resume it, and train it.

:func:`train_entry` yields the model's lesson events (studio.core.classroom.lesson_events) with
index/total left at 0 for :func:`lesson.prepare` to fill in, and returns a :class:`ModelTrained`.

A time budget is the trainer's own (TrainConfig.minutes: a warmup-stable-decay schedule re-fitted
to the measured step time, its state in every checkpoint, so a resumed model finishes the same
budget), on the wall clock from the moment the model's turn began: its tokenizer, build and step
timing are part of its minutes, as preparing is part of ``archstudio train --minutes``. The few
steps timed here only size the checkpoint and log intervals.
"""
from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from studio.core import errors as E

clock = time.perf_counter  # where a model's minutes are read from (a test's fake clock replaces it)
MARKER = ".archstudio-lesson-run"  # written into every run folder the lesson creates: only those it may delete


def _made_here(run_dir: Path) -> bool:
    """Whether ``run_dir`` is a real folder (not a link) holding the marker this lesson writes."""
    try:
        return (not run_dir.is_symlink() and run_dir.is_dir()
                and os.path.isfile(run_dir / MARKER) and not (run_dir / MARKER).is_symlink())
    except OSError:
        return False


def clear_unfinished(run_dir: Path, why: str) -> None:
    """Make way for a fresh run in ``run_dir``: nothing there, an empty folder, or a folder this
    lesson created (its marker) is deleted; anything else is refused in one line, untouched."""
    if not os.path.lexists(run_dir):
        return
    if _made_here(run_dir):
        shutil.rmtree(run_dir)  # a folder this lesson made and marked: ours to delete
        return
    if run_dir.is_dir() and not run_dir.is_symlink() and not any(run_dir.iterdir()):
        return
    raise E.StudioError(f"{run_dir}: holds files this lesson did not make ({why}); nothing was deleted: "
                        "move the folder away or give the entry another 'run'")


def _mark(run_dir: Path) -> None:
    from studio.core.files.yamlio import atomic_write_text
    run_dir.mkdir(parents=True, exist_ok=True)  # a rename, never a write through whatever is there (a symlink)
    atomic_write_text(run_dir / MARKER, "made by archstudio lesson prepare; deleted with its run when it is redone\n")


def import_entry(name: str, run_dir: Path, cache, should_stop: Callable[[], bool]) -> None:
    """Import the pretrained ``name`` into ``run_dir`` (studio.core.runs.tinyllamas; the import
    itself is all-or-nothing). A folder already there is kept when it holds that model (an import
    killed before the index was saved), deleted when this lesson marked it, else refused."""
    from studio.core.runs import tinyllamas as tl
    from studio.core.runs.rundir import RunDir
    if (run_dir / "run.yaml").is_file() and not run_dir.is_symlink():
        try:
            if (RunDir(run_dir).read_config().get("pretrained") or {}).get("name") == name:
                return _mark(run_dir)  # imported, then killed before the index said so
        except E.StudioError:
            pass
    clear_unfinished(run_dir, "an interrupted import")
    tl.import_run(name, run_dir, cache, should_cancel=should_stop)
    _mark(run_dir)


def _fresh(pid: str, run_dir: Path, cfg, budget_s: float, corpus):
    from studio.core.data import make_tokenizer, tokenize_corpus
    from studio.core.files.presets import load_preset
    from studio.core.runs.rundir import RunDir
    from studio.core.classroom.time_budget import measure_step_seconds, steps_for
    from studio.core.training import setup as S
    from studio.core.training.trainer import TrainConfig
    arch = load_preset(pid)
    kind, vocab = S.choose_tokenizer(arch, None, None)
    note, wanted = "", vocab
    while True:
        try:
            tok = make_tokenizer(kind, corpus, vocab)
            break
        except E.StudioError:
            # the small starter corpus cannot fill a large BPE vocabulary (stories15M's 4096): a smaller one, said
            if kind != "bpe" or corpus.is_tinystories or not vocab or vocab <= 512:
                raise
            note = f" (BPE {vocab // 2} instead of {wanted}: the {corpus.name} corpus is too small for more)"
            vocab //= 2
    a = S.classroom_arch(arch, S.model_vocab(tok, None), cfg.context)
    model = S.build_model(a, cfg.seed)
    data = tokenize_corpus(corpus, tok)
    if cfg.threads:
        import torch
        torch.set_num_threads(int(cfg.threads))
    # one timed step (after an untimed one): it sizes the intervals; a time budget re-fits it every step
    step_s = measure_step_seconds(model, data, cfg.batch_size, model.context, cfg.device, steps=1)
    steps = cfg.steps or steps_for(budget_s, step_s)  # with a time budget: an estimate for the intervals
    # the intervals as every run derives them (TrainConfig.for_run); checkpoints more often, so that
    # a cancelled lesson loses little of a model
    tcfg = TrainConfig.for_run(steps=steps, minutes=None if cfg.steps else budget_s / 60.0,
                               batch_size=cfg.batch_size, context=model.context, seed=cfg.seed, threads=cfg.threads,
                               device=cfg.device, precision=cfg.precision, compile=cfg.compile, attention="auto",
                               checkpoint_interval=max(5, steps // 20))
    run = RunDir(run_dir)
    run.initialize(a, pid, tok, S.training_record(tcfg), corpus.describe())
    return model, data, run, tcfg, step_s, note


def _resumed(run_dir: Path, cfg, corpus):
    from studio.core.data import tokenize_corpus
    from studio.core.runs.rundir import RunDir
    from studio.core.training.trainer import TrainConfig
    run = RunDir(run_dir)
    rc = run.read_config()
    if (rc.get("data") or {}).get("sha256") != corpus.sha256:
        raise E.StudioError(f"{run.path} was trained on other data ({(rc.get('data') or {}).get('label')!r}); "
                            "delete the folder or use the lesson's data")
    tcfg = TrainConfig.from_record(rc.get("training") or {}, threads=cfg.threads, device=cfg.device)
    tok = run.tokenizer()
    model = run.build_model().train()
    return model, tokenize_corpus(corpus, tok), run, tcfg, int(run.load_checkpoint()["step"])


def budget_plan(minutes: float, left_s: float, step_s: float, eval_batches: int = 4) -> tuple[str, int]:
    """What a model's minutes will train, said when its training starts: the seconds its preparing
    (tokenizer, build, step timing) left, less the final eval the trainer keeps back (its batches'
    forward passes, a third of a step each, and a fifth more as the trainer reserves), and the
    steps they hold at the measured step time. The step count the run's intervals are sized by
    has a floor of 10; this estimate has none (a teacher read "≈ 10 steps" and got 1 when a loaded
    laptop left 3 s of 12)."""
    from studio.core.classroom.time_budget import EVAL_MARGIN
    final_eval_s = 1.2 * eval_batches * step_s / 3
    steps = max(1, int((left_s - final_eval_s) * EVAL_MARGIN / max(1e-6, step_s)))
    return (f"{minutes:g} min, {left_s:.0f} s of it left after preparing (≈ {steps} step{'s' if steps != 1 else ''} "
            f"at {step_s * 1000:.0f} ms/step)"), steps


@dataclass(frozen=True)
class ModelTrained:
    """What :func:`train_entry` returns (its generator's value) once the trainer has finished."""
    reason: str                     # "done" or "stopped" (the trainer's Finished.reason)
    step: int
    steps: int
    val_bpb: float
    params: int


def train_entry(pid: str, run_dir, cfg, budget_s: float, control, corpus, started_at: float) -> Iterator:
    """Start or resume ``pid``'s run in ``run_dir`` and train it: yields ModelResumed or ModelStarted,
    then LessonStep and LessonEval (index and total left at 0 for lesson.prepare to fill in, ``eta_s``
    this model's seconds left); returns a :class:`ModelTrained`. ``started_at`` (a ``clock()``
    reading) is when the model's turn began: its time budget runs from there, so the tokenizer, the
    model's build and the step timing are part of its minutes."""
    from studio.core.classroom.lesson_events import LessonEval, LessonStep, ModelResumed, ModelStarted
    from studio.core.runs.rundir import RunDir
    from studio.core.training import EvalMetrics, Finished, StepMetrics, train_steps
    run_dir = Path(run_dir)
    run = RunDir(run_dir)
    if not run.has_checkpoint():
        clear_unfinished(run_dir, "no checkpoint: killed before its first one")
        _mark(run_dir)
    if run.has_checkpoint():
        model, data, run, tcfg, start = _resumed(run_dir, cfg, corpus)
        resume, step_s = True, None
        yield ModelResumed(model=pid, message=f"{pid}: resuming at step {start}"
                           + ("" if tcfg.minutes else f" of {tcfg.steps}"), model_fraction=min(1.0, start / max(1, tcfg.steps)),
                           step=start, steps=tcfg.steps)
    else:
        model, data, run, tcfg, step_s, note = _fresh(pid, run_dir, cfg, budget_s, corpus)
        resume, start = False, 0
    n_params = sum(p.numel() for p in {id(p): p for p in model.parameters()}.values())
    if not resume:
        left_s = max(0.0, budget_s - (clock() - started_at)) if tcfg.minutes else tcfg.steps * step_s
        plan, expected = (budget_plan(tcfg.minutes, left_s, step_s, tcfg.eval_batches) if tcfg.minutes else
                          (f"{tcfg.steps} steps (≈ {tcfg.steps * step_s / 60:.1f} min at {step_s * 1000:.0f} ms/step)",
                           tcfg.steps))
        yield ModelStarted(model=pid, message=f"{pid}: {n_params:,} parameters, {plan}{note}", eta_s=left_s,
                           steps=expected, params=n_params)
    planned, left = tcfg.steps, None
    for ev in train_steps(model, data, tcfg, control.should_stop, is_paused=control.is_paused, run=run, resume=resume,
                          started_at=started_at if tcfg.minutes else None):
        if isinstance(ev, StepMetrics):
            planned = max(ev.step, ev.planned_steps or planned)  # a time budget re-fits its step count
            done = ev.step - start
            left = ev.eta_s if ev.eta_s is not None else (
                (planned - ev.step) * ev.elapsed_s / done if done > 0 else None)
            yield LessonStep(model=pid, message=f"{pid}: step {ev.step}/{planned}, loss {ev.loss:.3f}",
                             model_fraction=ev.step / planned, eta_s=left, step=ev.step, steps=planned, params=n_params)
        elif isinstance(ev, EvalMetrics):
            yield LessonEval(model=pid, message=f"{pid}: step {ev.step}, held-out {ev.val_bpb:.3f} bits/byte",
                             model_fraction=min(1.0, ev.step / planned), eta_s=left, step=ev.step, steps=planned,
                             val_bpb=ev.val_bpb, params=n_params)
        elif isinstance(ev, Finished):
            return ModelTrained(ev.reason, ev.step, ev.step if ev.reason == "done" else planned, ev.val_bpb, n_params)
    raise E.StudioError(f"{pid}: the training ended without its result")


def warms_for_class(cfg) -> bool:
    """Whether a done model's step is compiled for the class: timed models of a minute or more (the
    class's "Train N more min" then loads it in seconds), unless compiling is off."""
    return cfg.compile is not False and not cfg.steps and cfg.minutes_per_model >= 1


def class_warm_plan(run_dir) -> tuple[object, float] | None:
    """(the shape's WarmSpec, the cost book's estimate of its compile seconds) when the class's
    continuation of this run has a shape to compile that is not warm yet; else None."""
    from studio.core.training import compile_costs as cc
    from studio.core.training.warm import spec_of_run
    got = spec_of_run(run_dir)
    if got is None:
        return None
    spec, key, _label = got
    book = cc.CostBook()
    return None if book.is_warm(key) else (spec, book.estimate(key, "cold_s")[0])


def warm_for_class(spec, control, poll_s: float = 0.25) -> bool:
    """Compile ``spec``'s step in the niced child, watching ``control``: a Cancel kills the child at
    once (a compile takes minutes; the teacher's Cancel must not wait for it). True when it finished."""
    from studio.core.training.warm import WarmJob
    job = WarmJob(spec)
    while job.poll() is None:
        if control.should_stop():
            job.cancel()
            return False
        time.sleep(poll_s)
    return bool(job.result.get("ok"))
