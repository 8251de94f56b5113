"""Inspection benchmark: inspect_model on a 64-token prompt for classroom models (built once,
timed per call), with torch's default thread count and with one thread, plus the GUI-thread
cost of feeding the Attention and Routing docks with a finished Inspection (colours precomputed in
the job thread, as the app does).

    python bench/bench_inspect.py
"""
from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

PRESETS = ("2023-07-llama-2", "2017-06-transformer", "2020-05-gpt-3", "2023-12-mixtral", "2024-12-deepseek-v3")


def prompt_ids(tok, n=64):
    text = "Once upon a time, there was a little girl named Lily. She loved to play in the park."
    return tok.encode(text, bos=True)[:n]


def time_inspect(pid, threads, reps=15):
    import torch

    from studio.core.model.compiler import compile_architecture
    from studio.core.inspect.inspection import inspect_model
    from studio.core.files.presets import load_preset
    from studio.core.tokenizers.byte_level import ByteTokenizer
    torch.set_num_threads(threads)
    tok = ByteTokenizer()
    torch.manual_seed(0)
    model = compile_architecture(load_preset(pid)).eval()
    ids = prompt_ids(tok)
    assert len(ids) == 64
    inspect_model(model, ids, tok)  # warm-up
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        ins = inspect_model(model, ids, tok)
        ts.append((time.perf_counter() - t) * 1000)
    return statistics.median(ts), sorted(ts)[int(0.9 * (len(ts) - 1))], ins


def time_gui_feed(ins, reps=10):
    from PySide6.QtWidgets import QApplication

    from studio._qt.inspect.attention_view import AttentionInspector
    from studio._qt.inspect.controller import InspectController
    from studio._qt.inspect.routing_view import RoutingView
    app = QApplication.instance() or QApplication([])
    from studio._qt.inspect.widgets import attention_images
    from studio.core.state import RunState
    ctl = InspectController(RunState())
    ctl.images = {id(ins): attention_images(ins, ctl.mask_rgb)}  # as the job thread delivers them
    view, rv = AttentionInspector(ctl), RoutingView(ctl)
    view.resize(1366, 400)
    view.show()
    rv.show()
    view.show_inspection(ins)
    rv.show_inspection(ins)
    app.processEvents()
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        view.show_inspection(ins)
        rv.show_inspection(ins)
        app.processEvents()
        ts.append((time.perf_counter() - t) * 1000)
    return statistics.median(ts)


def main():
    import torch
    default = torch.get_num_threads()
    rows = []
    last = {}
    for pid in PRESETS:
        try:
            med_d, p90_d, ins = time_inspect(pid, default)
            med_1, p90_1, _ = time_inspect(pid, 1)
        except Exception as exc:  # noqa: BLE001  a preset not yet in this checkout
            print(f"{pid}: skipped ({exc})")
            continue
        last[pid] = ins
        rows.append((pid, len(ins.attention), len(ins.routing), med_d, p90_d, med_1, p90_1))
    print(f"| preset (classroom) | attention blocks | MoE layers | median / p90, {default} threads | median / p90, 1 thread |")
    print("|---|---|---|---|---|")
    for pid, na, nm, md, pd, m1, p1 in rows:
        print(f"| {pid} | {na} | {nm} | {md:.1f} / {pd:.1f} ms | {m1:.1f} / {p1:.1f} ms |")
    for pid in ("2023-07-llama-2", "2024-12-deepseek-v3"):
        if pid in last:
            print(f"GUI thread: feeding the Attention + Routing docks with {pid}'s inspection: "
                  f"{time_gui_feed(last[pid]):.1f} ms median")


if __name__ == "__main__":
    main()
