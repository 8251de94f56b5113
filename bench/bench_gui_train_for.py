""""Train for N min" in the app, timed on the wall clock from the click to the end (issue 21).

Opens the real main window (offscreen), shows a model, sets Training → Train for N min and the
data, clicks Start with the mouse and waits until the run has finished (final eval and
checkpoint written: the session's Finished event and the panel back to idle). Prints the wall
time against N minutes, the steps and the held-out bits per byte. Run it with an empty cache
(``XDG_CACHE_HOME=$(mktemp -d)``) for the cold case and again with the same cache for the warm.

    python bench/bench_gui_train_for.py [--model ID] [--minutes 1] [--data FILE] [--more M]

``--more M`` then clicks "Train M more min" on the finished run and times that too, click to end.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def _choose_data(panel, data: str | None) -> None:
    if data:
        panel.local_path = str(Path(data).resolve())
        panel.refresh_data_choices()
    want = panel.local_path if data else "starter"
    panel.data.setCurrentIndex(panel.data.findData(want))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="recipe-llama2c-stories260k")
    ap.add_argument("--minutes", type=float, default=1.0)
    ap.add_argument("--data", default=None, help="a stories file (default: the starter corpus)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--more", type=float, default=0.0, help="then Train M more min on the finished run")
    a = ap.parse_args()
    from PySide6.QtCore import QEventLoop, Qt, QTimer
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication
    app = QApplication([])
    from bench_window import bench_window
    w = bench_window(app)

    def spin(sec, until=lambda: False):  # waits in an event loop: a processEvents spin took a core from training
        loop = QEventLoop()
        check = QTimer(interval=50, timeout=lambda: until() and loop.quit())
        check.start()
        QTimer.singleShot(int(sec * 1000), loop.quit)
        loop.exec()
        check.stop()
    spin(1.0)
    w.model.show_milestone(a.model)
    p, s = w.training.panel, w.training.session
    _choose_data(p, a.data)
    p.minutes.setValue(a.minutes)
    p.threads.setValue(a.threads)
    done, marks = [], {}

    def on_event(ev):
        name = type(ev).__name__
        marks.setdefault(f"first {name}", time.monotonic())
        marks[f"last {name}"] = time.monotonic()
        if name == "Finished":
            done.append(ev)
    s.job_event.connect(on_event)
    seen = []
    s.state_changed.connect(lambda st: (seen.append(st), marks.setdefault(st, time.monotonic())))
    t0 = time.monotonic()
    QTest.mouseClick(p.start_btn, Qt.LeftButton)
    spin(a.minutes * 60 * 3 + 120, lambda: bool(done) and s.state == "idle")
    wall = time.monotonic() - t0
    run_dir = w.model.run.run_dir
    from studio.core.runs.rundir import RunDir
    m = RunDir(run_dir).read_metrics(points=2) if run_dir else None
    step = (m.last.get("step") or {}) if m else {}
    ev = (m.last.get("eval") or {}) if m else {}
    cfg = RunDir(run_dir).read_config() if run_dir else {}
    print(f"{a.model}, Train for {a.minutes:g} min, data {p.data.currentText()}: click → finished {wall:.1f} s "
          f"({wall / (a.minutes * 60):.3f}× the budget); {step.get('step', 0)} steps, "
          f"held-out {ev.get('val_bpb', float('nan')):.3f} bits/byte; preparing {(cfg.get('runtime') or {}).get('preparing_s', '?')} s; "
          f"states {' → '.join(dict.fromkeys(seen))}; load {open('/proc/loadavg').read().split()[0]}")
    budget_clock = (time.monotonic() - t0) - (time.perf_counter() - s.started_at)
    print(f"  the budget's clock started {budget_clock:+.2f} s after the click (0: at the click)")
    for name, t in sorted(marks.items(), key=lambda kv: kv[1]):
        print(f"  {t - t0:7.2f} s  {name}")
    if a.more and done:
        done.clear()
        p.more.minutes.setValue(a.more)
        t1 = time.monotonic()
        QTest.mouseClick(p.more.button, Qt.LeftButton)
        spin(a.more * 60 * 3 + 120, lambda: bool(done) and s.state == "idle")
        more_wall = time.monotonic() - t1
        m = RunDir(run_dir).read_metrics(points=2)
        print(f"  Train {a.more:g} more min: click → finished {more_wall:.1f} s ({more_wall / (a.more * 60):.3f}× "
              f"the budget); now {(m.last.get('step') or {}).get('step', 0)} steps, held-out "
              f"{(m.last.get('eval') or {}).get('val_bpb', float('nan')):.3f} bits/byte; load "
              f"{open('/proc/loadavg').read().split()[0]}")
    w.projects.confirm_close = lambda: True
    w.close()
    return 0 if done else 1


if __name__ == "__main__":
    sys.exit(main())
