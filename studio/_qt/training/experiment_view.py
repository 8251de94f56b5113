"""A milestone experiment, live (studio.core.experiments): its curves, its table and its before/after
samples as the events arrive, in a window opened by the card's **Run the experiment** button.

The experiment runs on the one worker (studio/_qt/worker.py); a Qt-free ExperimentHistory keeps
what arrived and a ≤ 30 Hz timer redraws only when it changed. A finished folder can be reopened.
"""
from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QDialog,
    QDoubleSpinBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from studio.core.errors import StudioError
from studio.core.experiments.history import ExperimentHistory

COLOURS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9"]  # Okabe–Ito: colour-blind safe
SYMBOLS = ["o", "s", "t", "d", "+", "x"]
FRAME_MS = 33
PLACEHOLDER = {"2022-05-flashattention": "This experiment measures attention kernels: no text samples.",
               "2022-03-chinchilla": "The compute-optimal size appears here when the sweep ends."}
NOISY = {"mean reward"}  # per-step series drawn thin, without symbols
LOG_X = {"2022-03-chinchilla", "2022-05-flashattention", "2024-09-o1"}  # sizes, contexts, samples double


class ExperimentView(QWidget):
    def __init__(self, milestone: str, title: str = "", note: str = "", parent=None):
        super().__init__(parent)
        self.milestone = milestone
        self.history = ExperimentHistory(milestone)
        self.worker = None
        self._drawn = -1
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        head = QLabel(f"<b>{title or milestone}</b>" + (f"<br><span style='font-size:small'>{note}</span>"
                                                        if note else ""))
        head.setWordWrap(True)
        lay.addWidget(head)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("minutes:"))
        self.minutes = QDoubleSpinBox()
        self.minutes.setRange(0.1, 60.0)
        self.minutes.setSingleStep(0.5)
        self.minutes.setValue(3.0)
        self.minutes.setToolTip("The work the experiment is sized for, on one thread")
        bar.addWidget(self.minutes)
        self.start_btn = QPushButton("Start")
        self.stop_btn = QPushButton("Stop")
        self.stop_btn.setEnabled(False)
        self.open_btn = QPushButton("Open…")
        self.open_btn.setToolTip("Reopen a finished experiment folder (experiment.json)")
        for b in (self.start_btn, self.stop_btn, self.open_btn):
            bar.addWidget(b)
        bar.addStretch(1)
        lay.addLayout(bar)
        split = QSplitter(Qt.Vertical)
        self.plot = pg.PlotWidget()
        self.plot.setMinimumHeight(160)
        self.plot.showGrid(x=True, y=True, alpha=0.25)
        self.plot.setLogMode(x=milestone in LOG_X, y=False)
        from studio.core.experiments.history import AXES
        x_label, y_label = AXES.get(milestone, ("", ""))
        self.plot.setLabel("bottom", x_label)
        self.plot.setLabel("left", y_label)
        self.plot.getAxis("left").enableAutoSIPrefix(False)  # "accuracy (x0.001)" read as a unit
        self.legend = self.plot.addLegend(offset=(-10, 10))
        self.curves: dict[str, object] = {}
        split.addWidget(self.plot)
        lower = QSplitter(Qt.Horizontal)
        self.table = QTableWidget(0, 0)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.NoEditTriggers)
        lower.addWidget(self.table)
        self.samples = QPlainTextEdit()
        self.samples.setReadOnly(True)
        self.samples.setPlaceholderText(PLACEHOLDER.get(milestone, "before / after samples"))
        lower.addWidget(self.samples)
        lower.setSizes([420, 260])
        split.addWidget(lower)
        split.setSizes([300, 180])
        lay.addWidget(split, 1)
        self.status = QLabel("Press Start: the experiment runs on one thread and keeps its folder.")
        self.status.setWordWrap(True)
        lay.addWidget(self.status)
        self.start_btn.clicked.connect(lambda: self.start())
        self.stop_btn.clicked.connect(self.stop)
        self.open_btn.clicked.connect(self.open_dialog)
        self.timer = QTimer(self)
        self.timer.setInterval(FRAME_MS)
        self.timer.timeout.connect(self._redraw)
        self.timer.start()

    # ------------------------------------------------------------------ running
    def start(self, out_dir=None, settings=None):
        """Run the experiment on the worker (``settings``: the experiment's own, e.g. tiny ones in tests)."""
        from studio._qt.worker import start_job
        from studio.core.experiments import run
        from studio.core.experiments.common import (
            ExperimentRequest,
            default_experiment_dir,
        )
        if self.worker is not None:
            return None
        out = str(out_dir or default_experiment_dir(self.milestone))
        req = ExperimentRequest(self.milestone, out, minutes=self.minutes.value(), settings=settings)
        self.history.reset(self.milestone)
        self.history.path, self.history.status = out, "running"
        self.status.setText(f"Starting in {out}…")
        self.worker = w = start_job(lambda control: run(req, control), name="archstudio-experiment",
                                    what="the experiment", parent=self, on_event=self.history.feed,
                                    on_failed=self.history.fail, on_ended=self._ended)
        self.start_btn.setEnabled(False)
        self.stop_btn.setEnabled(True)
        return w

    def stop(self):
        if self.worker is not None:
            self.worker.stop()
            self.status.setText("Stopping after this unit of work…")

    def _ended(self):
        self.worker = None
        self.history.ended()
        self.start_btn.setEnabled(True)
        self.stop_btn.setEnabled(False)
        self._redraw(force=True)

    def shutdown(self, timeout_ms: int = 120_000) -> bool:
        return True if self.worker is None else self.worker.shutdown(timeout_ms)

    def open_dialog(self):
        path = QFileDialog.getExistingDirectory(self, "Open an experiment folder")
        if path:
            self.open_folder(path)

    def open_folder(self, path) -> bool:
        try:
            h = ExperimentHistory.from_folder(path)
        except StudioError as exc:
            self.status.setText(str(exc))
            return False
        if h.milestone != self.milestone:
            self.status.setText(f"{path} holds the {h.milestone} experiment, not {self.milestone}")
            return False
        self.history = h
        self._drawn = -1
        self._redraw(force=True)
        return True

    # ------------------------------------------------------------------ drawing
    def _redraw(self, force: bool = False):
        h = self.history
        if h.version == self._drawn and not force:
            return
        self._drawn = h.version
        for i, (name, (xs, ys)) in enumerate(h.series.items()):
            curve = self.curves.get(name)
            if curve is None:
                c = COLOURS[i % len(COLOURS)]
                if "fitted" in name:  # a fit is a line, not measurements
                    curve = self.plot.plot([], [], pen=pg.mkPen(c, width=2, style=Qt.DashLine), name=name)
                elif name in NOISY:  # one value per step: a thin line under the evaluations
                    curve = self.plot.plot([], [], pen=pg.mkPen(pg.mkColor(c).lighter(130), width=1), name=name)
                    curve.setZValue(-1)
                else:
                    curve = self.plot.plot([], [], pen=pg.mkPen(c, width=2), symbol=SYMBOLS[i % len(SYMBOLS)],
                                           symbolSize=6, symbolBrush=c, name=name)
                self.curves[name] = curve
            curve.setData(xs, ys)
        for name in [n for n in self.curves if n not in h.series]:
            self.plot.removeItem(self.curves.pop(name))
            self.legend.removeItem(name)
        self._fill_table(next(reversed(h.tables.values()), []))
        self.samples.setPlainText("\n".join(f"[{label}] {text}" for label, text in h.texts))
        if h.message:
            self.status.setText(h.message)

    def _fill_table(self, rows: list) -> None:
        header, body = (rows[0], rows[1:]) if rows else ((), [])
        body = body[-200:]  # the RL table grows a row per step: the latest ones
        self.table.setColumnCount(len(header))
        self.table.setHorizontalHeaderLabels([str(c) for c in header])
        self.table.setRowCount(len(body))
        for r, row in enumerate(body):
            for c, v in enumerate(row):
                self.table.setItem(r, c, QTableWidgetItem(f"{v:.4g}" if isinstance(v, float) else str(v)))
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)


