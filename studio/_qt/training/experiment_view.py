"""A milestone experiment, live (studio.core.experiments): its curves, its table and its before/after
samples as the events arrive, in a window opened by the card's **Run the experiment** button.

The experiment runs on the one worker (studio/_qt/worker.py); a Qt-free ExperimentHistory keeps
what arrived and a ≤ 30 Hz timer redraws only when it changed. The status line names the stage and
its running time, and until the first point the plot lists the stages done (a long SFT or
pretraining stage is not an empty box). A finished folder can be reopened.
"""
from __future__ import annotations

import time

from PySide6.QtCore import QEvent, Qt, QTimer
from PySide6.QtWidgets import (
    QApplication,
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

from studio._qt.training.experiment_plot import ExperimentPlot
from studio.core.errors import StudioError
from studio.core.experiments.common import Stage
from studio.core.experiments.history import ExperimentHistory, optimum_line

FRAME_MS = 33
PLACEHOLDER = {"2022-05-flashattention": "This experiment measures attention kernels: no text samples.",
               "2022-03-chinchilla": "The compute-optimal size appears here when the sweep ends."}
NO_OPTIMUM = ("The sweep ended without an interior optimum: the best size sits at an edge of the sweep, so no "
              "parabola minimum is claimed. At 3 minutes the budget is large enough for one.")
HEADS = {"running": "The curve fills in when the experiment measures it. So far:",
         "stopped": "Stopped before the first point. It got through:",
         "failed": "It failed before the first point. It got through:"}
STOPPING = "Stopping after this unit of work (the folder keeps what is done; Start continues it)…"
NO_SAMPLES = {"2022-05-flashattention"}  # kernels, not text: the table takes the whole width
O1 = "2024-09-o1"


def cell(v) -> str:
    """A table value as a class reads it: 4 significant digits, thousands grouped (1,104,896 tokens)."""
    if isinstance(v, float):
        return f"{v:,.0f}" if v.is_integer() and 1e4 <= abs(v) < 1e9 else f"{v:.4g}"
    if isinstance(v, int) and not isinstance(v, bool) and abs(v) >= 1e4:
        return f"{v:,}"
    return str(v)


def clock(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 60}:{s % 60:02d}"


class ExperimentView(QWidget):
    def __init__(self, milestone: str, title: str = "", note: str = "", parent=None):
        super().__init__(parent)
        self.milestone = milestone
        self.history = ExperimentHistory(milestone)
        self.worker = None
        self._drawn = -1
        self._stopping = False
        self._stages: list[tuple[str, float]] = []  # (what, when it started) of this run
        self._ended_at = None                       # when it ended (the last stage's time stops there)
        self._notice = ("", 0.0)  # a line that stays over the status for a few seconds
        self._resume = None       # (folder, minutes) of a stopped run: Start continues it there
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        # the note at the body's size: "small" came out under 11 px on a 1366×768 screen
        head = QLabel(f"<b>{title or milestone}</b>" + (f"<br>{note}" if note else ""))
        head.setWordWrap(True)
        head.setTextFormat(Qt.RichText)
        lay.addWidget(head)
        lay.addLayout(self._bar())
        split = QSplitter(Qt.Vertical)
        self.plots = ExperimentPlot(milestone)
        self.plot, self.curves = self.plots.plot, self.plots.curves
        split.addWidget(self.plots)
        lower = QSplitter(Qt.Horizontal)
        self.table = QTableWidget(0, 0)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.NoEditTriggers)
        lower.addWidget(self.table)
        self.samples = QPlainTextEdit()
        self.samples.setReadOnly(True)
        self.samples.setPlaceholderText(PLACEHOLDER.get(milestone, "before / after samples"))
        lower.addWidget(self.samples)
        self.samples.setVisible(milestone not in NO_SAMPLES)
        lower.setSizes([420, 260])
        self.lower = lower
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

    def _bar(self) -> QHBoxLayout:
        bar = QHBoxLayout()
        bar.addWidget(QLabel("minutes:"))
        self.minutes = QDoubleSpinBox()
        self.minutes.setRange(0.1, 60.0)
        self.minutes.setSingleStep(0.5)
        self.minutes.setValue(3.0)
        self.minutes.setToolTip("The work the experiment is sized for, on one thread")
        bar.addWidget(self.minutes)
        self.source = None
        if self.milestone == O1:
            from studio._qt.training.experiment_source import SourceChoice
            bar.addWidget(QLabel("model:"))
            self.source = SourceChoice(self)
            bar.addWidget(self.source)
        self.start_btn = QPushButton("Start")
        self.stop_btn = QPushButton("Stop")
        self.stop_btn.setEnabled(False)
        self.open_btn = QPushButton("Open…")
        self.open_btn.setToolTip("Reopen a finished experiment folder (experiment.json)")
        for b in (self.start_btn, self.stop_btn, self.open_btn):
            bar.addWidget(b)
        bar.addStretch(1)
        return bar

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
        again = self._resume if out_dir is None and self._resume and self._resume[1] == self.minutes.value() else None
        out = str(out_dir or (again[0] if again else default_experiment_dir(self.milestone)))
        source = self.source.source() if self.source is not None else None
        req = ExperimentRequest(self.milestone, out, minutes=self.minutes.value(), settings=settings, source=source)
        self.history.reset(self.milestone)
        self._stages, self._ended_at = [(f"starting in {out}", time.monotonic())], None
        self.history.path, self.history.status = out, "running"
        self._resume = None
        self.status.setText(f"{'Continuing' if again else 'Starting'} in {out}…")
        self.worker = w = start_job(lambda control: run(req, control), name="archstudio-experiment",
                                    what="the experiment", parent=self, on_event=self._feed,
                                    on_failed=self.history.fail, on_ended=self._ended)
        self.start_btn.setEnabled(False)
        self.stop_btn.setEnabled(True)
        return w

    def _feed(self, ev) -> None:
        if isinstance(ev, Stage):
            self._stages.append((ev.what, time.monotonic()))
        self.history.feed(ev)

    def stop(self):
        if self.worker is not None:
            self.worker.stop()
            self.stop_btn.setEnabled(False)  # pressed: the run ends at its next check
            self._stopping = True
            self.status.setText(STOPPING)

    def _ended(self):
        self.worker = None
        self._stopping = False
        self._notice = ("", 0.0)  # the run's end is newer news than any notice
        self._ended_at = time.monotonic()
        self.history.ended()
        if self.history.status == "stopped" and self.history.path:
            self._resume = (self.history.path, self.minutes.value())
        if self.source is not None:
            self.source.refresh()
        self.start_btn.setEnabled(True)
        self.stop_btn.setEnabled(False)
        self._redraw(force=True)

    def shutdown(self, timeout_ms: int = 120_000) -> bool:
        return True if self.worker is None else self.worker.shutdown(timeout_ms)

    def open_dialog(self):
        from studio.core.experiments.common import default_experiment_dir
        where = default_experiment_dir(self.milestone).parent  # where the app keeps them
        path = QFileDialog.getExistingDirectory(self, "Open an experiment folder", str(where) if where.is_dir() else "")
        if path:
            self.open_folder(path)

    def open_folder(self, path) -> bool:
        if self.worker is not None:  # the running job's events would land in the reopened history
            self.say("An experiment is running here: stop it, or wait for it, before opening a folder.")
            return False
        try:
            h = ExperimentHistory.from_folder(path)
        except StudioError as exc:
            self.status.setText(str(exc))
            return False
        except (TypeError, ValueError, KeyError, AttributeError) as exc:  # a field of an unexpected shape
            self.status.setText(f"{path}: cannot show this experiment.json ({type(exc).__name__}: {exc})")
            return False
        if h.milestone != self.milestone:
            self.status.setText(f"{path} holds the {h.milestone} experiment, not {self.milestone}")
            return False
        self.history = h
        self._stages, self._ended_at = [], None
        self._drawn = -1
        self._redraw(force=True)
        return True

    # ------------------------------------------------------------------ drawing
    def changeEvent(self, event):  # noqa: N802  Qt virtual
        """View → Theme changes the application palette; pyqtgraph's colours follow it from here."""
        super().changeEvent(event)
        if event.type() in (QEvent.PaletteChange, QEvent.ApplicationPaletteChange) and hasattr(self, "plots"):
            if self.plots.apply_theme():
                self._drawn = -1

    def say(self, text: str, seconds: float = 8.0) -> None:
        self._notice = (text, time.monotonic() + seconds)
        self.status.setText(text)

    def _status_line(self) -> str:
        h = self.history
        if self._notice[0] and time.monotonic() < self._notice[1]:
            return self._notice[0]
        if self._stopping:
            return STOPPING
        if self.worker is not None and self._stages and h.status == "running":
            what, since = self._stages[-1]
            start = self._stages[0][1]
            rows = next(reversed(h.tables.values()), [])
            at = (f" · {rows[0][0]} {rows[-1][0]}" if len(rows) > 1 and str(rows[0][0]) in ("step", "iteration")
                  else "")  # a long RL stage: its latest step, so the line moves with the table
            return f"{what}{at} — {clock(time.monotonic() - since)} (run {clock(time.monotonic() - start)})"
        if h.status == "stopped" and self._resume:
            return f"Stopped. Start (at {self._resume[1]:g} minutes) continues it in {self._resume[0]}"
        return h.message

    def _waiting_text(self) -> str:
        """The stages so far, while nothing is plotted yet (empty once the first point is in); after
        a stop or a failure before the first point, the stages it got through (not a bare box)."""
        status = self.history.status
        if any(xs for xs, _ in self.history.series.values()) or not self._stages or status not in HEADS:
            return ""
        now, lines = self._ended_at or time.monotonic(), []
        for i, (what, since) in enumerate(self._stages[1:], 1):
            until = self._stages[i + 1][1] if i + 1 < len(self._stages) else None
            mark = "▶" if status == "running" else "■"
            lines.append(f"✓ {what} ({clock(until - since)})" if until else f"{mark} {what} ({clock(now - since)})")
        return HEADS[status] + "\n" + "\n".join(lines[-6:])

    def _redraw(self, force: bool = False):
        h = self.history
        line = self._status_line()
        if line and line != self.status.text():
            self.status.setText(line)  # the running clock ticks even when no event came
        self.plots.show_waiting(self._waiting_text())
        if h.version == self._drawn and not force:
            return
        self._drawn = h.version
        self.plots.draw(h.series)
        self._fill_table(next(reversed(h.tables.values()), []))
        texts = list(h.texts)
        optimum = (h.result or {}).get("optimum")
        if isinstance(optimum, dict) and optimum and not any(label.startswith("compute-optimal") for label, _ in texts):
            texts.append(("compute-optimal", optimum_line(optimum, (h.result or {}).get("paper_tokens_per_param"))))
        if self.milestone == "2022-03-chinchilla":  # the placeholder promised the optimum "when the sweep ends"
            self.samples.setPlaceholderText(NO_OPTIMUM if h.result is not None else PLACEHOLDER[self.milestone])
        text = "\n".join(f"[{label}] {t}" for label, t in texts)
        if text != self.samples.toPlainText():
            self.samples.setPlainText(text)

    def _fill_table(self, rows: list) -> None:
        header, body = (rows[0], rows[1:]) if rows else ((), [])
        body = body[-200:]  # the RL table grows a row per step: the latest ones
        self.table.setColumnCount(len(header))
        self.table.setHorizontalHeaderLabels([str(c) for c in header])
        self.table.setRowCount(len(body))
        for r, row in enumerate(body):
            for c, v in enumerate(row):
                self.table.setItem(r, c, QTableWidgetItem(cell(v)))
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        if body and self.worker is not None:
            self.table.scrollToBottom()  # the latest step in sight, as the curve shows it
        if self.samples.isVisible():  # the table widens to its columns (up to 62 %), the samples get the rest
            bar = self.table.verticalScrollBar()
            need = (self.table.horizontalHeader().length() + self.table.frameWidth() * 2 + 4
                    + (bar.sizeHint().width() if bar.isVisible() or len(body) > 6 else 0))
            sizes = self.lower.sizes()
            total = sum(sizes)
            if total > 0 and sizes[0] < min(need, int(total * 0.62)):
                left = min(need, int(total * 0.62))
                self.lower.setSizes([left, total - left])


