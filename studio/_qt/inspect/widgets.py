"""Shared pieces of the inspection docks: heat-map plots with token axes and a √-scale colour bar."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QHBoxLayout, QLabel, QPushButton, QWidget

from studio.core.inspect_render import colorize, token_label

GROUP_COLOURS = ("#E69F00", "#0072B2", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#999999")


def palette_colours() -> tuple[QColor, QColor, QColor]:
    """(background, text, masked-cell colour) of the current theme."""
    pal = QApplication.palette()
    base, text = pal.color(QPalette.Base), pal.color(QPalette.Text)
    mask = QColor(base).darker(112) if base.lightness() > 128 else QColor(base).lighter(150)
    return base, text, mask


def rgb_image(values, vmax=1.0, gamma=1.0, mask_rgb=(200, 200, 200)):
    return colorize(values, 0.0, vmax, gamma, nan_rgb=mask_rgb)


def token_ticks(tokens, max_labels: int = 48):
    every = max(1, int(np.ceil(len(tokens) / max_labels)))
    return [[(i + 0.5, token_label(t)[:8]) for i, t in enumerate(tokens) if i % every == 0]]


class HeatPlot(pg.PlotWidget):
    """One enlarged heat map: rows and columns labelled with tokens, (0, 0) at the top left."""

    def __init__(self, xlabel: str, ylabel: str, parent=None):
        base, text, _ = palette_colours()
        super().__init__(parent, background=base)
        self.item = pg.ImageItem(axisOrder="row-major")
        self.addItem(self.item)
        self.getPlotItem().invertY(True)
        self.getPlotItem().setMenuEnabled(False)
        self.setMouseEnabled(False, False)
        self.hideButtons()
        pen = pg.mkPen(text)
        for name, label in (("bottom", xlabel), ("left", ylabel)):
            ax = self.getAxis(name)
            ax.setPen(pen)
            ax.setTextPen(pen)
            ax.setLabel(label, color=text.name())

    def show_rgb(self, rgb: np.ndarray, xticks=None, yticks=None):
        self.item.setImage(rgb, autoLevels=False)
        self.item.setRect(0, 0, rgb.shape[1], rgb.shape[0])
        self.setRange(xRange=(0, rgb.shape[1]), yRange=(0, rgb.shape[0]), padding=0)
        if xticks is not None:
            self.getAxis("bottom").setTicks(xticks)
        if yticks is not None:
            self.getAxis("left").setTicks(yticks)

    def cell_at(self, scene_pos):
        """(row, col) under a scene position, or None."""
        if not self.getPlotItem().vb.sceneBoundingRect().contains(scene_pos):
            return None
        p = self.getPlotItem().vb.mapSceneToView(scene_pos)
        return int(np.floor(p.y())), int(np.floor(p.x()))


class ColourBar(pg.PlotWidget):
    """A vertical legend of the colour scale with ticks in data units (gamma: the scale's power)."""

    def __init__(self, title: str, ticks, gamma: float = 1.0, vmax: float = 1.0, parent=None):
        base, text, _ = palette_colours()
        super().__init__(parent, background=base)
        self.setFixedWidth(92)
        self.getPlotItem().hideAxis("bottom")
        self.getPlotItem().hideAxis("left")
        self.getPlotItem().showAxis("right")
        self.getPlotItem().setMenuEnabled(False)
        self.setMouseEnabled(False, False)
        self.hideButtons()
        ax = self.getAxis("right")
        ax.setPen(pg.mkPen(text))
        ax.setTextPen(pg.mkPen(text))
        ax.setLabel(title, color=text.name())
        self.item = pg.ImageItem(axisOrder="row-major")
        self.addItem(self.item)
        self.set_scale(ticks, gamma, vmax)

    def set_scale(self, ticks, gamma: float = 1.0, vmax: float = 1.0):
        vals = np.linspace(0, vmax, 256)[:, None]
        self.item.setImage(colorize(vals, 0, vmax, gamma), autoLevels=False)
        self.item.setRect(0, 0, 1, 256)
        self.getAxis("right").setTicks([[((v / vmax) ** gamma * 256, f"{v:g}") for v in ticks]])
        self.setRange(xRange=(0, 1), yRange=(0, 256), padding=0)


def button(text: str, tip: str, slot) -> QPushButton:
    b = QPushButton(text)
    b.setToolTip(tip)
    b.clicked.connect(slot)
    return b


def row(*widgets, stretch_at: int | None = None) -> QWidget:
    w = QWidget()
    lay = QHBoxLayout(w)
    lay.setContentsMargins(0, 0, 0, 0)
    for i, x in enumerate(widgets):
        lay.addWidget(x, 1 if i == stretch_at else 0)
    return w


def wrap_label(text: str = "", tip: str = "") -> QLabel:
    lab = QLabel(text)
    lab.setWordWrap(True)
    lab.setToolTip(tip)
    return lab