class ExperimentWindow(QDialog):
    """The experiment in its own window (non-modal): the card stays usable meanwhile."""

    def __init__(self, milestone: str, title: str = "", note: str = "", parent=None):
        super().__init__(parent)
        self.setWindowTitle(f"Experiment — {title or milestone}")
        self.view = ExperimentView(milestone, title, note, self)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.view)
        self.resize(900, 640)

    def closeEvent(self, event):
        self.view.stop()
        self.view.shutdown()
        super().closeEvent(event)


class ExperimentButton(QPushButton):
    """**Run the experiment** under a milestone card that has one (hidden on every other card)."""

    def __init__(self, parent=None):
        super().__init__("Run the experiment", parent)
        self.setToolTip("Run this milestone's idea as a small live experiment (about 3 minutes on one thread)")
        self.milestone, self.title, self.note = None, "", ""
        self.opened = None
        self.clicked.connect(self.open_window)
        self.setVisible(False)

    def show_for(self, milestone: str | None, meta: dict | None = None) -> None:
        from studio.core.experiments import has_experiment
        meta = meta or {}
        self.milestone = milestone if milestone and has_experiment(milestone) else None
        self.title, self.note = str(meta.get("title") or ""), str(meta.get("experiment_note") or "")
        self.setVisible(self.milestone is not None)

    def open_window(self) -> ExperimentWindow | None:
        if self.milestone is None:
            return None
        if self.opened is None or self.opened.view.milestone != self.milestone:
            if self.opened is not None and self.opened.view.worker is not None:
                self.opened.raise_()  # one experiment at a time: its window comes back
                return self.opened
            self.opened = ExperimentWindow(self.milestone, self.title, self.note, self.window())
        self.opened.show()
        self.opened.raise_()
        return self.opened
