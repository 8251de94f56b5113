"""Live training plots (pyqtgraph). Every curve is created once; a ≤ 30 Hz timer feeds them with
setData, and only when the metrics changed. Earlier runs are overlaid from their metrics.jsonl,
dashed: their training loss on the loss plot (comparable with the same tokenizer) and their
validation bits per byte (comparable across tokenizers). A run that finished in this window is
overlaid by itself when the next run starts (race GPT-2, then LLaMA 2, on one plot).

The curves are those of the run of the model on screen (``RunState``): this window's training
run while it belongs to that model, else the run folder's metrics.jsonl (an imported, project
or lesson run), else nothing — never another model's curves."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, Qt, QTimer
from PySide6.QtWidgets import (QApplication, QCheckBox, QComboBox, QFileDialog, QHBoxLayout, QLabel, QPushButton,
                               QStackedWidget, QVBoxLayout, QWidget)

from studio.core.training.history import MetricsHistory, smooth

OVERLAY_COLOURS = ["#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442"]
RAW, SMOOTH, VAL = "#9BB8D3", "#0072B2", "#D55E00"
SMOOTH_ALPHA = 0.1
FRAME_MS = 33  # ≤ 30 redraws a second
EMPTY_TEXT = ("No training run for this model yet. Train it (Train → Start training, F6) and its loss, validation "
              "bits per byte, learning rate, gradient norm and speed appear here; Overlay run… draws an earlier "
              "run beside it.")
AUTO_OVERLAYS = 3  # earlier runs of this window overlaid by themselves when a new run starts


class Overlay:
    """An earlier run drawn over this one: its metrics and its two dashed curves."""

    def __init__(self, label: str, run_dir, history: MetricsHistory, loss_curve, bpb_curve, auto: bool):
        self.label, self.run_dir, self.history = label, Path(run_dir), history
        self.loss_curve, self.bpb_curve, self.auto = loss_curve, bpb_curve, auto


class PlotsPanel(QWidget):
    def __init__(self, session, theme=None, parent=None, run_state=None):
        super().__init__(parent)
        self.session, self.run_state = session, run_state
        self.overlays: list[Overlay] = []
        self.finished_runs: list[tuple[Path, str]] = []  # this window's ended runs (folder, label), oldest first
        self._drawn = -1
        self._drawn_history = None
        self._saved: tuple | None = None  # (run folder, metrics.jsonl mtime, MetricsHistory) read from disk
        self._empty = MetricsHistory(4)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("x axis:"))
        self.x_axis = QComboBox()
        self.x_axis.addItem("step", "step")
        self.x_axis.addItem("tokens seen", "tokens")
        self.x_axis.setToolTip("Plot against optimizer steps or against training tokens seen")
        bar.addWidget(self.x_axis)
        self.log_y = QCheckBox("log y")
        self.log_y.setToolTip("Logarithmic y axis for the loss and bits-per-byte plots")
        bar.addWidget(self.log_y)
        self.overlay_btn = QPushButton("Overlay run…")
        self.overlay_btn.setToolTip("Overlay an earlier run (its metrics.jsonl), dashed: its training loss on the "
                                    "loss plot and its validation bits per byte, to race architectures on the same "
                                    "budget. A run that finished here is overlaid by itself when the next starts")
        self.clear_btn = QPushButton("Clear overlays")
        self.clear_btn.setEnabled(False)
        bar.addWidget(self.overlay_btn)
        bar.addWidget(self.clear_btn)
        self.key = QLabel(f"<span style='color:{RAW}'>━</span> train loss (raw) &nbsp; "
                          f"<span style='color:{SMOOTH}'>━</span> train loss (smoothed, EMA) &nbsp; "
                          f"<span style='color:{VAL}'>●━</span> validation")
        self.key.setTextFormat(Qt.RichText)
        bar.addWidget(self.key)
        self.overlay_key = QLabel("")
        self.overlay_key.setTextFormat(Qt.RichText)
        self.overlay_key.setWordWrap(True)
        bar.addWidget(self.overlay_key, 1)
        lay.addLayout(bar)

        self.canvas = pg.GraphicsLayoutWidget()
        self.canvas.setMinimumHeight(150)
        self.empty_note = QLabel(EMPTY_TEXT)  # no run yet: words, not five empty 0…1 axes
        self.empty_note.setAlignment(Qt.AlignCenter)
        self.empty_note.setWordWrap(True)
        self.pages = QStackedWidget()
        self.pages.addWidget(self.empty_note)
        self.pages.addWidget(self.canvas)
        lay.addWidget(self.pages, 1)
        # one row: in a bottom dock height is scarce, width is not
        self.loss_plot = self._plot(0, "loss (nats/token)")
        self.raw_curve = self.loss_plot.plot([], [], pen=pg.mkPen(RAW, width=1))
        self.smooth_curve = self.loss_plot.plot([], [], pen=pg.mkPen(SMOOTH, width=2))
        self.val_curve = self.loss_plot.plot([], [], pen=pg.mkPen(VAL, width=2), symbol="o", symbolSize=5,
                                             symbolBrush=VAL)
        self.bpb_plot = self._plot(1, "bits per byte (train, val)")
        # the training loss in bits per byte (smoothed): comparable across tokenizers, unlike nats/token
        self.train_bpb_curve = self.bpb_plot.plot([], [], pen=pg.mkPen(SMOOTH, width=2))
        self.bpb_curve = self.bpb_plot.plot([], [], pen=pg.mkPen(VAL, width=2), symbol="o", symbolSize=5, symbolBrush=VAL)
        self.lr_plot = self._plot(2, "learning rate")
        self.lr_curve = self.lr_plot.plot([], [], pen=pg.mkPen("#009E73", width=2))
        self.gn_plot = self._plot(3, "grad norm (before clip)")
        self.gn_curve = self.gn_plot.plot([], [], pen=pg.mkPen("#CC79A7", width=1))
        self.tps_plot = self._plot(4, "tokens / s")
        self.tps_curve = self.tps_plot.plot([], [], pen=pg.mkPen("#E69F00", width=1))
        self.canvas.ci.layout.setColumnStretchFactor(0, 2)
        self.canvas.ci.layout.setColumnStretchFactor(1, 2)
        for c in (2, 3, 4):
            self.canvas.ci.layout.setColumnStretchFactor(c, 1)
        self.set_theme(theme)
        from PySide6.QtGui import QPalette
        pal = QApplication.palette()
        self._themed = (pal.color(QPalette.Base).name(), pal.color(QPalette.Text).name())  # built with these

        self.x_axis.currentIndexChanged.connect(self.redraw)
        self.log_y.toggled.connect(self._set_log)
        self.overlay_btn.clicked.connect(self.choose_overlay)
        self.clear_btn.clicked.connect(self.clear_overlays)
        session.state_changed.connect(self._session_state)
        session.prepared.connect(self._run_prepared)
        self._overlays_for = None if run_state is None else run_state.key  # the model the overlays were drawn for
        if run_state is not None:
            run_state.changed.connect(self._follow_model)
        self.timer = QTimer(self)
        self.timer.setInterval(FRAME_MS)
        self.timer.timeout.connect(self.tick)
        self.timer.start()

    def _plot(self, col, title):
        p = self.canvas.addPlot(row=0, col=col, title=title)
        p.showGrid(x=True, y=True, alpha=0.2)
        p.setMenuEnabled(False)
        p.getAxis("left").setWidth(44)
        return p

    def set_theme(self, theme) -> None:
        bg = getattr(theme, "base", None) or "w"
        fg = getattr(theme, "text", None) or "#222222"
        self.canvas.setBackground(bg)
        for p in (self.loss_plot, self.bpb_plot, self.lr_plot, self.gn_plot, self.tps_plot):
            for ax in ("left", "bottom"):
                p.getAxis(ax).setPen(fg)
                p.getAxis(ax).setTextPen(fg)
            p.titleLabel.setText(p.titleLabel.text, color=fg, size="9pt")

    def changeEvent(self, event):  # noqa: N802  Qt virtual
        """View → Theme changes the application palette; pyqtgraph's colours do not follow by themselves."""
        super().changeEvent(event)
        if event.type() in (QEvent.PaletteChange, QEvent.ApplicationPaletteChange):
            from types import SimpleNamespace

            from PySide6.QtGui import QPalette
            pal = QApplication.palette()
            colours = (pal.color(QPalette.Base).name(), pal.color(QPalette.Text).name())
            if colours != getattr(self, "_themed", colours):  # (events during construction: no change yet)
                self._themed = colours
                self.set_theme(SimpleNamespace(base=colours[0], text=colours[1]))

    # ------------------------------------------------------------------ feeding
    @property
    def history(self) -> MetricsHistory:
        """The metrics of the run that belongs to the model on screen."""
        r, s = self.run_state, self.session
        if r is None or (s.key is not None and s.key == r.key):
            return s.history
        rd = r.run_dir
        if rd is None:
            return self._empty
        path = rd / "metrics.jsonl"
        try:
            mtime = path.stat().st_mtime_ns
        except OSError:
            return self._empty
        if self._saved is None or self._saved[:2] != (rd, mtime):
            from studio.core import errors as E
            from studio.core.runs.rundir import RunDir
            h = MetricsHistory(4096)
            try:
                for rec in RunDir(rd).metrics():
                    h.add_record(rec)
            except E.StudioError:
                pass  # unreadable metrics: the plots stay empty rather than show another run
            self._saved = (rd, mtime, h)
        return self._saved[2]

    def tick(self) -> None:
        h = self.history
        if h is not self._drawn_history or h.version != self._drawn:
            self.redraw()

    def redraw(self) -> None:
        h = self.history
        self._drawn, self._drawn_history = h.version, h
        x = self.x_axis.currentData()
        loss = h.series("loss", x)
        self.raw_curve.setData(loss.x, loss.y)
        self.smooth_curve.setData(loss.x, smooth(loss.y, SMOOTH_ALPHA))
        bpb = h.series("bpb", x)
        self.train_bpb_curve.setData(bpb.x, smooth(bpb.y, SMOOTH_ALPHA))
        for curve, name in ((self.val_curve, "val_loss"), (self.bpb_curve, "val_bpb"), (self.lr_curve, "lr"),
                            (self.gn_curve, "grad_norm"), (self.tps_curve, "tokens_per_s")):
            s = h.series(name, x)
            curve.setData(s.x, s.y)
        for o in self.overlays:
            s = o.history.series("val_bpb", x)
            o.bpb_curve.setData(s.x, s.y)
            s = o.history.series("loss", x)
            o.loss_curve.setData(s.x, smooth(s.y, SMOOTH_ALPHA))
        has_data = bool(self.overlays) or any(len(h.series(n, x).x) for n in ("loss", "val_loss", "lr"))
        self.pages.setCurrentWidget(self.canvas if has_data else self.empty_note)

    def _set_log(self, on: bool) -> None:
        self.loss_plot.setLogMode(y=on)
        self.bpb_plot.setLogMode(y=on)

    # ------------------------------------------------------------------ overlays
    def add_overlay(self, run_dir, auto: bool = False) -> str:
        """Overlay an earlier run; returns its label. Raises StudioError for a folder without metrics."""
        from studio.core import errors as E
        from studio.core.runs.rundir import RunDir
        if any(o.run_dir == Path(run_dir) for o in self.overlays):
            return next(o.label for o in self.overlays if o.run_dir == Path(run_dir))
        run = RunDir(run_dir)
        records = run.metrics()
        if not any("val_bpb" in r or "loss" in r for r in records):
            raise E.StudioError(f"{run_dir}: no training or validation metrics (metrics.jsonl) to overlay")
        oh = MetricsHistory(2048)
        for r in records:
            oh.add_record(r)
        label = self._run_label(run_dir)
        colour = OVERLAY_COLOURS[len(self.overlays) % len(OVERLAY_COLOURS)]
        pen = pg.mkPen(colour, width=2, style=Qt.DashLine)
        self.overlays.append(Overlay(label, run_dir, oh, self.loss_plot.plot([], [], pen=pen),
                                     self.bpb_plot.plot([], [], pen=pen), auto))
        self._update_key()
        self.redraw()
        return label

    def choose_overlay(self) -> None:
        from studio.core import errors as E
        from studio._qt.dialogs.folders import app_folder, remember, start_dir
        folder = QFileDialog.getExistingDirectory(self, "Overlay an earlier run: choose its run folder",
                                                  start_dir("run", fallback=app_folder("runs")))
        remember("run", folder)
        if not folder:
            return
        try:
            self.add_overlay(folder)
        except E.StudioError as exc:
            self.overlay_key.setText(str(exc))

    def clear_overlays(self) -> None:
        for o in self.overlays:
            self.loss_plot.removeItem(o.loss_curve)
            self.bpb_plot.removeItem(o.bpb_curve)
        self.overlays.clear()
        self.finished_runs.clear()  # cleared means cleared: the next run starts on a clean plot
        self._update_key()
        self.redraw()

    def _follow_model(self) -> None:
        """Another model on screen (a milestone, an import): the earlier runs drawn by themselves
        over the previous model's run go with it (issue 22 L12: after an import, three unrelated
        runs stayed drawn); overlays the user chose stay until cleared."""
        key = self.run_state.key
        if key == self._overlays_for:
            return
        self._overlays_for = key
        mine = [o for o in self.overlays if o.auto]
        for o in mine:
            self.loss_plot.removeItem(o.loss_curve)
            self.bpb_plot.removeItem(o.bpb_curve)
            self.overlays.remove(o)
        if mine:
            self._update_key()
            self.redraw()

    # ------------------------------------------------------------------ the earlier run, by itself
    def _session_state(self, state: str) -> None:
        rd = self.session.info.get("run_dir") if state == "idle" else None
        if rd and (Path(rd) / "metrics.jsonl").is_file():
            entry = (Path(rd), self._run_label(rd))
            self.finished_runs = [r for r in self.finished_runs if r[0] != entry[0]] + [entry]

    def _run_prepared(self, info: dict) -> None:
        """A new run starts: the runs that ended here before it are drawn over it (a race on the
        same budget); they go when another model comes on screen (_follow_model)."""
        from studio.core import errors as E
        new = Path(info.get("run_dir", ""))
        self._overlays_for = self.run_state.key if self.run_state is not None else None
        for rd in [rd for rd, _ in self.finished_runs if rd != new][-AUTO_OVERLAYS:]:
            try:
                self.add_overlay(rd, auto=True)
            except E.StudioError:
                pass  # its metrics went away meanwhile: nothing to draw

    @staticmethod
    def _run_label(run_dir) -> str:
        from studio.core.runs.rundir import RunDir
        try:
            cfg = RunDir(run_dir).read_config()
            return f"{cfg.get('model', Path(run_dir).name)} ({cfg.get('tokenizer', {}).get('kind', '?')})"
        except Exception:  # noqa: BLE001  a run without run.yaml still has a name
            return Path(run_dir).name

    def _update_key(self) -> None:
        parts = [f"<span style='color:{VAL}'>━</span> this run"] if self.overlays else []
        for i, o in enumerate(self.overlays):
            word = "earlier run: " if o.auto else ""
            parts.append(f"<span style='color:{OVERLAY_COLOURS[i % len(OVERLAY_COLOURS)]}'>┅</span> {word}{o.label}")
        self.overlay_key.setText(" &nbsp; ".join(parts))
        self.clear_btn.setEnabled(bool(self.overlays))

    def overlay_points(self, index: int, name: str) -> int:
        """How many points overlay ``index`` shows on the "loss" or "val_bpb" plot (for tests)."""
        o = self.overlays[index]
        xs, _ = (o.loss_curve if name == "loss" else o.bpb_curve).getData()
        return 0 if xs is None else int(np.size(xs))

    def curve_points(self, name: str) -> int:
        """How many points a curve shows (for tests)."""
        curve = {"loss": self.raw_curve, "val_loss": self.val_curve, "val_bpb": self.bpb_curve, "lr": self.lr_curve,
                 "bpb": self.train_bpb_curve,
                 "grad_norm": self.gn_curve, "tokens_per_s": self.tps_curve}[name]
        xs, _ = curve.getData()
        return 0 if xs is None else int(np.size(xs))

