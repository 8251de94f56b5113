"""How long a click on Start (Training panel) keeps the GUI thread from its event loop (issue 21).

Opens the real main window (offscreen), puts a milestone on screen and clicks Start twice (the
first click of a fresh process pays first-time imports; the second is a warm one, after the first
run has ended). For each click it reports: the time the click handler itself took, the time from
the click until the event loop ran again (a 0 ms single-shot timer queued right after it), the
longest gap between ticks of a 5 ms timer while the worker prepares the run (data, tokenizer,
model, first-time imports, which hold the GIL in chunks; at least ``--watch`` seconds), what the
panel said right after the click and, with ``--profile``, the slowest functions of the click.

    OMP_NUM_THREADS=1 QT_QPA_PLATFORM=offscreen python bench/bench_gui_start_click.py [--model ID] [--profile]
    ... bench/bench_gui_start_click.py --what import   # File → Import → llama2.c model, stories260K
"""
from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def _watch_gui_thread():
    """A watchdog thread: when the GUI thread has not run a 10 ms timer for 150 ms, print where it is."""
    import threading
    import traceback

    from PySide6.QtCore import QTimer
    gui = threading.get_ident()
    beat = [time.monotonic()]
    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(lambda: beat.__setitem__(0, time.monotonic()))
    timer.start()
    _watch_gui_thread.timer = timer  # kept alive

    def watch():
        reported = 0.0
        while True:
            time.sleep(0.05)
            if time.monotonic() - beat[0] > 0.15 and beat[0] != reported:
                reported = beat[0]
                frame = sys._current_frames().get(gui)
                where = "".join(traceback.format_stack(frame, limit=12)) if frame else "?"
                print(f"--- GUI thread late {time.monotonic() - beat[0]:.2f} s at:\n{where}", flush=True)
    threading.Thread(target=watch, daemon=True).start()


def import_click(app, w, clock):
    """File → Import → llama2.c model…, stories260K, click Import: time until the event loop runs again."""
    from PySide6.QtCore import QEventLoop, QTimer
    data = Path(os.environ.get("ARCHSTUDIO_SHARED", ROOT.parent / "shared")) / "data" / "llama2c"
    dlg = w.llama2c.open_import()
    dlg.model_edit.setText(str(data / "stories260K.bin"))
    dlg.tok_edit.setText(str(data / "tok512.bin"))
    dlg.out_edit.setText(os.path.join(os.environ["ARCHSTUDIO_RUNS_DIR"], "stories260K"))
    back = {}
    t0 = clock.nsecsElapsed()
    QTimer.singleShot(0, lambda: back.setdefault("t", clock.nsecsElapsed()))
    dlg.import_button.click()
    t1 = clock.nsecsElapsed()
    while "t" not in back:
        app.processEvents(QEventLoop.AllEvents, 5)
    while getattr(dlg, "worker", None) is not None:  # after the change: the import runs on the worker
        app.processEvents(QEventLoop.AllEvents, 5)
    t2 = clock.nsecsElapsed()
    print(f"import stories260K (fresh process): click handler {(t1 - t0) / 1e6:.0f} ms, event loop again after "
          f"{(back['t'] - t0) / 1e6:.0f} ms, imported after {(t2 - t0) / 1e6:.0f} ms; "
          f"the dialog says {dlg.status_label.text()[:70]!r}", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="recipe-llama2c-stories260k")
    ap.add_argument("--watch", type=float, default=3.0, help="seconds of event-loop gaps watched after each click")
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--why", action="store_true", help="print the GUI thread's stack when it is 150 ms late")
    ap.add_argument("--what", choices=("start", "import"), default="start",
                    help="import: click Import in File → Import → llama2.c model (stories260K) instead")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="archstudio-bench-")
    os.environ.update(ARCHSTUDIO_RUNS_DIR=tmp, ARCHSTUDIO_CACHE_DIR=tmp + "/cache", ARCHSTUDIO_NO_COMPILE="1")
    from PySide6.QtCore import QElapsedTimer, QEventLoop, QSettings, QTimer
    os.environ["XDG_CONFIG_HOME"] = tmp  # the app's own settings, not the user's
    QSettings.setDefaultFormat(QSettings.IniFormat)
    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, tmp)
    from studio._qt.window.app import create_app, start_window
    app = create_app()  # the app as archstudio starts it: its GUI-thread garbage collector included
    w = start_window()

    def spin(sec):
        end = time.monotonic() + sec
        while time.monotonic() < end:
            app.processEvents(QEventLoop.AllEvents, 20)
    while w.training is None:  # the deferred docks, built after the first paint
        spin(0.2)
    w._warm()
    spin(2.0)  # start-up settles (the collector freezes start-up's objects)
    from PySide6.QtWidgets import QWidget
    for top in app.topLevelWidgets():  # the first-run tour and welcome: not what is measured
        if top is not w and isinstance(top, QWidget) and top.isVisible():
            top.close()
    print(f"torch imported before the click: {'torch' in sys.modules}", flush=True)
    w.model.show_milestone(a.model)
    p, s = w.training.panel, w.training.session
    p.tokenizer.setCurrentIndex(p.tokenizer.findData("byte"))
    p.steps.setValue(3)
    p.eval_every.setValue(1000)
    p.threads.setValue(1)
    clock = QElapsedTimer()
    clock.start()
    if a.why:
        _watch_gui_thread()

    def click(label):
        back = {}
        prof = cProfile.Profile() if a.profile else None
        t0 = clock.nsecsElapsed()
        QTimer.singleShot(0, lambda: back.setdefault("t", clock.nsecsElapsed()))
        if prof:
            prof.enable()
        p.start_btn.click()
        if prof:
            prof.disable()
        t1 = clock.nsecsElapsed()
        while "t" not in back:
            app.processEvents(QEventLoop.AllEvents, 5)
        gaps, last = [], [clock.nsecsElapsed()]

        def tick():
            now = clock.nsecsElapsed()
            gaps.append((now - last[0]) / 1e6)
            last[0] = now
        timer = QTimer()
        timer.setInterval(5)
        timer.timeout.connect(tick)
        timer.start()
        said = p.progress.format() + " | " + p.status.text()  # what the panel says right after the click
        end = time.monotonic() + a.watch
        while time.monotonic() < end or s.state == "preparing":  # the worker prepares: data, model, imports
            app.processEvents(QEventLoop.AllEvents, 5)
        timer.stop()
        prep_s = (clock.nsecsElapsed() - t0) / 1e9
        print(f"{label}: click handler {(t1 - t0) / 1e6:.0f} ms, event loop again after {(back['t'] - t0) / 1e6:.0f} ms; "
              f"in the {prep_s:.1f} s after it (preparing in the worker) the longest gap {max(gaps or [0]):.0f} ms, "
              f"{sum(g > 100 for g in gaps)} gaps > 100 ms; right after the click the panel said {said[:60]!r}", flush=True)
        if prof:
            out = io.StringIO()
            pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(18)
            print(out.getvalue())
        while s.running:
            app.processEvents(QEventLoop.AllEvents, 20)

    print(f"{a.model}; load {open('/proc/loadavg').read().split()[:3]}", flush=True)
    if a.what == "import":
        import_click(app, w, clock)
    else:
        click("first click (fresh process)")
        spin(0.5)
        click("second click (warm)")
    from studio._qt.window.gui_collector import installed
    col = installed(app)
    if col is not None:
        print(f"GUI-thread garbage collections: {col.collections}, the longest {col.worst_ms:.0f} ms")
    print(f"load at the end {open('/proc/loadavg').read().split()[:3]}")
    w.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
