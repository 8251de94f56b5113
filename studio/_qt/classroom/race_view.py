"""The race view: 2–4 models trained side by side on the identical token stream (studio.core.classroom.race),
their held-out bits-per-byte curves overlaid live, and the final table.

It mirrors a Qt-free :class:`RaceHistory` (the one model it takes in ``__init__``): the race
runs on the generic worker, its events feed the history, and a ≤ 30 Hz timer redraws the
curves (created once, fed with ``setData``) and the table only when the history changed.
"""
from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtWidgets import (QComboBox, QDoubleSpinBox, QFileDialog, QGridLayout, QHBoxLayout, QHeaderView, QLabel,
                               QPushButton, QSizePolicy, QSplitter, QTableWidget, QTableWidgetItem, QVBoxLayout,
                               QWidget)

from studio.core.model.accounting import humanize
from studio.core.errors import StudioError
from studio.core.classroom.race_history import X_AXES, RaceHistory

COLOURS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7"]  # Okabe–Ito: colour-blind safe
SYMBOLS = ["o", "s", "t", "d"]  # and a shape per model, so colour is not the only cue
FRAME_MS = 33
CUSTOM = "custom"
NONE = ""
INLINE = "inline"  # a choice box showing a demo's inline model


class RaceView(QWidget):
    def __init__(self, history: RaceHistory, theme=None, parent=None, show_status=None):
        super().__init__(parent)
        from studio.core.files.presets import preset_infos
        from studio.core.classroom.race_setup import race_presets
        self.history, self.theme = history, theme
        self.show_status = show_status or (lambda msg, *a: None)
        self.worker = None
        self._drawn = -1
        problems = []  # a damaged preset file is said in the status line; the view still opens
        try:
            self.presets = race_presets()
        except StudioError as exc:
            self.presets = {}
            problems.append(str(exc))
        try:
            infos = preset_infos()
            self.infos = [i for i in infos if not i.problem]
            problems += [i.problem for i in infos if i.problem]
        except StudioError as exc:
            self.infos = []
            problems.append(str(exc))

        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addLayout(self._choices_grid())

        lay.addLayout(self._control_bar())
        self.say = QLabel("")
        self.say.setWordWrap(True)
        self.say.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Minimum)
        lay.addWidget(self.say)

        lay.addWidget(self._results(), 1)
        self.status = QLabel(problems[0] if problems else
                             "Choose a demo and press Start race: every model trains on the same batches.")
        self.status.setWordWrap(True)
        lay.addWidget(self.status)

        self.demo.currentIndexChanged.connect(self._demo_changed)
        self.start_btn.clicked.connect(self.start)
        self.stop_btn.clicked.connect(self.stop)
        self.open_btn.clicked.connect(self.open_dialog)
        self.x_axis.currentIndexChanged.connect(lambda _i: self._redraw(force=True))
        self._demo_changed()
        self.timer = QTimer(self)
        self.timer.setInterval(FRAME_MS)
        self.timer.timeout.connect(self._redraw)
        self.timer.start()

    def _choices_grid(self) -> QGridLayout:
        """The demo and the 2–4 models it races."""
        grid = QGridLayout()
        grid.addWidget(QLabel("Demo:"), 0, 0)
        self.demo = QComboBox()
        for p in self.presets.values():
            self.demo.addItem(p.title, p.id)
        self.demo.addItem("Custom: choose the models", CUSTOM)
        self.demo.setToolTip("A classic one-change comparison, or your own choice of 2–4 models")
        grid.addWidget(self.demo, 0, 1, 1, 4)
        self.model_boxes = []
        for i in range(4):
            box = QComboBox()
            if i >= 2:
                box.addItem("—", NONE)
            for info in self.infos:
                box.addItem(f"{info.title} ({info.date})" if info.date else info.title, info.id)
            box.setToolTip(f"Model {i + 1}" + (" (optional)" if i >= 2 else ""))
            box.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
            box.setMinimumContentsLength(12)
            grid.addWidget(box, 1, i)
            self.model_boxes.append(box)
        return grid

    def _control_bar(self) -> QHBoxLayout:
        """What is matched, the data, the minutes, Start / Stop / Open, the x axis."""
        bar = QHBoxLayout()
        bar.addWidget(QLabel("match:"))
        self.match = QComboBox()
        for key, text in (("none", "nothing"), ("params", "parameters"), ("active", "active parameters"),
                          ("flops", "FLOPs per token")):
            self.match.addItem(text, key)
        self.match.setToolTip("Fit the later models' FFN widths so this figure equals the first model's")
        bar.addWidget(self.match)
        bar.addWidget(QLabel("data:"))
        self.data = QComboBox()
        from studio._qt.training.data_choice import DATA_KEY, data_choices
        for label, spec in data_choices():
            self.data.addItem(label, spec)
        saved = QSettings().value(DATA_KEY)
        self.data.setCurrentIndex(max(self.data.findData(saved) if isinstance(saved, str) else -1, 0))
        self.data.setToolTip("What every model of the race trains on (the same stories as Training, so the bits "
                             "per byte compare)")
        bar.addWidget(self.data)
        bar.addWidget(QLabel("minutes:"))
        self.minutes = QDoubleSpinBox()
        self.minutes.setRange(0.1, 120.0)
        self.minutes.setSingleStep(0.5)
        self.minutes.setValue(3.0)
        self.minutes.setToolTip("The whole race: the step count is fitted to this machine's measured speed")
        bar.addWidget(self.minutes)
        self.start_btn = QPushButton("Start race")
        self.stop_btn = QPushButton("Stop")
        self.stop_btn.setEnabled(False)
        self.open_btn = QPushButton("Open race…")
        self.open_btn.setToolTip("Reopen a saved race folder (race.yaml)")
        for b in (self.start_btn, self.stop_btn, self.open_btn):
            bar.addWidget(b)
        bar.addStretch(1)
        bar.addWidget(QLabel("x axis:"))
        self.x_axis = QComboBox()
        for key, text in X_AXES.items():
            self.x_axis.addItem(text, key)
        bar.addWidget(self.x_axis)
        return bar

    def _results(self) -> QSplitter:
        """The held-out bits-per-byte curves over the table of results."""
        split = QSplitter(Qt.Vertical)
        self.plot = pg.PlotWidget()
        self.plot.setMinimumHeight(160)
        self.plot.showGrid(x=True, y=True, alpha=0.25)
        self.plot.setLabel("left", "held-out bits per byte")
        self.legend = self.plot.addLegend(offset=(-10, 10))
        self.curves = [self.plot.plot([], [], pen=pg.mkPen(c, width=2), symbol=s, symbolSize=6, symbolBrush=c,
                                      name=f"model {i + 1}") for i, (c, s) in enumerate(zip(COLOURS, SYMBOLS))]
        self.set_theme(self.theme)
        split.addWidget(self.plot)
        self.table = QTableWidget(0, 7)
        self.table.setHorizontalHeaderLabels(["model", "params", "active", "training FLOPs", "tokens/s",
                                              "bits/byte", "sample"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.NoEditTriggers)
        hh = self.table.horizontalHeader()
        for col in range(6):
            hh.setSectionResizeMode(col, QHeaderView.ResizeToContents)
        hh.setSectionResizeMode(6, QHeaderView.Stretch)
        split.addWidget(self.table)
        split.setSizes([300, 140])
        return split

    def set_theme(self, theme) -> None:
        bg = getattr(theme, "base", None) or "w"
        fg = getattr(theme, "text", None) or "#222222"
        self.plot.setBackground(bg)
        for ax in ("left", "bottom"):
            self.plot.getAxis(ax).setPen(fg)
            self.plot.getAxis(ax).setTextPen(fg)
        self.legend.setLabelTextColor(fg)

    # ------------------------------------------------------------------ choosing
    def _demo_changed(self, *_):
        rid = self.demo.currentData()
        custom = rid == CUSTOM
        for box in self.model_boxes:
            box.setEnabled(custom)
            if custom and box.findData(INLINE) >= 0:
                box.removeItem(box.findData(INLINE))
        if custom:
            self.say.setText("Your own race: 2 to 4 models on one tokenizer and one token stream.")
            return
        p = self.presets[rid]
        self.say.setText(p.say)
        for i, box in enumerate(self.model_boxes):
            spec = p.models[i] if i < len(p.models) else None
            j = box.findData(INLINE)
            if j >= 0:
                box.removeItem(j)
            if isinstance(spec, dict):  # an inline model of the demo: its own title, not its base preset's
                title = (spec.get("meta") or {}).get("title") or spec.get("id")
                box.insertItem(0, f"{title} (this demo)", INLINE)
                box.setCurrentIndex(0)
                continue
            box.setCurrentIndex(max(0, box.findData(spec if spec is not None else NONE)))
        self.match.setCurrentIndex(max(0, self.match.findData(p.match)))

    def chosen_models(self) -> tuple:
        rid = self.demo.currentData()
        if rid != CUSTOM:
            return tuple(self.presets[rid].models)
        return tuple(b.currentData() for b in self.model_boxes if b.currentData() not in (NONE, INLINE, None))

    # ------------------------------------------------------------------ running
    def start(self, out_dir=None, **overrides):
        """Start a race on the generic worker (``overrides``: RaceConfig fields, e.g. steps for tests)."""
        from studio._qt.worker import start_job
        from studio.core.classroom.race import RaceConfig, default_race_dir, race
        from studio.core.classroom.race_steps import clock
        started_at = clock()  # the race's minutes run from the click
        if self.worker is not None:
            return
        models = self.chosen_models()
        if not 2 <= len(models) <= 4:
            self.status.setText("Choose at least two models.")
            return
        title = self.demo.currentText() if self.demo.currentData() != CUSTOM else ""
        cfg = RaceConfig(**{"models": models, "minutes": self.minutes.value(), "match": self.match.currentData(),
                            "title": title, "data": self.data.currentData(), **overrides})
        out = out_dir or default_race_dir()
        self.history.reset(title)
        self.history.status = "running"
        self.history.path = out
        self.status.setText(f"Preparing the race in {out} on {self.data.currentText()}: one tokenizer, "
                            "timing each model on this machine…")
        self.worker = w = start_job(lambda control: race(out, cfg, control, started_at), name="archstudio-race",
                                    what="the race", parent=self, on_event=self.history.feed,
                                    on_failed=self.history.fail, on_ended=self._ended)
        self.start_btn.setEnabled(False)
        self.stop_btn.setEnabled(True)
        return w

    def stop(self):
        if self.worker is not None:
            self.worker.stop()
            self.status.setText("Stopping after this step…")

    def _ended(self):
        self.worker = None
        self.start_btn.setEnabled(True)
        self.stop_btn.setEnabled(False)
        self._redraw(force=True)

    def shutdown(self, timeout_ms: int = 120_000) -> bool:
        return True if self.worker is None else self.worker.shutdown(timeout_ms)

    def open_dialog(self):
        from studio._qt.dialogs.folders import app_folder, remember, start_dir
        path = QFileDialog.getExistingDirectory(self, "Open a race folder", start_dir("race", fallback=app_folder("races")))
        remember("race", path)
        if path:
            self.open_race(path)

    def open_race(self, path) -> bool:
        from studio.core.classroom.race import load_race
        try:
            saved = load_race(path)
        except StudioError as exc:
            self.status.setText(str(exc))
            return False
        h = RaceHistory.from_saved(saved)
        self.history.__dict__.update(h.__dict__)  # the view keeps mirroring the same history object
        self.history.version += 1
        self._redraw(force=True)
        return True

    # ------------------------------------------------------------------ drawing
    def _redraw(self, force: bool = False):
        h = self.history
        if h.version == self._drawn and not force:
            return
        self._drawn = h.version
        axis = self.x_axis.currentData()
        self.plot.setLabel("bottom", X_AXES[axis])
        self.legend.clear()
        for i, curve in enumerate(self.curves):
            if i < len(h.curves):
                c = h.curves[i]
                curve.setData(c.xs(axis), c.bpb)
                curve.setVisible(True)
                self.legend.addItem(curve, c.name)
            else:
                curve.setData([], [])
                curve.setVisible(False)
        self._fill_table(h.table)
        leader = h.leader()
        if h.status == "running" and not h.step and h.message:  # preparing, part of the race's minutes
            self.status.setText(f"{h.title}: {h.message}" if h.title else h.message.capitalize())
        elif h.status == "running":
            lead = f"; ahead: {leader}" if leader else ""
            of = f" of {h.steps}" if h.steps else ""  # 0: a time budget's first step, timing the models
            self.status.setText(f"{h.title}: step {h.step}{of}{lead}")
        elif h.status in ("done", "stopped", "failed", "interrupted"):
            self.status.setText(h.message + (f" — lowest held-out bits per byte: {leader}" if leader and h.status != "failed" else ""))

    def _fill_table(self, rows):
        self.table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            bpb = row.get("val_bpb")
            cells = [row.get("name", ""), humanize(row.get("params")), humanize(row.get("params_active")),
                     f"{row.get('flops', 0):.3g}", f"{row.get('tokens_per_s', 0):,.0f}",
                     f"{bpb:.3f}" if bpb is not None else "—", " ".join(str(row.get("sample", "")).split())]
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if c == 6:
                    item.setToolTip(text)
                if c == 0:
                    item.setForeground(pg.mkColor(COLOURS[r % len(COLOURS)]))
                self.table.setItem(r, c, item)
