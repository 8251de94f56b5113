"""``archstudio train MODEL``: train the classroom scale on TinyStories (or local / starter data).

Progress on stderr; the final summary line on stdout. Exit 0 when the steps are done, 1 when
the loss diverged (NaN/Inf; the last good checkpoint stays), 2 for bad input, 130 after Ctrl+C
(which first saves a checkpoint, so ``--resume`` continues).
"""
from __future__ import annotations

from dataclasses import dataclass

import signal
import sys
import time
from pathlib import Path

from studio.core import errors as E


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _quiet(msg: str) -> None:
    pass


def _distributed(device: str) -> tuple[int, int]:
    """(rank, world size): under torchrun (WORLD_SIZE > 1) join the process group first."""
    import os
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1
    import torch.distributed as dist
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device == "cuda" else "gloo")
    return dist.get_rank(), dist.get_world_size()


class TrainProgress:
    def __init__(self, total: int, stream=None, budget_s: float | None = None, started_at: float | None = None):
        self.total, self.stream = total, stream or sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.last_draw, self.val = 0.0, None
        self.t0 = time.monotonic()
        self.budget_s, self.started_at = budget_s, started_at  # a time budget's bar is its wall clock

    def clock(self) -> str:
        """'12 s of 60 s': how much of a time budget is gone (preparing included); '' without one."""
        if not self.budget_s or self.started_at is None:
            return ""
        return f"{time.perf_counter() - self.started_at:.0f} s of {self.budget_s:g} s"

    def step(self, ev, start_step: int) -> None:
        now = time.monotonic()
        total = ev.planned_steps or self.total  # a time budget re-fits its step count as it goes
        if not self.tty or (now - self.last_draw < 0.2 and ev.step != total):
            return
        self.last_draw = now
        done = ev.step - start_step
        eta = ev.eta_s if ev.eta_s is not None else (now - self.t0) / max(1, done) * (total - ev.step)
        share = ev.elapsed_s / self.budget_s if self.budget_s else ev.step / max(1, total)
        bar = "#" * min(24, int(24 * share))
        val = f" val {self.val:.3f}" if self.val is not None else ""
        bpb = f" ({ev.bpb:.2f} bpb)" if ev.bpb is not None else ""
        self.stream.write(f"\r[{bar:<24}] step {ev.step}/{total} loss {ev.loss:.3f}{bpb}{val} "
                          f"{ev.tokens_per_s:,.0f} tok/s ETA {int(eta) // 60}:{int(eta) % 60:02d} ")
        self.stream.flush()

    def line(self, msg: str) -> None:
        if self.tty:
            self.stream.write("\r" + " " * 110 + "\r")
        self.stream.write(msg + "\n")
        self.stream.flush()


def describe_setup(ev, budget_s: float | None = None) -> str:
    """One line: how the steps run (threads, precision and why, compiled or why not), preparing time."""
    part = f"part of the {budget_s:g} s budget" if budget_s else "from the command to the first step"
    return (f"speed: {ev.threads} thread{'s' if ev.threads != 1 else ''}, {ev.precision_reason}; step {ev.step}; "
            f"attention {ev.attention}; prepared in {ev.preparing_s:.1f} s ({part})")


def _raise_on_every_rank(err: str | None, world: int, dist) -> None:
    """Rank 0 set the run up (or failed to): under torchrun every rank learns its error and stops alike."""
    if world > 1:
        box = [err]
        dist.broadcast_object_list(box, src=0)
        err = box[0]
    if err:
        raise E.StudioError(err)


