"""Help → Prepare the lesson…: train the chosen milestones' classroom models ahead of class
(studio.core.classroom.lesson.prepare on the generic worker), with progress per model and overall, the ETA,
Cancel (a checkpoint is saved; the next Start resumes), and the summary table with CSV export.

The dialog takes the RunState in ``__init__``: when models are ready it points
``run_state.set_prepared_lookup`` at the lesson folder, so Generate, Attention and Routing use the
prepared run of the model on screen.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDoubleSpinBox, QFileDialog, QHBoxLayout, QLabel, QLineEdit,
                               QListWidget, QListWidgetItem, QPlainTextEdit, QProgressBar, QPushButton, QVBoxLayout)

from studio.core.errors import StudioError

SETTING = "lesson_dir"


def lesson_dir_setting() -> Path:
    from studio.core.classroom.lesson import default_lesson_dir
    v = QSettings().value(SETTING)
    return Path(str(v)) if v else default_lesson_dir()


def install_prepared_runs(run_state, lesson_dir=None) -> Path | None:
    """Point RunState at the lesson folder (the remembered one by default) if it has an index."""
    from studio.core.classroom.lesson import Lesson, describe_run, prepared_lookup
    folder = Path(lesson_dir) if lesson_dir else lesson_dir_setting()
    if not Lesson(folder).exists():
        return None
    run_state.set_prepared_lookup(prepared_lookup(folder), describe_run)
    return folder


def _clock(seconds) -> str:
    if seconds is None:
        return "—"
    s = int(seconds)
    return f"{s // 3600} h {s % 3600 // 60:02d} min" if s >= 3600 else f"{s // 60} min {s % 60:02d} s"


class LessonDialog(QDialog):
    lesson_changed = Signal(object)  # the lesson folder, whenever a model became ready in it

    def __init__(self, run_state, parent=None, show_status=None):
        super().__init__(parent)
        self.run_state = run_state
        self.show_status = show_status or (lambda msg, *a: None)
        self.worker = None
        self.setWindowTitle("Prepare the lesson")
        self.resize(760, 620)
        lay = QVBoxLayout(self)
        intro = QLabel("Trains each chosen model's classroom version one after another, the night before class. "
                       "Safe to leave running overnight and to cancel: the next Start resumes where it stopped, "
                       "and finished models are kept. Every model trains on the stories chosen below.")
        intro.setWordWrap(True)
        lay.addWidget(intro)
        row = QHBoxLayout()
        row.addWidget(QLabel("Lesson folder:"))
        self.folder = QLineEdit(str(lesson_dir_setting()))
        row.addWidget(self.folder, 1)
        browse = QPushButton("Choose…")
        browse.clicked.connect(self._choose_folder)
        row.addWidget(browse)
        lay.addLayout(row)
        row = QHBoxLayout()
        row.addWidget(QLabel("Minutes per model:"))
        self.minutes = QDoubleSpinBox()
        self.minutes.setRange(0.2, 240.0)
        self.minutes.setValue(5.0)
        self.minutes.setToolTip("Each model's training time on this machine (its steps are fitted to it)")
        row.addWidget(self.minutes)
        self.total = QLabel()
        self.total.setWordWrap(True)
        row.addWidget(self.total, 1)
        lay.addLayout(row)
        lay.addLayout(self._data_row())
        self.models = self._models_list()
        lay.addWidget(self.models)
        row = QHBoxLayout()
        for text, state in (("Tick all", Qt.Checked), ("Tick none", Qt.Unchecked)):
            b = QPushButton(text)
            b.clicked.connect(lambda _c=False, st=state: self.tick_all(st))
            row.addWidget(b)
        row.addStretch(1)
        lay.addLayout(row)
        row = QHBoxLayout()
        row.addWidget(QLabel("Also import pretrained (downloaded if needed):"))
        self.pretrained = {}
        from studio.core.runs.tinyllamas import MODELS
        for name in ("stories260K", "stories15M"):
            box = QCheckBox(name)
            box.setToolTip(f"karpathy's {name} (MIT): {MODELS[name].what}; it becomes the prepared run of "
                           + ", ".join(MODELS[name].presets))
            row.addWidget(box)
            self.pretrained[name] = box
        row.addStretch(1)
        lay.addLayout(row)
        self.overall = QProgressBar()
        self.overall.setFormat("lesson: %p%")
        self.current = QProgressBar()
        self.current.setFormat("model: %p%")
        lay.addWidget(self.overall)
        lay.addWidget(self.current)
        self.eta = QLabel("")
        lay.addWidget(self.eta)
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(500)
        lay.addWidget(self.log, 1)
        buttons = QHBoxLayout()
        self.start_btn = QPushButton("Start")
        self.cancel_btn = QPushButton("Cancel")
        self.cancel_btn.setEnabled(False)
        self.cancel_btn.setToolTip("Stop after a checkpoint; Start again later resumes")
        self.summary_btn = QPushButton("Summary…")
        self.summary_btn.setToolTip("Held-out bits per byte, tokens seen and minutes of every prepared run")
        close = QPushButton("Close")
        for b in (self.start_btn, self.cancel_btn, self.summary_btn):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(close)
        lay.addLayout(buttons)
        self.start_btn.clicked.connect(self.start)
        self.cancel_btn.clicked.connect(self.cancel)
        self.summary_btn.clicked.connect(self.open_summary)
        close.clicked.connect(self.close)
        self.models.itemChanged.connect(lambda _i: self._update_total())
        self.minutes.valueChanged.connect(lambda _v: self._update_total())
        self._update_total()

    def _models_list(self) -> QListWidget:
        """Every milestone and recipe, ticked; a damaged preset file shown, unticked, with why."""
        from studio.core.files.presets import preset_infos
        models = QListWidget()
        models.setMaximumHeight(150)
        try:
            infos = preset_infos()
        except StudioError as exc:  # a damaged presets/timeline.yaml: the dialog still opens and says so
            infos = []
            self.show_status(str(exc), 15000)
        for info in infos:
            item = QListWidgetItem(f"{info.date}  {info.title}" if info.date else info.title)
            item.setData(Qt.UserRole, info.id)
            item.setFlags(item.flags() | Qt.ItemIsUserCheckable)
            item.setCheckState(Qt.Unchecked if info.problem else Qt.Checked)
            if info.problem:  # a damaged preset file: shown, not trained, the reason in its tooltip
                item.setFlags(item.flags() & ~Qt.ItemIsEnabled)
                item.setToolTip(info.problem)
            models.addItem(item)
        return models

    def _data_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        row.addWidget(QLabel("Train on:"))
        self.data = QComboBox()
        from studio._qt.training.data_choice import DATA_KEY
        saved = QSettings().value(DATA_KEY)
        from studio._qt.training.data_choice import data_choices
        for label, spec in data_choices():
            self.data.addItem(label, spec)
        i = self.data.findData(saved) if isinstance(saved, str) else -1
        self.data.setCurrentIndex(max(i, 0))  # what Training trains on, else the first choice
        self.data.addItem("Local file (.txt / .json / .jsonl)…", "choose")
        self.data.activated.connect(self._data_activated)
        self.data.setToolTip("Every model of the lesson trains on the same stories: pick what Training uses, "
                             "so their bits per byte compare")
        row.addWidget(self.data, 1)
        return row

    def _data_activated(self, _i) -> None:
        if self.data.currentData() != "choose":
            return
        path, _ = QFileDialog.getOpenFileName(self, "Stories to train on", "", "Stories (*.txt *.json *.jsonl)")
        self.choose_data_file(path)

    def choose_data_file(self, path: str) -> None:
        """A local file becomes the lesson's data (an empty choice keeps the previous one)."""
        if not path:
            self.data.setCurrentIndex(0)
            return
        import os
        i = self.data.findData(path)
        if i < 0:
            i = self.data.count() - 1  # before "Local file…"
            self.data.insertItem(i, f"File: {os.path.basename(path)}", path)
        self.data.setCurrentIndex(i)

    def tick_all(self, state) -> None:
        for i in range(self.models.count()):
            item = self.models.item(i)
            if item.flags() & Qt.ItemIsEnabled:
                item.setCheckState(state)

    def chosen(self) -> list[str]:
        return [self.models.item(i).data(Qt.UserRole) for i in range(self.models.count())
                if self.models.item(i).checkState() == Qt.Checked]

    def _update_total(self):
        n = len(self.chosen())
        text = f"{n} models ≈ {_clock(60 * self.minutes.value() * n)} in all"
        if n and self.minutes.value() >= 1:  # each done model's step is compiled for the class, once per shape
            from studio.core.training.compile_costs import CostBook
            each, _ = CostBook().estimate("", "cold_s")
            text += (f", plus compiling each model's training step for the class where it is not cached yet "
                     f"(≈ {_clock(each)} each on this laptop)")
        self.total.setText(text)

    def _choose_folder(self):
        path = QFileDialog.getExistingDirectory(self, "Lesson folder", self.folder.text())
        if path:
            self.folder.setText(path)

    # ------------------------------------------------------------------ running
    def start(self, **overrides):
        """Start (or resume) on the generic worker; ``overrides``: LessonConfig fields (tests: steps…)."""
        from studio._qt.worker import start_job
        from studio.core.classroom.lesson import LessonConfig, prepare
        if self.worker is not None:
            return None
        ids = tuple(self.chosen())
        if not ids:
            self.eta.setText("Tick at least one model.")
            return None
        folder = Path(self.folder.text()).expanduser()
        pretrained = tuple(n for n, b in self.pretrained.items() if b.isChecked())
        data = self.data.currentData()
        if data == "choose":
            self.eta.setText("Choose the stories to train on first.")
            return None
        cfg = LessonConfig(**{"milestones": ids, "minutes_per_model": self.minutes.value(), "pretrained": pretrained,
                              "data": data, **overrides})
        QSettings().setValue(SETTING, str(folder))
        self.lesson_dir = folder
        self._finished = False
        self.worker = w = start_job(lambda control: prepare(folder, cfg, control), name="archstudio-lesson",
                                    what="preparing the lesson", parent=self, on_event=self._event,
                                    on_failed=self._failed, on_ended=self._ended)
        self.start_btn.setEnabled(False)
        self.cancel_btn.setEnabled(True)
        self.log.appendPlainText(f"Preparing {len(ids)} models in {folder} on {self.data.currentText()}…")
        return w

    def cancel(self):
        if self.worker is not None:
            self.worker.stop()
            self.eta.setText("Stopping: saving a checkpoint…")

    def _event(self, ev):
        from studio.core.classroom.lesson_events import LessonDone, LessonEval, LessonStep, ModelDone, ModelSkipped
        self.overall.setValue(int(round(100 * ev.overall_fraction)))
        self.current.setValue(int(round(100 * ev.model_fraction)))
        if isinstance(ev, (LessonStep, LessonEval)):
            self.current.setFormat(f"{ev.model}: step {ev.step} of {ev.steps}")
            self.eta.setText(f"model {ev.index + 1} of {ev.total} · lesson ready in about {_clock(ev.eta_s)}")
            if isinstance(ev, LessonStep):
                return
        self.log.appendPlainText(_in_dialog_words(ev.message))
        if isinstance(ev, (ModelDone, ModelSkipped, LessonDone)):
            install_prepared_runs(self.run_state, self.lesson_dir)  # ready models are used at once
            self.lesson_changed.emit(self.lesson_dir)
        if isinstance(ev, LessonDone):
            self._finished = True
            self.eta.setText(ev.message)
            self.show_status(f"Lesson ready: {self.lesson_dir}")

    def _failed(self, msg: str):
        self.log.appendPlainText(f"Stopped: {_in_dialog_words(msg)}")
        self.eta.setText(_in_dialog_words(msg))

    def _ended(self):
        self.worker = None
        self.start_btn.setEnabled(True)
        done = getattr(self, "_finished", False)
        self.start_btn.setText("Start" if done else "Resume")  # a finished lesson has nothing to resume
        self.cancel_btn.setEnabled(False)
        self.current.setFormat("model: %p%")  # no stale "step 3 of 4" once nothing runs
        if not done:
            self.eta.setText("Stopped. Finished models are kept; Resume goes on where it stopped.")

    def shutdown(self, timeout_ms: int = 120_000) -> bool:
        return True if self.worker is None else self.worker.shutdown(timeout_ms)

    def closeEvent(self, event):
        self.shutdown()  # a checkpoint is saved; the next Start resumes
        super().closeEvent(event)

    # ------------------------------------------------------------------ summary
    def open_summary(self):
        from studio._qt.classroom.lesson_summary import SummaryDialog
        try:
            dlg = SummaryDialog(Path(self.folder.text()).expanduser(), self)
        except StudioError as exc:
            self.eta.setText(str(exc))
            return None
        dlg.show()
        return dlg


