"""``archstudio race A B [C D] --minutes N --out DIR``: models side by side on the identical token stream."""
from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

from studio.core import errors as E
from studio.core.classroom.race_steps import clock
from studio.core.jobs.control import JobControl


def print_table(rows: list[dict]) -> None:
    from studio.core.model.accounting import humanize
    print(f"{'model':28} {'params':>9} {'active':>9} {'FLOPs':>9} {'tokens':>9} {'tokens/s':>9} {'bits/byte':>9}")
    for r in rows:
        bpb = f"{r['val_bpb']:.3f}" if r.get("val_bpb") is not None else "—"
        print(f"{r['name'][:28]:28} {humanize(r['params']):>9} {humanize(r['params_active']):>9} "
              f"{r['flops']:>9.2e} {humanize(r['tokens']):>9} {r['tokens_per_s']:>9,.0f} {bpb:>9}")
    for r in rows:
        print(f"  {r['name']}: {' '.join(str(r.get('sample', '')).split())[:150]!r}")


def cmd_race(args) -> int:
    started_at = clock()  # --minutes run from here: what the user waits for
    from studio.core.classroom.race import RaceConfig, load_race, race
    from studio.core.classroom.race_events import RaceDone
    from studio.core.classroom.race_setup import race_preset, race_presets
    if args.list:
        for p in race_presets().values():
            print(f"{p.id:16} {p.title} (match: {p.match})")
        return 0
    if args.show:
        saved = load_race(args.show)
        print(f"{saved.index.get('title')} — {saved.index.get('status')}, {saved.index.get('steps_done', 0)} steps; "
              f"data: {(saved.index.get('data') or {}).get('label', '')}")
        print_table(saved.table)
        return 0
    models, match, title = list(args.models), args.match, ""
    if args.preset:
        p = race_preset(args.preset)
        if models:
            raise E.StudioError("give either --preset or the models A B [C D], not both")
        models, match, title = list(p.models), args.match or p.match, p.title
    if not 2 <= len(models) <= 4:
        raise E.StudioError(f"a race takes 2 to 4 models (got {len(models)}); e.g. archstudio race 2019-02-gpt-2 "
                            "2023-07-llama-2 --minutes 3, or --preset ID (--list shows them)")
    for name in ("steps", "batch_size", "context", "threads", "vocab_size"):
        v = getattr(args, name, None)
        if v is not None and v < 1:
            raise E.StudioError(f"--{name.replace('_', '-')} must be at least 1")
    if not 0 <= args.seed < 1 << 63:  # torch's generators hold 64 bits; the race adds to the seed
        raise E.StudioError(f"--seed must be from 0 to {(1 << 63) - 1}, got {args.seed}")
    if args.minutes is not None and not args.minutes > 0:
        raise E.StudioError("--minutes must be positive")
    out = Path(args.out) if args.out else Path(f"race-{time.strftime('%Y%m%d-%H%M%S')}")
    cfg = RaceConfig(models=tuple(models), minutes=args.minutes or 3.0, steps=args.steps, match=match or "none",
                     data=args.data, vocab_size=args.vocab_size or 512, batch_size=args.batch_size or 8,
                     context=args.context or 256, seed=args.seed, threads=args.threads, device=args.device,
                     title=title)
    control = JobControl()

    def on_sigint(signum, frame):
        if control.should_stop():
            raise KeyboardInterrupt
        control.stop()
        print("\nstopping the race after this step (Ctrl+C again to abort)", file=sys.stderr, flush=True)

    old = signal.signal(signal.SIGINT, on_sigint)
    try:
        end = _print_race(race(out, cfg, control, started_at))
    finally:
        signal.signal(signal.SIGINT, old)
    print_table(list(end.table))
    print(f"race saved in {out} (reopen: archstudio race --show {out})")
    return 0 if isinstance(end, RaceDone) else 130


def _print_race(events):
    """Print the race as it goes (a step counter on a terminal, a line per evaluation); returns its
    last event (RaceDone or RaceStopped)."""
    from studio.core.classroom.race_events import RaceEnd, RaceEval, RaceStarted, RaceStep
    from studio.core.training.events import Preparing
    tty = sys.stderr.isatty()
    last, end = 0.0, None
    for ev in events:
        if isinstance(ev, RaceStep):
            now = time.monotonic()
            if tty and now - last > 0.25:
                last = now
                of = f"/{ev.steps}" if ev.steps else ""  # 0: the first step of a time budget times the models
                sys.stderr.write(f"\rstep {ev.step}{of}, {ev.elapsed_s:.0f} s ")
                sys.stderr.flush()
        elif isinstance(ev, RaceEval):
            if tty:
                sys.stderr.write("\r" + " " * 40 + "\r")
            print(f"step {ev.step}: {ev.name}: held-out {ev.val_bpb:.3f} bits/byte", file=sys.stderr, flush=True)
        elif isinstance(ev, Preparing):
            print(f"preparing: {ev.what}", file=sys.stderr, flush=True)
        elif isinstance(ev, (RaceStarted, RaceEnd)):
            print(ev.message, file=sys.stderr, flush=True)
            end = ev
    return end
