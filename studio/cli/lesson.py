"""``archstudio lesson prepare|summary``: train the lesson's models ahead of class; list what is ready."""
from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

from studio.core import errors as E
from studio.core.jobs.control import JobControl


def _clock(seconds) -> str:
    if seconds is None:
        return "--:--"
    s = int(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


def cmd_lesson(args) -> int:
    sub = getattr(args, "lesson_command", None)
    if sub == "prepare":
        return _prepare(args)
    if sub == "summary":
        return _summary(args)
    raise E.StudioError("archstudio lesson: say what to do: 'lesson prepare' or 'lesson summary LESSON_DIR'")


def _prepare(args) -> int:
    from studio.core.classroom.lesson import LessonConfig, prepare
    for name in ("steps", "batch_size", "threads", "context"):
        v = getattr(args, name, None)
        if v is not None and v < 1:
            raise E.StudioError(f"--{name.replace('_', '-')} must be at least 1")
    if not 0 <= args.seed < 1 << 63:  # torch's generators hold 64 bits; the run adds to the seed
        raise E.StudioError(f"--seed must be from 0 to {(1 << 63) - 1}, got {args.seed}")
    if args.minutes_per_model is not None and not args.minutes_per_model > 0:
        raise E.StudioError("--minutes-per-model must be positive")
    if not 0 < getattr(args, "experiment_minutes", 3.0) <= 24 * 60:
        raise E.StudioError("--experiment-minutes must be above 0 and at most a day (1440)")
    cfg = LessonConfig(milestones=tuple(args.milestones or ()), minutes_per_model=args.minutes_per_model or 5.0,
                       steps=args.steps, data=args.data, pretrained=tuple(args.pretrained or ()),
                       batch_size=args.batch_size or 8, context=args.context, seed=args.seed,
                       threads=args.threads, device=args.device, precision=args.precision,
                       compile={"on": True, "off": False}.get(args.compile, "auto"))
    from studio.core.classroom.lesson import default_lesson_dir
    out = Path(args.out) if args.out else default_lesson_dir()
    control = JobControl()

    def on_sigint(signum, frame):
        if control.should_stop():
            raise KeyboardInterrupt
        control.stop()
        print("\nstopping: saving a checkpoint (Ctrl+C again to abort); run the same command to resume",
              file=sys.stderr, flush=True)

    old = signal.signal(signal.SIGINT, on_sigint)
    try:
        code = _print_lesson(prepare(out, cfg, control))
        if code != 130 and getattr(args, "experiments", False):  # the milestones' experiments, after the models
            from studio.core.classroom.lesson import default_milestones
            from studio.core.experiments.in_lesson import ExperimentFailed, ExperimentStopped
            from studio.core.experiments.in_lesson import prepare as prepare_experiments
            for ev in prepare_experiments(out, cfg.milestones or default_milestones(), control, seed=args.seed,
                                          data=args.data, minutes=getattr(args, "experiment_minutes", 3.0)):
                print(f"[experiment] {ev.message}", file=sys.stderr, flush=True)
                code = 1 if isinstance(ev, ExperimentFailed) else 130 if isinstance(ev, ExperimentStopped) else code
    finally:
        signal.signal(signal.SIGINT, old)
    if code == 0:
        print(f"lesson ready: {out} (archstudio lesson summary {out})")
    elif code == 1:  # a failed or damaged model: "ready" would send the teacher to class without it
        print(f"lesson not ready: a model failed (said above); {out} keeps what was prepared", file=sys.stderr)
    return code


def _print_lesson(events) -> int:
    """Print the lesson's events (a progress line on a terminal, one line per model's news); the
    exit status: 0, 1 when a model failed, 130 when stopped."""
    from studio.core.classroom.lesson_events import (LessonDone, LessonEval, LessonStarted, LessonStep,
                                                     LessonStopped, ModelFailed, ModelResumed, ModelStarted)
    tty = sys.stderr.isatty()
    last, code = 0.0, 0
    for ev in events:
        if isinstance(ev, LessonStep) or (isinstance(ev, LessonEval) and tty):
            now = time.monotonic()
            if not tty or now - last < 0.25:
                continue
            last = now
            bar = "#" * int(20 * ev.overall_fraction)
            sys.stderr.write(f"\r[{bar:<20}] model {ev.index + 1}/{ev.total} {ev.model} step {ev.step}/{ev.steps} "
                             f"ETA {_clock(ev.eta_s)} ")
            sys.stderr.flush()
            continue
        if tty:
            sys.stderr.write("\r" + " " * 100 + "\r")
        eta = f" (lesson ETA {_clock(ev.eta_s)})" if isinstance(ev, (ModelStarted, ModelResumed)) else ""
        counted = min(ev.total, ev.index + (not isinstance(ev, (LessonDone, LessonStarted))))
        print(f"[{counted}/{ev.total}] {ev.message}{eta}", file=sys.stderr, flush=True)
        if isinstance(ev, ModelFailed):
            code = 1
        if isinstance(ev, LessonStopped):
            code = 130
    return code


def _summary(args) -> int:
    from studio.core.classroom.lesson import Lesson, summary, summary_csv
    from studio.core.files.yamlio import atomic_write_text
    rows = summary(args.lesson_dir)
    for line in Lesson(args.lesson_dir).sorted_entries()[2]:
        print(f"skipped a damaged entry: {line}", file=sys.stderr)
    if args.csv:
        try:
            atomic_write_text(args.csv, summary_csv(rows))
        except OSError as exc:
            raise E.StudioError(f"{args.csv}: cannot write ({exc.strerror or exc})") from None
    print(f"{'model':32} {'status':10} {'bits/byte':>9} {'tokens':>12} {'minutes':>8}")
    for r in rows:
        bpb = f"{r['val_bpb']:.3f}" if r["val_bpb"] is not None else "—"
        tokens = f"{r['tokens']:,}" if r["tokens"] is not None else "—"
        minutes = f"{r['minutes']:.1f}" if r["minutes"] is not None else "—"
        print(f"{r['id']:32} {r['status']:10} {bpb:>9} {tokens:>12} {minutes:>8}")
        if r.get("change"):  # what it changed since the model it builds on (its lineage)
            print(f"  since {r['since']}: {r['change']}")
    from studio.core.experiments.in_lesson import summary_rows
    for r in summary_rows(args.lesson_dir):  # the milestones' experiments (lesson prepare --experiments)
        result = f"before {r['before']:.4g}, after {r['after']:.4g} ({r['metric']})" if r["status"] == "done" else "—"
        print(f"experiment {r['milestone']:21} {r['status']:10} {result}")
    if args.csv:
        print(f"written {args.csv}")
    return 0