def _import_torch_meanwhile(arch, attention: str | None):
    """torch and torch._dynamo (the optimizer's import, ~800 modules) load in a thread while the data
    and tokenizer are read, which import neither: seconds of a time budget (import torch 4-10 s and
    torch._dynamo 7-9 s measured at load 11-12 on 2 cores). Joined before anything else touches
    torch. Where the model's heads are 8 or 16 wide, the small-head kernel's C++ build (18 s at load
    12 when cold) starts right after torch, in a thread of its own, so it overlaps the data too."""
    import threading

    def kernel():
        try:
            from blocks.nn import small_head_attention as sha
            from studio.core.training.speed import kernel_cache_dir
            dims = arch.dims("classroom")
            if int(dims.get("dim", 0)) // max(1, int(dims.get("n_heads", 1))) in sha.HEAD_DIMS:
                sha.load(kernel_cache_dir())  # the trainer finds it loaded (or waits on the same lock)
        except Exception:  # noqa: BLE001, S110  the trainer's own attempt reports why it cannot
            pass

    def load():
        try:
            import torch  # noqa: F401
            if attention != "sdpa":
                threading.Thread(target=kernel, name="archstudio-kernel-prebuild", daemon=True).start()
            import torch._dynamo  # noqa: F401
            import torch.optim  # noqa: F401
        except Exception:  # noqa: BLE001, S110  the main thread's own import reports a broken install
            pass

    t = threading.Thread(target=load, name="archstudio-import-torch", daemon=True)
    t.start()
    return t


def cmd_train(args) -> int:
    import contextlib
    started_at = time.perf_counter()  # a time budget runs from here: what the user waits for
    with contextlib.ExitStack() as stack:  # holds the run folder's lock until the command ends
        return _cmd_train(args, stack, started_at)


def _cmd_train(args, stack, started_at: float) -> int:
    from studio.core.data import tokenize_corpus
    from studio.core.files.model_spec import load_model
    dist = None
    if int(__import__("os").environ.get("WORLD_SIZE", "1")) > 1:
        import torch.distributed as dist
    minutes, speed = _checked_options(args)
    arch = load_model(args.model)
    importing = None if dist is not None else _import_torch_meanwhile(
        arch, speed["attention"] if args.device == "cpu" else "sdpa")
    rank, world = _distributed(args.device)
    say = _say if rank == 0 else _quiet  # under torchrun only rank 0 talks
    ctx = _Setup(args, stack, minutes, speed, rank, world, dist, say, importing)
    if args.resume:
        model, data, cfg, run, corpus, tok, resume_from, start = _set_up_resume(ctx)
    else:
        model, data, cfg, run, corpus, tok, arch = _set_up_new(ctx, arch)
        resume_from, start = True, 0
    say(f"data: {corpus.label}")
    data = data if data is not None else tokenize_corpus(corpus, tok)
    n_params = sum(p.numel() for p in {id(p): p for p in model.parameters()}.values())
    say(f"model: {arch.id} classroom, {n_params:,} parameters, vocabulary {tok.kind} {tok.vocab_size}, "
        f"{len(data.train):,} training tokens; run folder {run.path}")
    end = _train_loop(args, model, data, cfg, run, rank, minutes, resume_from, start, started_at, say)
    if end is None:
        return 1  # the loss diverged: said in one line
    if rank != 0:
        return 0 if end.reason == "done" else 130
    _report(end, run)
    return 0 if end.reason == "done" else 130


def _checked_options(args) -> tuple[float | None, dict]:
    """--minutes and the speed choices, every number checked first (one line each)."""
    for name in ("steps", "batch_size", "threads", "eval_interval", "vocab_size"):
        v = getattr(args, name, None)
        if v is not None and v < 1:
            raise E.StudioError(f"--{name.replace('_', '-')} must be at least 1")
    if getattr(args, "warmup_steps", None) is not None and args.warmup_steps < 0:
        raise E.StudioError("--warmup-steps must be 0 or more")
    minutes = getattr(args, "minutes", None)
    if minutes is not None and not 0 < minutes <= 7 * 24 * 60:
        raise E.StudioError("--minutes must be more than 0 (and at most a week)")
    if minutes is not None and args.steps:
        raise E.StudioError("--minutes and --steps both set how long to train; give one of them")
    if args.lr is not None and not args.lr > 0:
        raise E.StudioError("--lr must be positive")
    speed = {"precision": args.precision or "auto",
             "compile": {"on": True, "off": False}.get(getattr(args, "compile", None) or "auto", "auto"),
             "attention": getattr(args, "attention", None) or "auto"}
    return minutes, speed


