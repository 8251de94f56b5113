"""A first start's background warm-up, timed (issue 21 item 3): the real main window (offscreen,
fresh settings: a first start) waits until idle, warms the Training panel's default shape in its
child, and this prints the warm's wall time from the window shown and from its start, the child's
CPU seconds (its compile workers included), the app process's own CPU meanwhile, the worst
event-loop stall while it ran, and each status-bar line with its time. Run it on an empty cache,
then time a first run against a cold cache with bench_gui_train_for.py:

    XDG_CACHE_HOME=$(mktemp -d) python bench/bench_first_warm.py [--timeout 600]
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
os.environ.pop("ARCHSTUDIO_NO_BACKGROUND_WARM", None)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--timeout", type=float, default=600.0)
    a = ap.parse_args()
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication
    app = QApplication([])
    from bench_window import bench_window
    t0, cpu0 = time.monotonic(), time.process_time()
    w = bench_window(app)
    warm = w.first_run.background_warm
    lines, ticks = [], {"last": time.monotonic(), "worst": 0.0}

    def tick():
        now = time.monotonic()
        if warm.worker is not None:
            ticks["worst"] = max(ticks["worst"], now - ticks["last"])
        ticks["last"] = now
        text = warm.label.text()
        if text and (not lines or lines[-1][1] != text):
            lines.append((now - t0, text))
    timer = QTimer(interval=20, timeout=tick)
    timer.start()
    started, loop = {}, QEventLoop()

    def check():  # an event loop that waits (a processEvents spin would take a core from the warm-up)
        if warm.worker is not None:
            started.setdefault("t", time.monotonic())
        elif started and (warm.last is not None or "failed" in warm.label.text()):
            loop.quit()
    checker = QTimer(interval=100, timeout=check)
    checker.start()
    QTimer.singleShot(int(a.timeout * 1000), loop.quit)
    loop.exec()
    wall = time.monotonic() - t0
    tick()
    done = warm.last
    load = open("/proc/loadavg").read().split()[0]
    if done is None:
        print(f"no warm-up result after {wall:.0f} s: {warm.label.text() or 'nothing said'} (load {load})")
        return 1
    req = warm.request
    shapes = ", ".join(f"batch {c['batch_size']} x context {c['context']}" for c in req.configs)
    print(f"first-start warm-up of {req.model_spec} ({shapes}, {req.configs[0]['threads']} thread(s), "
          f"data {req.data_spec}): window shown → done {wall:.1f} s, "
          f"job {done.wall_s:.1f} s wall, child CPU {done.cpu_s:.1f} s, app process CPU "
          f"{time.process_time() - cpu0:.1f} s (start-up included), worst event-loop stall while warming "
          f"{ticks['worst'] * 1e3:.0f} ms; load {load}")
    print(f"  result: {done.note}")
    for t, text in lines:
        print(f"  {t:7.1f} s  {text}")
    timer.stop()
    checker.stop()
    w.projects.confirm_close = lambda: True
    w.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
