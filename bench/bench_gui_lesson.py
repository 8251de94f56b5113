"""Prepare the lesson in the app: the estimate each model starts with against the steps it trained,
and how long Cancel takes (issue 22 M6: "≈ 40 steps" became 3; Cancel took ≈ 40 s).

Opens the real window (offscreen), Help → Prepare the lesson…'s dialog, ticks the models asked for,
sets the minutes and the data, clicks Start with the mouse; then a second lesson is cancelled by a
click on Cancel while its first model trains, timed from the click until the dialog can start again.

    python bench/bench_gui_lesson.py [--models ID ...] [--minutes 0.3] [--data FILE]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def _dialog(w, folder: str, models, minutes: float, data: str | None):
    from PySide6.QtCore import Qt

    from studio._qt.classroom.lesson_dialog import LessonDialog
    d = LessonDialog(w.model.run, parent=w)
    d.folder.setText(folder)
    d.tick_all(Qt.Unchecked)
    for i in range(d.models.count()):
        if d.models.item(i).data(Qt.UserRole) in models:
            d.models.item(i).setCheckState(Qt.Checked)
    d.minutes.setValue(minutes)
    if data:
        d.choose_data_file(str(Path(data).resolve()))
    else:
        d.data.setCurrentIndex(d.data.findData("starter"))
    d.show()
    return d


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", nargs="+", default=["2019-02-gpt-2", "2023-07-llama-2", "2023-12-mixtral"])
    ap.add_argument("--minutes", type=float, default=0.3)
    ap.add_argument("--data", default=None)
    a = ap.parse_args()
    from PySide6.QtCore import QEventLoop, Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from bench_window import bench_window
    app = QApplication([])
    w = bench_window(app)

    def spin(sec, until=lambda: False):
        end = time.monotonic() + sec
        while time.monotonic() < end and not until():
            app.processEvents(QEventLoop.AllEvents, 20)
    spin(1.0)
    d = _dialog(w, tempfile.mkdtemp(prefix="lesson-"), a.models, a.minutes, a.data)
    t0 = time.monotonic()
    QTest.mouseClick(d.start_btn, Qt.LeftButton)
    spin(a.minutes * 60 * len(a.models) * 4 + 300, lambda: d.worker is None)
    print(f"lesson of {len(a.models)} models × {a.minutes:g} min: click → ready {time.monotonic() - t0:.1f} s "
          f"(planned {a.minutes * 60 * len(a.models):.0f} s); load {open('/proc/loadavg').read().split()[0]}")
    for line in d.log.toPlainText().splitlines():
        if "parameters" in line or "done" in line:
            print("  " + line)
    # the second lesson: cancelled while its first model trains
    d2 = _dialog(w, tempfile.mkdtemp(prefix="lesson-"), a.models[:1], 2.0, a.data)
    QTest.mouseClick(d2.start_btn, Qt.LeftButton)
    spin(600, lambda: "step" in d2.current.format())
    spin(3.0)
    t1 = time.monotonic()
    QTest.mouseClick(d2.cancel_btn, Qt.LeftButton)
    spin(300, lambda: d2.worker is None)
    print(f"Cancel while training: click → Start enabled again {time.monotonic() - t1:.2f} s; "
          f"{d2.eta.text()!r}; load {open('/proc/loadavg').read().split()[0]}")
    w.projects.confirm_close = lambda: True
    w.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
