"""One process of bench/soak_gui.py: the real main window driven through a lesson, loop after
loop, each loop measured (stalls of the GUI thread's event loop, memory, live QObjects, the
GUI-thread garbage collector). Its only output is one JSON line per loop on stdout."""
from __future__ import annotations

import faulthandler
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STALL_MS = 100
TICK_MS = 10
FIVE = ("2019-02-gpt-2", "2023-07-llama-2", "2023-12-mixtral", "2024-12-deepseek-v3", "2025-07-kimi-k2")
LESSON = ("recipe-microgpt", "2019-02-gpt-2", "2023-07-llama-2")
RACE = ("2019-02-gpt-2", "2023-07-llama-2")
WAIT_S = 300


class SoakError(Exception):
    pass


class Driver:
    """One process: the app, the window, the stall clock, and the steps of one loop."""

    def __init__(self, tmp: Path):
        from PySide6.QtCore import QElapsedTimer, QSettings, QStandardPaths, QTimer

        from studio._qt.window.app import create_app
        self.tmp = tmp
        self.app = create_app()
        QStandardPaths.setTestModeEnabled(True)
        QSettings.setDefaultFormat(QSettings.IniFormat)
        QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, str(tmp / "settings"))
        self.messages: list[str] = []
        self._answer_message_boxes()
        from studio._qt.window.app import start_window
        self.w = start_window(None)  # the app's own start-up: deferred docks, then the collector settles
        self.w.resize(1366, 768)
        self.w._warm()
        self.step, self.stalls, self._kinds, self._py_kinds = "start", [], Counter(), Counter()
        self.clock = QElapsedTimer()
        self.clock.start()
        self._last = self._armed = self.clock.elapsed()
        self.ticker = QTimer()
        self.ticker.setInterval(TICK_MS)
        self.ticker.timeout.connect(self._tick)
        self.ticker.start()
        self.wait_until(lambda: self.w.training is not None, "the deferred docks", 120)

    def _tick(self):
        now = self.clock.elapsed()
        if now - self._armed > 1000:  # no tick for 5 s: every thread's stack goes to stderr, once
            faulthandler.dump_traceback_later(5, exit=False)
            self._armed = now
        late = now - self._last - TICK_MS
        if late > STALL_MS:
            self.stalls.append((late, self.step))
        self._last = now

    def _answer_message_boxes(self):
        """A modal box would stop the class: record its text, answer Discard/No/Ok."""
        from PySide6.QtWidgets import QMessageBox

        def question(parent, title, text, buttons=QMessageBox.Yes | QMessageBox.No, *a):
            self.messages.append(f"question: {title}: {text}")
            return QMessageBox.Discard if buttons & QMessageBox.Discard else QMessageBox.No

        def note(kind):
            return lambda parent, title, text, *a: self.messages.append(f"{kind}: {title}: {text}") or QMessageBox.Ok
        QMessageBox.question = staticmethod(question)
        for kind in ("warning", "information", "critical"):
            setattr(QMessageBox, kind, staticmethod(note(kind)))

    # ------------------------------------------------------------------ waiting like a user
    def spin(self, ms: int):
        from PySide6.QtCore import QEventLoop, QTimer
        loop = QEventLoop()
        QTimer.singleShot(ms, loop.quit)
        loop.exec()

    def wait_until(self, cond, what, timeout_s: float = WAIT_S):
        """``what``: a text, or a function that describes the state when the time is up."""
        end = time.monotonic() + timeout_s
        while not cond():
            if time.monotonic() > end:
                raise SoakError(f"{what() if callable(what) else what}: not done after {timeout_s:.0f} s")
            self.spin(25)

    # ------------------------------------------------------------------ the steps of a loop
    def scrub(self, n):
        for mid in list(self.w.model.timeline.ids):
            self.w.model.show_milestone(mid)
            self.spin(20)

    def present(self, n):
        self.w.model.show_milestone("2023-07-llama-2")
        self.w.presentation.toggle()
        self.spin(400)
        for mid in FIVE:
            self.w.model.show_milestone(mid)
            self.spin(100)
        self.w.presentation.toggle()
        self.spin(200)

    def compare(self, n):
        self.w.model.show_milestone("2023-12-mixtral")
        dlg = self.w.open_compare()
        self.spin(400)
        dlg.close()
        self.spin(100)

    def inspect(self, n):
        """Attention and Routing on five models; a model the inspector refuses is noted, the rest go on."""
        docks, ctl = self.w.inspect, self.w.inspect.controller
        failed, refused = [], []
        ctl.failed.connect(failed.append)
        try:
            for mid in FIVE:
                failed.clear()
                self.w.model.show_milestone(mid)  # once active, the inspector follows the model on screen
                if docks.inspect_on_screen():
                    def shown(mid=mid):
                        return not ctl.busy() and getattr(ctl.last, "arch_id", None) == mid

                    def state(mid=mid):
                        return (f"inspect {mid} (busy {ctl.busy()}, showing {getattr(ctl.last, 'arch_id', None)}, "
                                f"source {getattr(ctl.source, 'label', None)})")
                    self.wait_until(lambda shown=shown: bool(failed) or shown(), state)
                if failed:
                    refused.append(f"{mid}: {failed[0]}")
                for title in ("Attention", "Routing"):
                    self.w.reveal_dock(title)
                    self.spin(150)
        finally:
            ctl.failed.disconnect(failed.append)
        if refused:
            raise SoakError("; ".join(refused))

    def train(self, n):
        panel, session = self.w.training.panel, self.w.training.session
        for mid in ("2019-02-gpt-2", "2023-07-llama-2", "2023-12-mixtral"):
            self.w.model.show_milestone(mid)
            panel.tokenizer.setCurrentIndex(panel.tokenizer.findData("byte"))
            panel.minutes.setValue(0)
            for box, value in ((panel.steps, 100_000), (panel.batch, 4), (panel.context, 32),
                               (panel.eval_every, 10), (panel.threads, 1)):
                box.setValue(value)
            self.step, failed = "train: start", []
            session.failed.connect(failed.append)
            try:
                panel.start()
                self.wait_until(lambda failed=failed: session.state == "running" or bool(failed),
                                f"training {mid} to start")
            finally:
                session.failed.disconnect(failed.append)
            if failed:
                raise SoakError(f"training {mid}: {failed[0]}")
            self.step = "train: running"
            self.spin(1500)
            self.step = "train: pause"
            panel.pause_btn.click()
            self.wait_until(lambda: session.state == "paused", f"training {mid} to pause", 60)
            self.spin(600)
            self.step = "train: resume"
            panel.pause_btn.click()
            self.spin(1200)
            self.step = "train: stop"
            panel.stop_btn.click()
            self.wait_until(lambda: not session.running, f"training {mid} to stop")

    def lesson(self, n):
        from PySide6.QtCore import Qt
        dlg = self.w.lesson.open_dialog()
        dlg.folder.setText(str(self.tmp / f"lesson-{n}"))
        for i in range(dlg.models.count()):
            item = dlg.models.item(i)
            item.setCheckState(Qt.Checked if item.data(Qt.UserRole) in LESSON else Qt.Unchecked)
        worker = dlg.start(steps=4, batch_size=2, context=16, threads=1, precision="fp32", compile=False)
        ended = []
        worker.ended.connect(lambda: ended.append(1))
        self.wait_until(lambda: bool(ended), "the lesson")
        dlg.close()

    def race(self, n):
        box = self.w.lesson.open_race()
        view = self.w.lesson.race_view
        view.demo.setCurrentIndex(view.demo.findData("custom"))
        for combo, mid in zip(view.model_boxes, RACE):
            combo.setCurrentIndex(combo.findData(mid))
        worker = view.start(self.tmp / f"race-{n}", steps=4, batch_size=2, context=16, tokenizer="byte",
                            vocab_size=259, eval_interval=2, threads=1)
        ended = []
        worker.ended.connect(lambda: ended.append(1))
        self.wait_until(lambda: bool(ended), "the race")
        box.close()

    def import_export(self, n):
        from studio._qt.render import save_scene
        data = Path(os.environ.get("ARCHSTUDIO_SHARED", ROOT.parent / "shared")) / "data" / "llama2c"
        ctl = self.w.inspect.controller
        if (data / "stories260K.bin").is_file():
            dlg = self.w.llama2c.open_import()
            dlg.model_edit.setText(str(data / "stories260K.bin"))
            dlg.tok_edit.setText(str(data / "tok512.bin"))
            dlg.out_edit.setText(str(self.tmp / f"stories260K-{n}"))
            dlg.do_import()  # on the worker thread
            self.wait_until(lambda: dlg.worker is None, "importing stories260K")
            self.wait_until(lambda: not ctl.busy(), "inspecting the import")
            exp = self.w.llama2c.open_export()
            exp.out_edit.setText(str(self.tmp / f"export-{n}"))
            if not exp.compatible:
                raise SoakError(f"export: the imported run is not exportable: {exp.status_label.text()}")
            exp.do_export()
            exp.close()
            dlg.close()
        for suffix in ("png", "svg"):
            save_scene(self.w.graph_view.graph_scene, str(self.tmp / f"diagram-{n}.{suffix}"))

    def project(self, n):
        w, path = self.w, self.tmp / f"class-{n}.archproj.yaml"
        w.model.show_milestone("2023-07-llama-2")
        w.editor.set_config("attention", "n_kv_heads", 4)
        if not w.projects.save_to(path):
            raise SoakError(f"project: could not save {path}")
        w.projects.new()
        if not w.projects.open(path):
            raise SoakError(f"project: could not open {path}")
        self.spin(200)

    def undo_redo(self, n):
        w = self.w
        w.model.show_milestone("2023-07-llama-2")
        for i in range(12):
            w.editor.set_config("attention", "n_kv_heads", (1, 2, 4, 8)[i % 4])
        for action in [w.editor.undo_action] * 12 + [w.editor.redo_action] * 12:
            action.trigger()
            self.spin(10)
        w.show_original()

    STEPS = ("scrub", "present", "compare", "inspect", "train", "lesson", "race", "import_export", "project",
             "undo_redo")

    # ------------------------------------------------------------------ one loop, measured
    def loop(self, n: int) -> dict:
        start, errors = time.monotonic(), []
        self.stalls, self.messages[:] = [], []
        for name in self.STEPS:
            self.step = name
            print(f"[soak] {time.strftime('%H:%M:%S')} loop {n}: {name}", file=sys.stderr, flush=True)
            try:
                getattr(self, name)(n)
            except Exception as exc:  # noqa: BLE001  a failed step is a finding, and the class goes on
                errors.append(f"{name}: {type(exc).__name__}: {exc}")
            self.spin(50)
        self.step = "measure"
        worst = max(self.stalls, default=(0, ""))
        return {"loop": n, "seconds": round(time.monotonic() - start, 1), "stalls": len(self.stalls),
                "worst_stall_ms": round(worst[0]), "worst_stall_in": worst[1],
                "stalls_by_step": _count_by_step(self.stalls), "errors": errors,
                "messages": [m[:200] for m in self.messages if not m.startswith("question")][:10],
                **self.measure()}

    def measure(self) -> dict:
        import gc

        import shiboken6
        from PySide6.QtCore import QCoreApplication, QEvent, QObject

        from studio._qt.window.gui_collector import installed
        for _ in range(3):  # what the event loop would do before the next click: deletes, then a collection
            QCoreApplication.sendPostedEvents(None, QEvent.DeferredDelete)
            self.app.processEvents()
        collector = installed(self.app)
        collector.collect()
        tops = self.app.topLevelWidgets()
        objects = self.app.findChildren(QObject) + [o for t in tops for o in [t, *t.findChildren(QObject)]]
        kinds = Counter(type(o).__name__ for o in objects)
        grew = dict((kinds - self._kinds).most_common(6))
        self._kinds = kinds
        alive = gc.get_objects()  # after the collection: what is reachable (the frozen start-up aside)
        wrappers = sum(1 for o in alive if issubclass(type(o), QObject) and shiboken6.isValid(o))
        py_grew = dict((Counter(type(o).__qualname__ for o in alive) - self._py_kinds).most_common(4))
        self._py_kinds = Counter(type(o).__qualname__ for o in alive)
        with open("/proc/self/statm") as f:
            rss = int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        disk = sum(f.stat().st_size for f in self.tmp.rglob("*") if f.is_file() and not f.is_symlink())
        return {"rss_mb": round(rss / 2**20, 1), "disk_mb": round(disk / 2**20), "qobjects": len(objects), "wrappers": wrappers, "grew": grew,
                "python_objects": len(alive), "python_grew": py_grew,
                "top_levels": len(tops), "visible_top_levels": sum(t.isVisible() for t in tops),
                "gc_collections": collector.collections, "gc_off_thread": collector.off_thread,
                "gc_worst_ms": round(collector.worst_ms, 1)}


def _count_by_step(stalls) -> dict:
    out: dict[str, int] = {}
    for _, step in stalls:
        out[step] = out.get(step, 0) + 1
    return out


def child(until: float, tmp: Path) -> int:
    import signal

    import torch
    faulthandler.register(signal.SIGUSR1, all_threads=True)  # kill -USR1: where is a slow loop?
    torch.set_num_threads(1)
    d = Driver(tmp)
    n = 0
    while time.time() < until:
        n += 1
        print(json.dumps(d.loop(n)), flush=True)
    d.w.close()
    return 0
