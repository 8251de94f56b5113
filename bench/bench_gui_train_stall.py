"""The longest GUI event-loop stall while training runs (target < 50 ms: no jank).

Opens the real main window (offscreen), shows the Plots dock, starts training a preset's
classroom scale from the Training panel (the same path as pressing F6) and, while it runs,
measures the gaps between ticks of a 5 ms QTimer on the GUI thread. A gap above the 5 ms
interval is time the event loop could not run (painting, plots, the GIL held by the trainer).

    QT_QPA_PLATFORM=offscreen python bench/bench_gui_train_stall.py [--model ID] [--seconds 20]
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="recipe-llama2c-stories260k")
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    from PySide6.QtCore import QElapsedTimer, QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication, QDockWidget

    from bench_window import bench_window
    app = QApplication([])
    w = bench_window(app)

    def spin(sec):
        end = time.monotonic() + sec
        while time.monotonic() < end:
            app.processEvents(QEventLoop.AllEvents, 20)
    spin(1.0)
    w.model.show_milestone(a.model)
    docks = {d.windowTitle(): d for d in w.findChildren(QDockWidget)}
    docks["Plots"].raise_()
    p = w.training.panel
    p.steps.setValue(100_000)
    p.threads.setValue(a.threads)
    p.eval_every.setValue(25)
    s = w.training.session

    def measure(seconds):
        """Gaps (ms) between ticks of a 5 ms timer on the GUI thread for ``seconds``."""
        gaps = []
        clock = QElapsedTimer()
        clock.start()
        last = [clock.nsecsElapsed()]

        def tick():
            now = clock.nsecsElapsed()
            gaps.append((now - last[0]) / 1e6)
            if os.environ.get("STALL_DEBUG") and gaps[-1] > 50:
                print(f"gap {gaps[-1]:.0f} ms ending at {time.perf_counter():.3f}", flush=True)
            last[0] = now
        timer = QTimer()
        timer.setInterval(5)
        timer.timeout.connect(tick)
        timer.start()
        loop = QEventLoop()
        QTimer.singleShot(int(seconds * 1000), loop.quit)
        loop.exec()
        timer.stop()
        return sorted(gaps)

    # the same window idle first: what the machine itself does to the event loop (other processes)
    idle = measure(min(10.0, a.seconds))
    start_gaps = []
    w.training.actions["start_stop"].trigger()
    while s.state != "running":  # preparing: data, tokenizer, model, first-time imports
        start_gaps += measure(0.25)
    start_gaps.sort()
    if os.environ.get("STALL_DEBUG"):
        s.job_event.connect(lambda ev: print(f"{time.perf_counter():.3f} {type(ev).__name__} step {ev.step}", flush=True)
                        if not type(ev).__name__ == "StepMetrics" or ev.step % 5 == 0 else None)
    gaps = measure(a.seconds)
    steps = int(s.history.series("loss").x[-1]) if len(s.history.series("loss")) else 0
    redraws = s.history.version
    w.close()  # stops training, saves a checkpoint
    def stats(g):
        return f"median {g[len(g) // 2]:.1f} ms, p99 {g[int(0.99 * (len(g) - 1))]:.1f} ms, max {g[-1]:.1f} ms"
    print(f"idle window (baseline, no training): {len(idle)} ticks, gap {stats(idle)}")
    print(f"preparing the run (data, tokenizer, model, first-time imports): {len(start_gaps)} ticks, gap {stats(start_gaps)}")
    print(f"{a.model}, {a.threads} training thread(s), {a.seconds:.0f} s: {steps} steps, {redraws} metric updates; "
          f"{len(gaps)} ticks, gap {stats(gaps)}; gaps > 50 ms: {sum(g > 50 for g in gaps)} (target: none)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