@dataclass
class _Setup:
    """What both set-ups read: the options, the lock's stack, the torchrun rank, the voice."""
    args: object
    stack: object
    minutes: float | None
    speed: dict
    rank: int
    world: int
    dist: object
    say: object
    importing: object


def _set_up_resume(c: _Setup):
    """--resume: rank 0 locks, checks and records the continuation; the others read it back."""
    from studio.core.runs.rundir import RunDir
    from studio.core.training.resume import prepare_resume
    args = c.args
    if c.importing is not None:
        c.importing.join()
    if not args.out:
        raise E.StudioError("--resume needs --out RUN_DIR (the run to continue)")
    run = RunDir(args.out)
    over = {k: v for k, v in c.speed.items() if getattr(args, k, None)}  # given now, else the run's own
    how = dict(data_spec=args.data, kind=args.tokenizer, vocab_size=args.vocab_size, steps=args.steps,
               minutes=c.minutes, speed=over, threads=args.threads, device=args.device)
    err, resumed = None, None
    if c.rank == 0:
        try:
            if run.path.is_dir():
                c.stack.enter_context(run.lock())  # a second --resume of the same folder is refused here
            resumed = prepare_resume(run, args.model, say=c.say, **how)
        except E.StudioError as exc:
            err = str(exc)
    _raise_on_every_rank(err, c.world, c.dist)
    if c.rank != 0:
        resumed = prepare_resume(run, args.model, write=False, **how)
    r = resumed  # resume_from False: a run that has no checkpoint yet starts at step 0
    return r.model, r.data, r.cfg, run, r.corpus, r.tokenizer, r.resume_from, r.start


def _set_up_new(c: _Setup, arch):
    """A new run: rank 0 sets it up exactly as the GUI does (prepare_new_run); the other torchrun
    processes read it back from the folder."""
    from studio.core.data import load_corpus
    from studio.core.data.starter import LABEL as STARTER_LABEL
    from studio.core.runs.rundir import RunDir
    from studio.core.training import setup as S
    from studio.core.training.trainer import TrainConfig
    args, minutes = c.args, c.minutes
    if c.world > 1 and not args.out:
        raise E.StudioError("under torchrun pass --out RUN_DIR: every process must use the same folder")
    run = RunDir(args.out) if args.out else RunDir(S.default_run_dir(arch.id))
    seed = args.seed if args.seed is not None else 1337

    def make_cfg(ctx):
        recipe = S.budget_recipe(minutes)
        return TrainConfig.for_run(steps=args.steps, minutes=minutes, context=ctx, lr=args.lr, seed=seed,
                                   batch_size=args.batch_size or recipe["batch_size"], threads=args.threads,
                                   device=args.device, eval_interval=args.eval_interval,
                                   schedule=getattr(args, "schedule", None),
                                   warmup_steps=getattr(args, "warmup_steps", None),
                                   optimizer=args.optimizer or recipe["optimizer"], **c.speed)
    err, data, model, cfg, corpus, tok = None, None, None, None, None, None
    if c.rank == 0:
        try:
            if not run.is_empty():
                raise E.StudioError(f"{run.path} is not empty; pass --resume to continue it, or --out a new folder")
            ctx = args.context or S.default_context(arch, minutes)
            # the GUI's set-up (corpus, tokenizer, model, staged run folder, token streams): one code path
            model, data, run, cfg = S.prepare_new_run(
                arch, args.model, args.data, args.tokenizer, args.vocab_size, args.tokenizer_model, make_cfg(ctx),
                run.path, before_model=c.importing.join if c.importing is not None else None)
            corpus, tok = data.corpus, data.tokenizer
            if args.data is None and corpus.name == "starter":
                c.say(f"no TinyStories download found: training on the {STARTER_LABEL}; "
                      "run 'archstudio data fetch' for real stories")
            c.stack.enter_context(run.lock())
        except E.StudioError as exc:
            err = str(exc)
    _raise_on_every_rank(err, c.world, c.dist)
    if c.rank != 0:
        corpus, tok, arch = load_corpus(run.read_config()["data"]["source"]), run.tokenizer(), run.architecture()
        model = S.build_model(arch, seed)
        cfg = make_cfg(model.context)
    return model, data, cfg, run, corpus, tok, arch