def _in_dialog_words(message: str) -> str:
    """The core's messages speak to the command line ("run the same command again"); here there
    is a button for it."""
    return message.replace("run the same command again to resume", "press Resume to go on")


class LessonActions:
    """The lesson's entries in the main window: Help → Prepare the lesson…, View → Architecture
    race… and View → Compute planner…, and the prepared runs of the remembered lesson folder."""

    def __init__(self, window):
        self.window = window
        self.dialog = self.race_window = self.planner_window = None
        self.folder = install_prepared_runs(window.model.run)
        self.mark_timeline(self.folder)
        self.say_damaged_entries(self.folder)
        h, v = window.menu("Help"), window.menu("View")
        first = h.actions()[0] if h.actions() else None
        self.prepare_action = window._action(h, "&Prepare the lesson…", self.open_dialog, None,
                                             "Train every milestone's classroom model ahead of class (resumable)")
        if first is not None:  # the lesson comes first in Help: it is what a teacher does the night before
            h.removeAction(self.prepare_action)
            h.insertAction(first, self.prepare_action)
        v.addSeparator()
        self.race_action = window._action(v, "Architecture &race…", self.open_race, "Ctrl+Shift+R",
                                          "Train 2–4 models side by side on the same token stream")
        self.planner_action = window._action(v, "Compute &planner…", self.open_planner, "Ctrl+Shift+P",
                                             "6·N·D, Chinchilla's 20 tokens per parameter, the run's ETA")

    def say_damaged_entries(self, folder) -> None:
        """The remembered lesson's damaged entries are skipped by every reader; the status bar names them."""
        from studio.core.classroom.lesson import Lesson
        try:
            bad = Lesson(folder).sorted_entries()[2] if folder else []
        except StudioError as exc:  # a damaged lesson.yaml as a whole: no prepared runs, said
            bad = [str(exc)]
        if bad:
            more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
            self.window.show_status(f"The lesson's prepared runs: skipped {bad[0]}{more}", 15000)

    def mark_timeline(self, folder) -> None:
        """▲ on the timeline for the milestones that have a prepared run."""
        from studio.core.classroom.lesson import prepared_ids
        strip = getattr(getattr(self.window, "timeline_bar", None), "strip", None)
        if strip is not None and hasattr(strip, "prepared"):
            strip.prepared = prepared_ids(folder) if folder else set()
            strip.update()

    def open_dialog(self):
        if self.dialog is None:
            self.dialog = LessonDialog(self.window.model.run, self.window, self.window.show_status)
            self.dialog.lesson_changed.connect(self.mark_timeline)
        self.dialog.show()
        self.dialog.raise_()
        return self.dialog

    def _window(self, title: str, widget):
        box = QDialog(self.window)
        box.setWindowTitle(title)
        box.setWindowFlag(Qt.WindowMaximizeButtonHint, True)
        lay = QVBoxLayout(box)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(widget)
        box.resize(1200, 700)
        return box

    def open_race(self):
        if self.race_window is None:
            from studio._qt.classroom.race_view import RaceView
            from studio.core.classroom.race_history import RaceHistory
            self.race_view = RaceView(RaceHistory(), self.window.theme, None, self.window.show_status)
            self.race_window = self._window("Architecture race", self.race_view)
        self.race_window.show()
        self.race_window.raise_()
        return self.race_window

    def open_planner(self):
        if self.planner_window is None:
            from studio._qt.panels.planner_view import PlannerView
            self.planner_view = PlannerView(self.window.model, self.window.theme)
            self.planner_window = self._window("Compute planner", self.planner_view)
        self.planner_window.show()
        self.planner_window.raise_()
        return self.planner_window

    def shutdown(self) -> bool:
        """Stop the lesson and race workers (the window is closing); checkpoints are saved."""
        ok = True
        if self.dialog is not None:
            ok = self.dialog.shutdown() and ok
        if self.race_window is not None:
            ok = self.race_view.shutdown() and ok
        return ok
