"""GUI benchmarks (issue 4/5): cold start to first painted window, scrubbing latency, idle
memory, and property-edit latency. Offscreen; run: python bench/bench_gui_scrub.py

Scrub latency = time from the slider's value change (``model.timeline.set_index``, as a mouse
drag calls it) until every synchronous subscriber (the Document following the Timeline, scene
items, marks, frames, chart marker) has updated — what the user waits for before the next paint.
Property edit = ``model.document.set_config`` (what the undo command calls: scene faces follow
its ``changed`` event) plus the accounting panel's refresh that runs on the next turn.
"""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("ARCHSTUDIO_NO_BACKGROUND_WARM", "1")  # a fresh window would compile beside the timing
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

COLD = r"""
import time; t0 = time.perf_counter()
import os, sys; sys.path.insert(0, %r)
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from PySide6.QtCore import QEvent, QObject, QStandardPaths
QStandardPaths.setTestModeEnabled(True)
from studio._qt.window.app import create_app
app = create_app()
from studio._qt.window.main_window import MainWindow
class First(QObject):
    def eventFilter(self, obj, ev):
        if ev.type() == QEvent.Paint:
            print(f"{time.perf_counter() - t0:.4f}", "torch" in sys.modules, flush=True)
            os._exit(0)
        return False
w = MainWindow(defer_optional=True)  # exactly as run_app starts it
f = First(); w.graph_view.viewport().installEventFilter(f)
w.show()
app.exec()
""" % ROOT


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def cold_start(runs: int = 5):
    times, torch_loaded = [], False
    for _ in range(runs):
        t = time.perf_counter()
        r = subprocess.run([sys.executable, "-c", COLD], capture_output=True, text=True, timeout=120)
        wall = time.perf_counter() - t
        line = r.stdout.strip().splitlines()[-1] if r.stdout.strip() else ""
        if not line:
            raise SystemExit(f"cold start failed: {r.stderr[-500:]}")
        inner, torch = line.split()
        torch_loaded |= torch == "True"
        times.append(wall)  # interpreter start included
    return times, torch_loaded


def in_process():
    import studio._qt  # noqa: F401
    from PySide6.QtCore import QStandardPaths
    QStandardPaths.setTestModeEnabled(True)
    from studio._qt.window.app import create_app
    app = create_app()
    from studio._qt.window.main_window import MainWindow
    w = MainWindow()
    w.resize(1366, 768)
    w.show()
    app.processEvents()
    w._warm()
    m = w.model.timeline
    lat = []
    for _sweep in range(3):  # forward and back over every milestone, as a drag does
        order = list(range(len(m.ids))) + list(range(len(m.ids) - 2, -1, -1))
        for i in order:
            t = time.perf_counter()
            m.set_index(i)
            lat.append((time.perf_counter() - t) * 1000)
            app.processEvents()  # paints + animation ticks between slider moves
    # property edit → accounting refreshed and node redrawn (issue 5)
    m.set_current("2023-07-llama-2")
    app.processEvents()
    edit = []
    doc = w.model.document
    for k in range(60):
        t = time.perf_counter()
        doc.set_config("attention", "n_kv_heads", 4 if k % 2 else 8)
        w.accounting_panel.refresh()
        w.graph_view.graph_scene.nodes["attention"].update()
        edit.append((time.perf_counter() - t) * 1000)
        app.processEvents()
    rss = 0
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS"):
                rss = int(line.split()[1]) / 1024
    return lat, edit, rss, len(m.ids)


def main():
    cold, torch_loaded = cold_start()
    lat, edit, rss, n = in_process()
    print(f"cold start to first paint (wall, incl. interpreter): median {statistics.median(cold):.2f} s "
          f"(runs: {', '.join(f'{c:.2f}' for c in cold)}); torch imported: {torch_loaded}")
    print(f"scrub over {n} entries, {len(lat)} moves: p50 {pct(lat, .5):.2f} ms, p95 {pct(lat, .95):.2f} ms, "
          f"max {max(lat):.2f} ms")
    print(f"property edit → accounting + node redraw: p50 {pct(edit, .5):.2f} ms, p95 {pct(edit, .95):.2f} ms")
    print(f"idle memory (RSS after warm-up): {rss:.0f} MiB")


if __name__ == "__main__":
    main()
