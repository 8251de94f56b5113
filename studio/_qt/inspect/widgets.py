"""Shared pieces of the inspection docks: heat-map plots with token axes and a √-scale colour bar."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QColor, QPalette
from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import QApplication, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from studio.core.inspect.inspect_render import colorize

GROUP_COLOURS = ("#E69F00", "#0072B2", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#999999")


def palette_colours() -> tuple[QColor, QColor, QColor]:
    """(background, text, masked-cell colour) of the current theme."""
    pal = QApplication.palette()
    base, text = pal.color(QPalette.Base), pal.color(QPalette.Text)
    # masked cells: a neutral grey well away from the map's darkest purple in both themes
    mask = QColor("#dcdfe3") if base.lightness() > 128 else QColor("#4a4f57")
    return base, text, mask


def rgb_image(values, vmax=1.0, gamma=1.0, mask_rgb=(200, 200, 200)):
    return colorize(values, 0.0, vmax, gamma, nan_rgb=mask_rgb)


def attention_images(ins, mask_rgb) -> list[list[np.ndarray]]:
    """Per attention block: RGB of each head, then of the head mean (pure numpy: runs in the job thread)."""
    from studio.core.inspect.inspect_render import ATTN_GAMMA
    out = []
    for a in ins.attention:
        keep = a.allowed()
        out.append([rgb_image(np.where(keep, w, np.nan), 1.0, ATTN_GAMMA, mask_rgb) for w in (*a.weights, a.mean)])
    return out


def thin_ticks(labels, pixels: float, px_per_label: float):
    """[(position, text)] for cell-centred labels, thinned so they never overlap in ``pixels``."""
    fit = max(1, int(pixels / px_per_label))
    every = max(1, int(np.ceil(len(labels) / fit)))
    return [[(i + 0.5, lab) for i, lab in enumerate(labels) if i % every == 0]]


class HeatPlot(pg.PlotWidget):
    """One enlarged heat map: rows and columns labelled with tokens, (0, 0) at the top left."""

    def __init__(self, xlabel: str, ylabel: str, parent=None, square: bool = False):
        base, text, _ = palette_colours()
        super().__init__(parent, background=base)
        if square:  # attention maps: keep cells square so diagonals (previous-token heads) read at 45°
            self.getPlotItem().vb.setAspectLocked(True)
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
            ax.setStyle(hideOverlappingLabels=False)  # the first token (BOS) sits at the axis end: keep it

    def show_rgb(self, rgb: np.ndarray, xlabels=None, ylabels=None):
        """xlabels/ylabels: one string per column/row; thinned to what the current size can show."""
        self.item.setImage(rgb, autoLevels=False)
        self.item.setRect(0, 0, rgb.shape[1], rgb.shape[0])
        self.setRange(xRange=(0, rgb.shape[1]), yRange=(0, rgb.shape[0]), padding=0)
        self._labels = (xlabels, ylabels)
        self._apply_ticks()

    def _apply_ticks(self):
        xlabels, ylabels = getattr(self, "_labels", (None, None))
        if getattr(self, "plotItem", None) is None:  # resize events arrive during construction
            return
        vb = self.getPlotItem().vb
        try:  # screen pixels per data cell (the view may be letter-boxed when the aspect is locked)
            px, py = vb.viewPixelSize()
        except Exception:  # noqa: BLE001  no geometry yet
            return
        if xlabels is not None:
            longest = max((len(s) for s in xlabels), default=1)
            self.getAxis("bottom").setTicks(thin_ticks(xlabels, len(xlabels) / max(px, 1e-9), 9 + 7 * min(longest, 8)))
        if ylabels is not None:
            self.getAxis("left").setTicks(thin_ticks(ylabels, len(ylabels) / max(py, 1e-9), 15))

    def resizeEvent(self, ev):
        super().resizeEvent(ev)
        self._apply_ticks()

    def showEvent(self, ev):
        super().showEvent(ev)
        self._apply_ticks()

    def cell_at(self, scene_pos):
        """(row, col) under a scene position, or None."""
        if not self.getPlotItem().vb.sceneBoundingRect().contains(scene_pos):
            return None
        p = self.getPlotItem().vb.mapSceneToView(scene_pos)
        return int(np.floor(p.y())), int(np.floor(p.x()))


class ColourBar(pg.PlotWidget):
    """A vertical legend of the colour scale with ticks in data units (gamma: the scale's power)."""

    def __init__(self, title: str, ticks, gamma: float = 1.0, vmax: float = 1.0, parent=None, fmt: str = "{:g}"):
        base, text, _ = palette_colours()
        super().__init__(parent, background=base)
        self.fmt = fmt
        self.setFixedWidth(92)
        self.setMinimumHeight(110)
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
        self.vmax = vmax
        self.getAxis("right").setTicks([[((v / vmax) ** gamma * 256, self.fmt.format(v)) for v in ticks]])
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


def restyle_plot(plot, base: QColor, text: QColor) -> None:
    """Background, axes, axis labels and title of a PlotWidget in the current theme's colours."""
    plot.setBackground(base)
    pen = pg.mkPen(text)
    item = plot.getPlotItem()
    for name in ("left", "bottom", "right"):
        ax = item.getAxis(name)
        ax.setPen(pen)
        ax.setTextPen(pen)
        if ax.labelText:
            ax.setLabel(ax.labelText, color=text.name())
    if item.titleLabel.text:
        item.setTitle(item.titleLabel.text, color=text.name())


def bold(label: QLabel) -> QLabel:
    """Bold by font, not by style sheet: a style-sheeted label kept the old theme's text colour."""
    f = label.font()
    f.setBold(True)
    label.setFont(f)
    return label


class FollowsPalette:
    """Mixed into a view: ``retheme()`` runs when the application palette changes (View → Theme);
    pyqtgraph's backgrounds and pens are set once and do not follow the palette by themselves."""

    def remember_palette(self) -> None:
        """Call at the end of ``__init__``: the colours the view was built with."""
        self._themed = tuple(c.name() for c in palette_colours())

    def changeEvent(self, event):  # noqa: N802  Qt virtual
        super().changeEvent(event)
        if event.type() in (QEvent.PaletteChange, QEvent.ApplicationPaletteChange) and hasattr(self, "_themed"):
            key = tuple(c.name() for c in palette_colours())
            if key != self._themed:
                self._themed = key
                self.retheme()


class FitsViewport:
    """Mixed into a dock's view: inside a resizable scroll area it takes the viewport's height
    (down to its minimum) instead of its preferred height. A word-wrapped label makes the layout
    height-for-width, and QScrollArea then sizes the widget to the sum of preferred heights: the
    routing map grew past a 768-px screen and showed experts E0-E1 only."""

    def heightForWidth(self, width: int) -> int:  # noqa: N802  Qt virtual
        return self.minimumSizeHint().height()


def note_page(text: str, button_text: str = "", slot=None) -> tuple[QWidget, QLabel, QPushButton | None]:
    """A page that explains why a view is empty and what to do, instead of empty axes."""
    page = QWidget()
    lay = QVBoxLayout(page)
    lay.addStretch(1)
    label = QLabel(text)
    label.setWordWrap(True)
    label.setAlignment(Qt.AlignCenter)
    label.setTextFormat(Qt.RichText)
    lay.addWidget(label)
    btn = None
    if button_text:
        btn = QPushButton(button_text)
        btn.clicked.connect(slot)
        lay.addWidget(btn, 0, Qt.AlignHCenter)
    lay.addStretch(1)
    return page, label, btn
