"""``archstudio experiment ID [--minutes N] [--seed S] [--out DIR]``: a training-pipeline milestone
(FlashAttention, Chinchilla, DeepSeek-R1, o1, ...) as a live experiment; DIR/experiment.json holds
the result. Started again with the same DIR and settings, a killed run continues."""
from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

from studio.core import errors as E


def add_parser(sub) -> None:
    s = sub.add_parser("experiment", help="run a training-pipeline milestone as a live experiment (≤ 3 minutes)")
    s.add_argument("milestone", metavar="ID", nargs="?", help="a milestone id (--list shows those with an experiment)")
    s.add_argument("--minutes", type=float, default=3.0, help="the work it is sized for (default 3, on one thread)")
    s.add_argument("--seed", type=int, default=1337, help="the same seed and minutes give the same numbers")
    s.add_argument("--out", default=None, metavar="DIR", help="default experiment-ID-TIME")
    s.add_argument("--data", default=None, help="PATH, quick, full or starter (Chinchilla's stories)")
    s.add_argument("--threads", type=int, default=1, help="torch threads (default 1: what the experiments are sized for)")
    s.add_argument("--from", dest="source", default=None, metavar="DIR",
                   help="o1: a finished DeepSeek-R1 experiment whose RL model to sample (default: pretrain the base)")
    s.add_argument("--list", action="store_true", help="list the milestones that have an experiment")


def _check(args) -> None:
    from studio.core.experiments import experiment_ids, has_experiment
    if not args.milestone:
        raise E.StudioError("name a milestone: archstudio experiment ID (--list shows them)")
    if not has_experiment(args.milestone):
        raise E.StudioError(f"{args.milestone!r} has no experiment; choose one of {', '.join(experiment_ids())}")
    if not 0.05 <= args.minutes <= 120:
        raise E.StudioError(f"--minutes must be from 0.05 to 120, got {args.minutes:g}")
    if not 0 <= args.seed < 1 << 62:
        raise E.StudioError(f"--seed must be from 0 to {(1 << 62) - 1}, got {args.seed}")
    if not 1 <= args.threads <= 1024:
        raise E.StudioError(f"--threads must be from 1 to 1024, got {args.threads}")
    if args.source is not None and args.milestone != "2024-09-o1":
        raise E.StudioError("--from is for 2024-09-o1 (a finished 2025-01-deepseek-r1 experiment)")


def _say(ev) -> str | None:
    from studio.core.experiments.common import Finished, Point, Row, Stage, Text
    if isinstance(ev, Stage):
        return ev.what
    if isinstance(ev, Row):
        return "  " + "  ".join(f"{c:.4g}" if isinstance(c, float) else str(c) for c in ev.cells)
    if isinstance(ev, Text):
        return f"  [{ev.label}] {ev.text}"
    if isinstance(ev, Finished):
        arrow = "higher is better" if ev.higher_is_better else "lower is better"
        return f"{ev.metric}: before {ev.before:.4g}, after {ev.after:.4g} ({arrow}); {ev.wall_s:.0f} s → {ev.path}"
    if isinstance(ev, Point):
        return None  # the table rows carry the same numbers
    return None


def cmd_experiment(args) -> int:
    from studio.core.experiments import experiment_ids, run
    from studio.core.experiments.common import ExperimentRequest, Finished
    from studio.core.jobs.control import JobControl
    if args.list:
        for mid in experiment_ids():
            print(mid)
        return 0
    _check(args)
    out = Path(args.out) if args.out else Path(f"experiment-{args.milestone}-{time.strftime('%Y%m%d-%H%M%S')}")
    req = ExperimentRequest(args.milestone, str(out), minutes=args.minutes, seed=args.seed, data=args.data,
                            threads=args.threads, source=args.source)
    control = JobControl()

    def on_sigint(signum, frame):
        if control.should_stop():
            raise KeyboardInterrupt
        control.stop()
        print("\nstopping after this unit of work (run the same command again to continue; Ctrl+C again to abort)",
              file=sys.stderr, flush=True)

    old = signal.signal(signal.SIGINT, on_sigint)
    finished = False
    try:
        for ev in run(req, control):
            line = _say(ev)
            if line:
                print(line, flush=True)
            finished = finished or isinstance(ev, Finished)
    finally:
        signal.signal(signal.SIGINT, old)
    if not finished:
        print(f"archstudio: stopped; {out} keeps the finished parts (the same command continues)", file=sys.stderr)
        return 130
    return 0
