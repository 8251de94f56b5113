"""The experiment view's plot: the result curve and the series beside it, in the theme's colours
(pyqtgraph does not follow the application palette by itself), with text a class can read on a
projected 1366×768 screen and, on a logarithmic x axis, ticks at the measured values (128, 256,
512 tokens; 8 K, 30 K parameters) instead of pyqtgraph's "2·10²".

The key (which colour is which series) stands above each plot, not in it: an in-plot legend
covered the newest points of a rising curve whichever corner it took (ChatGPT's two curves fill
the whole box). Series in other units than the result (the RLHF reward model's score, the KL in nats) go to a
second plot beside it that shares its x axis: on one axis a score of -1.5 squashed the share of
instructions followed (0 to 1) into a flat line. Until the first point arrives the plot says what
the experiment has done so far, so a long first stage (pretraining, SFT) is not an empty box."""
from __future__ import annotations

import math
from html import escape

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QFontMetrics, QPalette
from PySide6.QtWidgets import QApplication, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from studio.core.experiments.history import AXES

COLOURS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9"]  # Okabe–Ito: colour-blind safe
SYMBOLS = ["o", "s", "t", "d", "+", "x"]
TICK_PT = 10       # ≈ 13 px at 96 dpi: the smallest text on the plot
LABEL_PT = 11      # the axis titles
GLYPHS = {"o": "●", "s": "■", "t": "▼", "d": "◆", "+": "+", "x": "×"}  # the key's marks for SYMBOLS
NOISY = {"mean reward"}  # per-step series drawn thin, without symbols
LOG_X = {"2022-03-chinchilla", "2022-05-flashattention", "2024-09-o1"}  # sizes, contexts, samples double
RLHF_SIDE = {"mean reward", "KL to SFT (nats per reply)"}
# milestone -> (series drawn on the second plot, its y axis)
SIDE = {"2022-03-instructgpt": (RLHF_SIDE, "reward-model score · KL to SFT (nats)"),
        "2022-11-chatgpt": (RLHF_SIDE, "reward-model score · KL to SFT (nats)")}


def palette_colours() -> tuple[str, str]:
    """(background, text) of the application's current theme."""
    pal = QApplication.palette()
    return pal.color(QPalette.Base).name(), pal.color(QPalette.Text).name()


def is_dark(background: str) -> bool:
    return pg.mkColor(background).lightness() < 128


def line_colour(colour: str, background: str):
    """A series' colour, lightened on a dark background where the darker Okabe–Ito hues sink."""
    c = pg.mkColor(colour)
    return c.lighter(150) if is_dark(background) and c.lightness() < 110 else c


def tick_label(x: float, k_from: float = 1e4) -> str:
    """A measured x as a learner reads it: 128, 4096, 19.8 K, 1.2 M (``k_from``: where K begins)."""
    if x >= 1e6:
        return f"{x / 1e6:.3g} M"
    if x >= k_from:
        return f"{x / 1e3:.3g} K"
    return f"{x:.0f}" if float(x).is_integer() else f"{x:.3g}"


def log_ticks(xs, most: int = 8, k_from: float = 1e4) -> list[tuple[float, str]]:
    """Ticks at the measured x values of a log axis (at most ``most``, spread evenly)."""
    vals = sorted({float(x) for x in xs if x and x > 0})
    if len(vals) > most:
        step = (len(vals) - 1) / (most - 1)
        vals = [vals[round(i * step)] for i in range(most)]
    return [(math.log10(v), tick_label(v, k_from)) for v in vals]


def _plot_widget(log_x: bool) -> pg.PlotWidget:
    p = pg.PlotWidget()
    p.setMinimumHeight(160)
    p.showGrid(x=True, y=True, alpha=0.25)
    p.setLogMode(x=log_x, y=False)
    p.setMenuEnabled(False)
    for ax in ("left", "bottom"):
        p.getAxis(ax).enableAutoSIPrefix(False)  # "accuracy (x0.001)" read as a unit
    return p