def _train_loop(args, model, data, cfg, run, rank, minutes, resume_from, start, started_at, say):
    """The trainer's events as progress lines; Ctrl+C, SIGTERM and SIGHUP save a checkpoint.
    Returns the Finished event (None when the loss diverged, said in one line)."""
    from studio.core.training import (
        EvalMetrics,
        Finished,
        Preparing,
        Sample,
        SpeedSetup,
        StepMetrics,
        StepSwitched,
        TrainingDiverged,
        train_steps,
    )
    stop = {"flag": False}

    def on_sigint(signum, frame):
        if stop["flag"]:
            raise KeyboardInterrupt
        stop["flag"] = True
        say(f"\nstopping ({signal.Signals(signum).name}): saving a checkpoint (Ctrl+C again to abort)")

    # SIGTERM (kill, a logout, a scheduler) and SIGHUP (a closed terminal) save a checkpoint as Ctrl+C does
    sigs = [getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, n)]
    old = {sig: signal.signal(sig, on_sigint) for sig in sigs}
    bar = TrainProgress(cfg.steps, None if rank == 0 else __import__("io").StringIO(), cfg.budget_s, started_at)
    tb = _tensorboard(args, run) if rank == 0 else None  # --tensorboard: the records as TB scalars too
    end = None
    try:
        for ev in train_steps(model, data, cfg, lambda: stop["flag"], run=run, resume=args.resume and resume_from,
                              extend=minutes is not None, started_at=started_at):
            if tb is not None and hasattr(ev, "record"):
                tb.write(ev.record())
            if isinstance(ev, StepMetrics):
                bar.step(ev, start)
            elif isinstance(ev, Preparing):
                clock = bar.clock()
                bar.line(f"preparing: {ev.what}" + (f" ({clock})" if clock else ""))
            elif isinstance(ev, SpeedSetup):
                bar.line(describe_setup(ev, cfg.budget_s))
            elif isinstance(ev, StepSwitched):
                bar.line(f"speed: from step {ev.step}, {ev.what} {ev.note}" + (f" ({bar.clock()})" if bar.clock() else ""))
                bar.t0 = time.monotonic()
            elif isinstance(ev, EvalMetrics):
                bar.val = ev.val_loss
                bar.line(f"step {ev.step}: train loss {ev.train_loss:.3f} ({ev.train_bpb:.3f} bpb), "
                         f"val loss {ev.val_loss:.3f}, val bpb {ev.val_bpb:.3f}")
            elif isinstance(ev, Sample):
                bar.line(f"sample: {ev.text!r}")
            elif isinstance(ev, Finished):
                end = ev
    except TrainingDiverged as exc:
        bar.line(f"archstudio: {exc}")
        return None
    finally:
        if tb is not None:
            tb.close()
        for sig, handler in old.items():
            signal.signal(sig, handler)
    return end


def _report(end, run) -> None:
    what = "trained" if end.reason == "done" else f"stopped after (resume with --resume --out {run.path})"
    took = ""
    if end.budget_s:  # how long it took against the budget (this session's share of it when resumed)
        took = (f"{end.elapsed_s:.1f} s of a {end.budget_s:g} s budget, " if end.budget_s < 120 else
                f"{end.elapsed_s / 60:.2f} of {end.budget_s / 60:g} minutes, ")
    print(f"{what} {end.step} steps, {end.tokens:,} tokens: train loss {end.train_loss:.4f} "
          f"({end.train_bpb:.4f} bpb), val loss {end.val_loss:.4f}, val bpb {end.val_bpb:.4f}, "
          f"{took}{end.tokens_per_s:,.0f} tokens/s, run {Path(run.path)}", flush=True)


def _tensorboard(args, run):
    """The run's TensorBoard log when --tensorboard asks for one (a missing tensorboardX: one line)."""
    if not getattr(args, "tensorboard", False):
        return None
    from studio.core.runs.tensorboard import TensorBoardLog
    return TensorBoardLog(run.path)
