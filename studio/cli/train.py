"""``archstudio train MODEL``: train the classroom scale on TinyStories (or local / starter data).

Progress on stderr; the final summary line on stdout. Exit 0 when the steps are done, 1 when
the loss diverged (NaN/Inf; the last good checkpoint stays), 2 for bad input, 130 after Ctrl+C
(which first saves a checkpoint, so ``--resume`` continues).
"""
from __future__ import annotations

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
    def __init__(self, total: int, stream=None):
        self.total, self.stream = total, stream or sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.last_draw, self.val = 0.0, None
        self.t0 = time.monotonic()

    def step(self, ev, start_step: int) -> None:
        now = time.monotonic()
        total = ev.planned_steps or self.total  # a time budget re-fits its step count as it goes
        if not self.tty or (now - self.last_draw < 0.2 and ev.step != total):
            return
        self.last_draw = now
        done = ev.step - start_step
        eta = ev.eta_s if ev.eta_s is not None else (now - self.t0) / max(1, done) * (total - ev.step)
        bar = "#" * min(24, int(24 * ev.step / max(1, total)))
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


def describe_setup(ev) -> str:
    """One line: how the steps run (threads, precision and why, compiled or why not), preparing time."""
    return (f"speed: {ev.threads} thread{'s' if ev.threads != 1 else ''}, {ev.precision_reason}; step {ev.step}; "
            f"attention {ev.attention}; prepared in {ev.preparing_s:.1f} s (not counted as training)")


def _raise_on_every_rank(err: str | None, world: int, dist) -> None:
    """Rank 0 set the run up (or failed to): under torchrun every rank learns its error and stops alike."""
    if world > 1:
        box = [err]
        dist.broadcast_object_list(box, src=0)
        err = box[0]
    if err:
        raise E.StudioError(err)


def cmd_train(args) -> int:
    import contextlib
    with contextlib.ExitStack() as stack:  # holds the run folder's lock until the command ends
        return _cmd_train(args, stack)


