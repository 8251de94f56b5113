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
    ap.add_argument("--click-minutes", type=float, default=0.0,
                    help="click Training → Train for N min once the warm-up compiles (a run started meanwhile)")
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

    clicked = {}

    def check():  # an event loop that waits (a processEvents spin would take a core from the warm-up)
        if a.click_minutes and not clicked and "compiling the training step" in warm.label.text():
            clicked["t"] = _click_train(w, a.click_minutes)
        if warm.worker is not None:
            started.setdefault("t", time.monotonic())
        elif started and (warm.last is not None or "failed" in warm.label.text()) and \
                not w.training.session.running:
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
    print(f"  result: {done.note}\n  detail: {done.detail}")
    for t, text in lines:
        print(f"  {t:7.1f} s  {text}")
    if clicked:
        _report_run(w, clicked["t"], t0)
    timer.stop()
    checker.stop()
    w.projects.confirm_close = lambda: True
    w.close()
    return 0


def _click_train(w, minutes: float) -> float:
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest
    p = w.training.panel
    p.minutes.setValue(minutes)
    QTest.mouseClick(p.start_btn, Qt.LeftButton)
    return time.monotonic()


def _report_run(w, t_click: float, t0: float) -> None:
    from studio.core.runs.rundir import RunDir
    run_dir = w.model.run.run_dir
    cfg = RunDir(run_dir).read_config() if run_dir else {}
    rt, res = cfg.get("runtime") or {}, cfg.get("result") or {}
    print(f"  a run clicked at {t_click - t0:.1f} s (Train for {(cfg.get('training') or {}).get('minutes')} min): "
          f"{res.get('step')} steps, held-out {res.get('val_bpb')} bpb, elapsed {res.get('elapsed_s')} s, "
          f"preparing {rt.get('preparing_s')} s, {rt.get('precision')}; step: {rt.get('step')}; "
          f"switches: {[s.get('note') for s in rt.get('switches') or []]}")


if __name__ == "__main__":
    sys.exit(main())