class ExperimentPlot(QWidget):
    def __init__(self, milestone: str, parent=None):
        super().__init__(parent)
        self.milestone = milestone
        self.side_names, side_label = SIDE.get(milestone, (set(), ""))
        self.labels = AXES.get(milestone, ("", ""))
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.plot = _plot_widget(milestone in LOG_X)
        self.key = self._column(lay, self.plot, 3)
        self.side = self.side_key = None
        if self.side_names:
            self.side = _plot_widget(False)
            self.side.setXLink(self.plot)
            self.side_label = side_label
            self.side_key = self._column(lay, self.side, 2)
        self.waiting = QLabel(self.plot)  # what is happening while there is nothing to plot yet
        self.waiting.setAlignment(Qt.AlignCenter)
        self.waiting.setWordWrap(True)
        self.waiting.setAttribute(Qt.WA_TransparentForMouseEvents)
        self.curves: dict[str, object] = {}
        self.marks: dict[str, tuple[str, str]] = {}  # series -> (colour, glyph) in the key
        self._ticks: list = []
        if milestone in LOG_X:  # no "2 3 4 … 9" of an empty log axis before the first point
            self.plot.getAxis("bottom").setTicks([[]])
        self._themed = None
        self.apply_theme()

    # ------------------------------------------------------------------ look
    def apply_theme(self) -> bool:
        """Take the application palette's colours (True if they changed: the curves are made again)."""
        colours = palette_colours()
        if colours == self._themed:
            return False
        self._themed = colours
        self._style(self.plot, self.labels, *colours)
        if self.side is not None:
            self._style(self.side, (self.labels[0], self.side_label), *colours)
        bg = pg.mkColor(colours[0])
        self.waiting.setStyleSheet(f"color: {colours[1]}; background: rgba({bg.red()}, {bg.green()}, {bg.blue()}, 215);"
                                   "padding: 8px;")  # the grid does not run through the words
        for name in list(self.curves):
            self._remove(name)
        return True

    @staticmethod
    def _column(lay, plot, stretch: int) -> QLabel:
        """``plot`` under its key, a line of coloured marks and names that wraps."""
        col = QVBoxLayout()
        col.setSpacing(2)
        key = QLabel()
        key.setTextFormat(Qt.RichText)
        key.setWordWrap(True)
        col.addWidget(key)
        col.addWidget(plot, 1)
        lay.addLayout(col, stretch)
        return key

    @staticmethod
    def _style(plot, labels, background: str, text: str) -> None:
        plot.setBackground(background)
        font = QFont(QApplication.font())
        font.setPointSize(TICK_PT)
        for name, label in zip(("bottom", "left"), labels):
            ax = plot.getAxis(name)
            ax.setPen(pg.mkPen(text))
            ax.setTextPen(pg.mkPen(text))
            ax.setStyle(tickFont=font)
            ax.setLabel(label, **{"color": text, "font-size": f"{LABEL_PT}pt"})
        title = QFont(font)
        title.setPointSize(LABEL_PT)
        # room for the tick labels and the title from the start: pyqtgraph grows the axis only after the
        # first ticks are drawn, and for that frame they sat on the title ("samples pe4 problem")
        plot.getAxis("bottom").setHeight(QFontMetrics(font).height() + QFontMetrics(title).height() + 4)

    def resizeEvent(self, event):  # noqa: N802  Qt virtual
        super().resizeEvent(event)
        self._place_waiting()

    def _place_waiting(self) -> None:
        """The stage list centred on the plot, as wide as its lines (at most the plot's width)."""
        room = self.plot.rect().adjusted(60, 10, -10, -50)
        fm = self.waiting.fontMetrics()  # a word-wrapped label's size hint is narrow: its longest line instead
        longest = max((fm.horizontalAdvance(line) for line in self.waiting.text().split("\n")), default=0)
        width = min(room.width(), longest + 24)
        height = min(room.height(), self.waiting.heightForWidth(width))
        self.waiting.setGeometry(room.x() + (room.width() - width) // 2, room.y() + (room.height() - height) // 2,
                                 width, max(height, 0))

    def show_waiting(self, text: str) -> None:
        if text != self.waiting.text():
            self.waiting.setText(text)
            self._place_waiting()
        self.waiting.setVisible(bool(text))
        if text:
            self.waiting.raise_()

    # ------------------------------------------------------------------ curves
    def _target(self, name: str):
        return self.side if name in self.side_names else self.plot

    def _remove(self, name: str) -> None:
        self._target(name).removeItem(self.curves.pop(name))
        self.marks.pop(name, None)

    def _new_curve(self, i: int, name: str):
        plot = self._target(name)
        c = line_colour(COLOURS[i % len(COLOURS)], self._themed[0])
        if "fitted" in name:  # a fit is a line, not measurements
            self.marks[name] = (c.name(), "╍╍")
            return plot.plot([], [], pen=pg.mkPen(c, width=2, style=Qt.DashLine))
        if name in NOISY:  # one value per step: a thin line under the evaluations
            self.marks[name] = (c.name(), "──")
            faint = pg.mkColor(c)
            faint.setAlphaF(0.6)  # under the evaluations, not over them (bright on the dark theme)
            curve = plot.plot([], [], pen=pg.mkPen(faint, width=1.5))
            curve.setZValue(-1)
            return curve
        self.marks[name] = (c.name(), f"━{GLYPHS[SYMBOLS[i % len(SYMBOLS)]]}━")
        # the first series drawn wider, under the others: where two measurements coincide (FlashAttention's
        # two tiled kernels use the same memory) both colours still show
        width, size = (5, 11) if i == 0 else (2, 7)
        curve = plot.plot([], [], pen=pg.mkPen(c, width=width), symbol=SYMBOLS[i % len(SYMBOLS)],
                          symbolSize=size, symbolBrush=c)
        curve.setZValue(-0.5 if i == 0 else 0)
        return curve

    def draw(self, series: dict) -> None:
        """``series``: name -> (xs, ys), as ExperimentHistory keeps them."""
        for i, (name, (xs, ys)) in enumerate(series.items()):
            curve = self.curves.get(name)
            if curve is None:
                curve = self.curves[name] = self._new_curve(i, name)
            curve.setData(xs, ys)
        for name in [n for n in self.curves if n not in series]:
            self._remove(name)
        for key, plot in ((self.key, self.plot), (self.side_key, self.side)):
            if key is not None:
                html = " &nbsp; ".join(f"<span style='color:{c}'><b>{g}</b></span>&nbsp;{escape(n)}"
                                       for n, (c, g) in self.marks.items() if self._target(n) is plot)
                if html != key.text():
                    key.setText(html)
        if self.milestone in LOG_X:
            k_from = 1e3 if self.milestone == "2022-03-chinchilla" else 1e4  # 9.05 K beside 19.8 K, not 9048
            ticks = log_ticks([x for n, (xs, _) in series.items() if "fitted" not in n for x in xs], k_from=k_from)
            if ticks != self._ticks:
                self._ticks = ticks
                self.plot.getAxis("bottom").setTicks([ticks])