def _cmd_train(args, stack) -> int:
    from studio.core.data import load_corpus, make_tokenizer, tokenize_corpus
    from studio.core.data.starter import LABEL as STARTER_LABEL
    from studio.core.files.presets import load_model
    from studio.core.runs.rundir import RunDir
    from studio.core.training import setup as S
    dist = None
    if int(__import__("os").environ.get("WORLD_SIZE", "1")) > 1:
        import torch.distributed as dist

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
    speed = {"precision": args.precision or "auto",
             "compile": {"on": True, "off": False}.get(getattr(args, "compile", None) or "auto", "auto"),
             "attention": getattr(args, "attention", None) or "auto"}
    if args.lr is not None and not args.lr > 0:
        raise E.StudioError("--lr must be positive")
    arch = load_model(args.model)
    rank, world = _distributed(args.device)
    say = _say if rank == 0 else _quiet  # under torchrun only rank 0 talks
    resume_from = True  # False: a --resume of a run that has no checkpoint yet starts at step 0
    if args.resume:
        if not args.out:
            raise E.StudioError("--resume needs --out RUN_DIR (the run to continue)")
        from studio.core.training.resume import prepare_resume
        run = RunDir(args.out)
        over = {k: v for k, v in speed.items() if getattr(args, k, None)}  # given now, else the run's own
        how = dict(data_spec=args.data, kind=args.tokenizer, vocab_size=args.vocab_size, steps=args.steps,
                   minutes=minutes, speed=over, threads=args.threads, device=args.device)
        err, resumed = None, None
        if rank == 0:  # rank 0 locks, checks and records the continuation; the other processes read it back
            try:
                if run.path.is_dir():
                    stack.enter_context(run.lock())  # a second --resume of the same folder is refused here
                resumed = prepare_resume(run, args.model, say=say, **how)
            except E.StudioError as exc:
                err = str(exc)
        _raise_on_every_rank(err, world, dist)
        if rank != 0:
            resumed = prepare_resume(run, args.model, write=False, **how)
        model, data, cfg, start = resumed.model, resumed.data, resumed.cfg, resumed.start
        corpus, tok, resume_from = resumed.corpus, resumed.tokenizer, resumed.resume_from
    else:
        if world > 1 and not args.out:
            raise E.StudioError("under torchrun pass --out RUN_DIR: every process must use the same folder")
        run = RunDir(args.out) if args.out else RunDir(S.default_run_dir(arch.id))
        from studio.core.training.trainer import TrainConfig
        seed = args.seed if args.seed is not None else 1337

        def make_cfg(ctx):
            steps = args.steps or 200
            timed = minutes is not None  # evals every 10 % of the budget unless --eval-interval says otherwise
            return TrainConfig(steps=steps, batch_size=args.batch_size or S.budget_recipe(minutes)["batch_size"], context=ctx,
                               lr=args.lr or TrainConfig.lr, seed=seed, threads=args.threads, device=args.device,
                               eval_interval=args.eval_interval or (0 if timed else min(100, max(10, steps // 10))),
                               sample_interval=0, checkpoint_interval=100 if timed else max(100, steps // 10),
                               log_interval=1 if timed else max(1, steps // 2000), minutes=minutes,
                               schedule=getattr(args, "schedule", None) or ("wsd" if timed else TrainConfig.schedule),
                               warmup_steps=getattr(args, "warmup_steps", None),
                               optimizer=args.optimizer or S.budget_recipe(minutes)["optimizer"], **speed)
        err, data = None, None
        if rank == 0:  # rank 0 sets the run up; the other torchrun processes read it back
            try:
                if not run.is_empty():
                    raise E.StudioError(f"{run.path} is not empty; pass --resume to continue it, or --out a new folder")
                corpus = load_corpus(args.data)
                if args.data is None and corpus.name == "starter":
                    say(f"no TinyStories download found: training on the {STARTER_LABEL}; "
                         "run 'archstudio data fetch' for real stories")
                kind, vocab = S.choose_tokenizer(arch, args.tokenizer, args.vocab_size)
                tok = make_tokenizer(kind, corpus, vocab, args.tokenizer_model)
                arch = S.classroom_arch(arch, S.model_vocab(tok, args.vocab_size), args.context or
                                        S.default_context(arch, minutes))
                model = S.build_model(arch, seed)
                cfg = make_cfg(model.context)
                # the folder appears only once the first step can run (data long enough, files written)
                from studio.core.training.runfolder import StagedRun, check_first_step
                staged = StagedRun(run.path)
                try:
                    staged.run.initialize(arch, args.model, tok, S.training_record(cfg), corpus.describe())
                    data = tokenize_corpus(corpus, tok)
                    check_first_step(model, data)
                except BaseException:
                    staged.discard()
                    raise
                run = staged.commit()
                stack.enter_context(run.lock())
            except E.StudioError as exc:
                err = str(exc)
        _raise_on_every_rank(err, world, dist)
        if rank != 0:
            corpus, tok, arch = load_corpus(run.read_config()["data"]["source"]), run.tokenizer(), run.architecture()
            model = S.build_model(arch, seed)
            cfg = make_cfg(model.context)
        start = 0
    say(f"data: {corpus.label}")
    data = data if data is not None else tokenize_corpus(corpus, tok)
    n_params = sum(p.numel() for p in {id(p): p for p in model.parameters()}.values())
    say(f"model: {arch.id} classroom, {n_params:,} parameters, vocabulary {tok.kind} {tok.vocab_size}, "
         f"{len(data.train):,} training tokens; run folder {run.path}")

    from studio.core.training import (EvalMetrics, Finished, Preparing, Sample, SpeedSetup, StepMetrics,
                                      TrainingDiverged, train_steps)
    stop = {"flag": False}

    def on_sigint(signum, frame):
        if stop["flag"]:
            raise KeyboardInterrupt
        stop["flag"] = True
        say(f"\nstopping ({signal.Signals(signum).name}): saving a checkpoint (Ctrl+C again to abort)")

    # SIGTERM (kill, a logout, a scheduler) and SIGHUP (a closed terminal) save a checkpoint as Ctrl+C does
    sigs = [getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, n)]
    old = {sig: signal.signal(sig, on_sigint) for sig in sigs}
    bar = TrainProgress(cfg.steps, None if rank == 0 else __import__("io").StringIO())
    tb = _tensorboard(args, run) if rank == 0 else None  # --tensorboard: the records as TB scalars too
    end = None
    try:
        for ev in train_steps(model, data, cfg, lambda: stop["flag"], run=run, resume=args.resume and resume_from,
                              extend=minutes is not None):
            if tb is not None and hasattr(ev, "record"):
                tb.write(ev.record())
            if isinstance(ev, StepMetrics):
                bar.step(ev, start)
            elif isinstance(ev, Preparing):
                bar.line(f"preparing: {ev.what}")
            elif isinstance(ev, SpeedSetup):
                bar.line(describe_setup(ev))
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
        return 1
    finally:
        if tb is not None:
            tb.close()
        for sig, handler in old.items():
            signal.signal(sig, handler)
    if rank != 0:
        return 0 if end.reason == "done" else 130
    what = "trained" if end.reason == "done" else f"stopped after (resume with --resume --out {run.path})"
    took = ""
    if end.budget_s:  # how long it took against the budget (this session's share of it when resumed)
        took = (f"{end.elapsed_s:.1f} s of a {end.budget_s:g} s budget, " if end.budget_s < 120 else
                f"{end.elapsed_s / 60:.2f} of {end.budget_s / 60:g} minutes, ")
    print(f"{what} {end.step} steps, {end.tokens:,} tokens: train loss {end.train_loss:.4f} "
          f"({end.train_bpb:.4f} bpb), val loss {end.val_loss:.4f}, val bpb {end.val_bpb:.4f}, "
          f"{took}{end.tokens_per_s:,.0f} tokens/s, run {Path(run.path)}", flush=True)
    return 0 if end.reason == "done" else 130


def _tensorboard(args, run):
    """The run's TensorBoard log when --tensorboard asks for one (a missing tensorboardX: one line)."""
    if not getattr(args, "tensorboard", False):
        return None
    from studio.core.runs.tensorboard import TensorBoardLog
    return TensorBoardLog(run.path)