class ExperimentWindow(QDialog):
    """The experiment in its own window (non-modal): the card stays usable meanwhile."""

    def __init__(self, milestone: str, title: str = "", note: str = "", parent=None):
        super().__init__(parent)
        self.setWindowTitle(f"Experiment — {title or milestone}")
        self.view = ExperimentView(milestone, title, note, self)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.view)
        screen = (parent.screen() if parent is not None else QApplication.primaryScreen()).availableGeometry()
        # as large as a 1366×768 screen allows with the window frame and a panel: the plot is the point
        self.resize(min(1100, screen.width() - 60), min(680, screen.height() - 60))
        QApplication.instance().aboutToQuit.connect(self.view.shutdown)  # never a running thread at exit

    def reject(self):
        """Esc and the title bar's × (QDialog's closeEvent calls reject) stop a run without waiting
        for it: the main window stays usable while the experiment finishes its unit of work and
        keeps its folder (the button reopens the window, Start continues it)."""
        self.view.stop()
        super().reject()


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
                self.opened.view.say(f"One experiment at a time: stop this one to run {self.title or self.milestone}.")
                self.opened.show()
                self.opened.raise_()  # its window comes back
                return self.opened
            if self.opened is not None:  # the last milestone's finished window makes way
                self.opened.close()
                self.opened.deleteLater()
            self.opened = ExperimentWindow(self.milestone, self.title, self.note, self.window())
        self.opened.show()
        self.opened.raise_()
        return self.opened
