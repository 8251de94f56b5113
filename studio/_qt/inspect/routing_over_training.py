"""The Routing dock's "Over training" tab: expert load per step, the auxiliary loss and the
balancing bias of the run on screen.

It draws the run's :class:`~studio.core.inspect.routing_history.RoutingHistory` (in RunState,
filled on the GUI thread from the training job's step events) and subscribes to it: a step
starts a 250 ms single-shot timer, so a fast run is redrawn at most 4 times a second and an
idle window never polls.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QGridLayout, QLabel, QStackedWidget, QWidget

from studio._qt.inspect.widgets import ColourBar, restyle_plot, rgb_image, row, thin_ticks

IDLE_NOTE = ("No run is training this model in this window, so there is no routing over training to "
             "show. Train it (Train → Start training, F6): expert load over steps, the auxiliary loss "
             "and DeepSeek-V3's balancing bias then appear here as it learns.")


def style_plot(plot, text, left: str, bottom: str):
    for name, label in (("left", left), ("bottom", bottom)):
        ax = plot.getAxis(name)
        ax.setPen(pg.mkPen(text))
        ax.setTextPen(pg.mkPen(text))
        ax.setLabel(label, color=text.name())
    plot.setMenuEnabled(False)
    plot.setMouseEnabled(False, False)
    plot.hideButtons()


class RoutingOverTraining(QStackedWidget):
    """Words until the run on screen records routing, then the three plots.

    ``controller.history``: the RoutingHistory to draw now (the InspectController's, following
    RunState); ``wanted_layer()``: (module name, index) of the MoE layer the dock shows."""

    def __init__(self, controller, wanted_layer: Callable[[], tuple[str, int]], base, text, moe, parent=None):
        super().__init__(parent)
        self._ctl, self._wanted_layer, self._text = controller, wanted_layer, text
        self._drawn, self._drawn_version = None, -1  # the RoutingHistory drawn, and its version
        self._bound = None  # the RoutingHistory listened to
        self.note = QLabel(IDLE_NOTE)
        self.note.setWordWrap(True)
        self.load_plot = pg.PlotWidget(background=base)
        style_plot(self.load_plot, text, "expert", "step")
        self.load_img = pg.ImageItem(axisOrder="row-major")
        self.load_plot.addItem(self.load_img)
        self.load_plot.setToolTip("Fraction of routed tokens per expert at each step (brighter = more load)")
        self.load_cbar = ColourBar("share of tokens", (0, 0.5, 1), fmt="{:.0%}")
        self.aux_plot = pg.PlotWidget(background=base)
        style_plot(self.aux_plot, text, "aux loss", "step")
        self.aux_curve = self.aux_plot.plot(pen=pg.mkPen(moe, width=2))
        self.bias_plot = pg.PlotWidget(background=base)
        style_plot(self.bias_plot, text, "selection bias", "step")
        self.bias_curves: list = []
        for p in (self.load_plot, self.aux_plot, self.bias_plot):
            p.setMinimumSize(160, 110)
        self.idle = QLabel(IDLE_NOTE)  # words, not three empty −400…400 axes, until a run trains
        self.idle.setWordWrap(True)
        self.idle.setAlignment(Qt.AlignLeft | Qt.AlignTop)
        plots = QWidget()
        tg = QGridLayout(plots)
        tg.addWidget(self.note, 0, 0, 1, 3)
        tg.addWidget(row(self.load_plot, self.load_cbar, stretch_at=0), 1, 0)
        tg.addWidget(self.aux_plot, 1, 1)
        tg.addWidget(self.bias_plot, 1, 2)
        for col, stretch in enumerate((3, 2, 2)):
            tg.setColumnStretch(col, stretch)
        tg.setRowStretch(1, 1)
        self.addWidget(self.idle)
        self.addWidget(plots)
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(250)
        self.timer.timeout.connect(self.refresh)

    def follow(self) -> None:
        """Listen to the history of the run on screen (each run has its own); call on RunState changes."""
        import shiboken6
        if not shiboken6.isValid(self):  # RunState (psygnal) may outlive this widget
            return
        h = self._ctl.history
        if h is self._bound:
            return
        if self._bound is not None:
            self._bound.changed.disconnect(self._history_changed)
        self._bound = h
        h.changed.connect(self._history_changed)
        self._history_changed()

    def _history_changed(self) -> None:
        import shiboken6
        if shiboken6.isValid(self) and not self.timer.isActive():
            self.timer.start()

    def redraw(self) -> None:
        """Draw again now (another layer, another theme)."""
        self._drawn_version = -1
        self.refresh()

    def retheme(self, base, text) -> None:
        self._text = text
        for plot in (self.load_plot, self.load_cbar, self.aux_plot, self.bias_plot):
            restyle_plot(plot, base, text)
        self.redraw()

    def _clear(self) -> None:
        """Another model's run: none of the previous run's curves stay."""
        self.note.setText(IDLE_NOTE)
        self.setCurrentWidget(self.idle)
        self.load_img.clear()
        self.aux_curve.setData([], [])
        for c in self.bias_curves:
            c.setData([], [])

    def refresh(self) -> None:
        h = self._ctl.history
        if h is not self._drawn:
            self._drawn, self._drawn_version = h, -1
            self._clear()
        snap = h.snapshot() if h.version != self._drawn_version else None
        if snap is None or not snap.layers:
            return
        self._drawn_version = snap.version
        self.setCurrentIndex(1)  # the plots, now that a run records routing
        name, index = self._wanted_layer()
        i = snap.layers.index(name) if name in snap.layers else min(index, len(snap.layers) - 1)
        steps = snap.steps
        self.note.setText(f"Training: {snap.layers[i]} over {len(steps)} recorded steps (up to step {steps[-1]}); "
                          f"load CV now {snap.cv(i)[-1]:.2f}; never chosen lately: "
                          f"{', '.join(f'E{e}' for e in snap.collapsed(i, last=20)) or 'none'}")
        self._draw_load(snap.load[i], steps)
        aux = snap.aux[i]
        ok = np.isfinite(aux)
        self.aux_curve.setData(steps[ok], aux[ok])
        self.aux_plot.setTitle("auxiliary balance loss" if ok.any() else "no auxiliary loss in this model",
                               color=self._text.name())
        self._draw_bias(snap.bias[i], steps)

    def _draw_load(self, load, steps) -> None:
        vmax = max(float(load.max()), 1e-9)
        self.load_img.setImage(rgb_image(load.T, vmax), autoLevels=False)
        self.load_cbar.set_scale((0, vmax / 2, vmax), vmax=vmax)
        axis_px = max(self.load_plot.getPlotItem().vb.height(), 1.0)
        self.load_plot.getAxis("left").setTicks(thin_ticks([f"E{e}" for e in range(load.shape[1])], axis_px, 15))
        span = max(int(steps[-1] - steps[0]), 1) * len(steps) / max(len(steps) - 1, 1)  # one column per record
        self.load_img.setRect(float(steps[0]), 0, span, load.shape[1])
        self.load_plot.setRange(xRange=(float(steps[0]), float(steps[0]) + span), yRange=(0, load.shape[1]), padding=0)
        self.load_plot.setTitle(f"expert load per step (yellow = {vmax:.0%} of tokens)", color=self._text.name())

    def _draw_bias(self, bias, steps) -> None:
        while len(self.bias_curves) < bias.shape[1]:
            k = len(self.bias_curves)
            self.bias_curves.append(self.bias_plot.plot(pen=pg.mkPen(pg.intColor(k, bias.shape[1]), width=1.5)))
        for k, c in enumerate(self.bias_curves):
            c.setData(steps, bias[:, k]) if k < bias.shape[1] else c.setData([], [])
        moved = bool(np.abs(bias).max() > 0) if bias.size else False
        self.bias_plot.setTitle("aux-loss-free bias per expert" if moved else "balancing bias unused (all zero)",
                                color=self._text.name())
