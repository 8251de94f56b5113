"""The compute planner panel: for the model on screen, 6·N·D, the Chinchilla (20·N) and nanochat
(10.5·N) token targets, what its run has seen, the ETA at the run's measured speed and the
under-trained flag; below, every milestone's published training tokens per parameter across the
timeline against Chinchilla's 20, each bar marked with its provenance.

It takes the StudioModel in ``__init__`` and mirrors the Document (what is on screen) and the
RunState (its run); the figures come from studio.core.classroom.compute_plan, computed in the GUI thread
(pure arithmetic on the graph and one small metrics file).
"""
from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

from studio.core.model.accounting import humanize
from studio.core.classroom.compute_plan import human_duration

BADGE = {"published": "◆", "reported": "◇", "undisclosed": "○"}
BAR = {"published": "#0072B2", "reported": "#E69F00"}
CHINCHILLA, NANOCHAT = "#009E73", "#CC79A7"
HERE = "#D55E00"
TICKS = [1, 2, 5, 10, 20, 50, 100, 200]


def _f(x) -> str:
    return "—" if x is None else f"{x:.3g}".replace("e+", "e")


class PlannerView(QWidget):
    def __init__(self, model, theme=None, parent=None):
        super().__init__(parent)
        from studio.core.classroom.compute_plan import timeline_points
        self.model, self.theme = model, theme
        self.plan = None
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        self.figures = QLabel()
        self.figures.setTextFormat(Qt.RichText)
        self.figures.setWordWrap(True)
        self.figures.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.figures.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Minimum)
        lay.addWidget(self.figures)
        self.points = timeline_points()
        self.chart = pg.PlotWidget()
        self.chart.setMinimumHeight(170)
        self.chart.setMouseEnabled(x=False, y=False)
        self.chart.setMenuEnabled(False)
        self.chart.setLabel("left", "training tokens per parameter")
        self.chart.showGrid(y=True, alpha=0.25)
        lay.addWidget(self.chart, 1)
        self.key = QLabel(f"◆ published · ◇ reported · ○ undisclosed — "
                          f"<span style='color:{CHINCHILLA}'>━</span> Chinchilla 20 per parameter (Hoffmann et al. 2022) · "
                          f"<span style='color:{NANOCHAT}'>┅</span> nanochat 10.5 · "
                          f"<span style='color:{HERE}'>▮</span> on screen")
        self.key.setTextFormat(Qt.RichText)
        self.key.setWordWrap(True)
        lay.addWidget(self.key)
        self._build_chart()
        self.set_theme(theme)
        self._pending = QTimer(self)
        self._pending.setSingleShot(True)
        self._pending.setInterval(0)
        self._pending.timeout.connect(self.refresh)
        model.document.replaced.connect(self._soon)
        model.document.changed.connect(self._soon)
        model.run.changed.connect(self._soon)
        self.refresh()

    # ------------------------------------------------------------------ the chart (built once)
    def _build_chart(self):
        n = len(self.points)
        xs = list(range(n))
        heights, brushes = [], []
        for p in self.points:
            ok = p.tokens_per_param is not None
            heights.append(math.log10(p.tokens_per_param) if ok else 0.0)
            brushes.append(pg.mkBrush(BAR.get(p.tokens_provenance, "#999999")))
        self.bars = pg.BarGraphItem(x=xs, height=heights, width=0.7, brushes=brushes, pen=pg.mkPen(None))
        self.chart.addItem(self.bars)
        self.here = pg.BarGraphItem(x=[0], height=[0], width=0.7, brush=pg.mkBrush(None), pen=pg.mkPen(HERE, width=3))
        self.chart.addItem(self.here)
        for value, colour, style in ((20, CHINCHILLA, Qt.SolidLine), (10.5, NANOCHAT, Qt.DashLine)):
            self.chart.addItem(pg.InfiniteLine(pos=math.log10(value), angle=0, pen=pg.mkPen(colour, width=2, style=style)))
        for i, p in enumerate(self.points):  # undisclosed: a hollow marker on the baseline, no bar
            if p.tokens_per_param is None:
                t = pg.TextItem("○", color="#888888", anchor=(0.5, 1.0))
                t.setPos(i, 0.0)
                self.chart.addItem(t)
        ax = self.chart.getAxis("left")
        ax.setTicks([[(math.log10(v), str(v)) for v in TICKS]])
        bottom = self.chart.getAxis("bottom")
        # two lines per bar: the provenance badge above a short name (23 bars share the width)
        bottom.setTicks([[(i, f"{BADGE.get(p.tokens_provenance, '○')}\n{self._short(p)}") for i, p in enumerate(self.points)]])
        font = self.font()
        font.setPointSizeF(max(7.0, font.pointSizeF() * 0.85))
        bottom.setTickFont(font)
        bottom.setStyle(tickTextOffset=4)
        bottom.setHeight(38)
        self.chart.setYRange(0, math.log10(200), padding=0.02)
        self.chart.setXRange(-0.6, n - 0.4, padding=0)

    @staticmethod
    def _short(p) -> str:
        """A short label under a bar (23 bars share the width of a 1366-pixel screen)."""
        t = p.title.split(" (")[0].replace("OpenAI ", "").replace("Transformer", "Transf.").replace("DeepSeek-", "DS-").replace("Chinchilla", "Chinch.")
        t = t.replace("InstructGPT", "InstrGPT").replace("FlashAttention", "Flash").replace("ChatGPT", "ChatGPT")
        t = t.replace("Mixtral 8x7B", "Mixtral").replace("Kimi ", "")
        return t if len(t) <= 9 else t[:8] + "…"

    def set_theme(self, theme) -> None:
        bg = getattr(theme, "base", None) or "w"
        fg = getattr(theme, "text", None) or "#222222"
        self.chart.setBackground(bg)
        for ax in ("left", "bottom"):
            self.chart.getAxis(ax).setPen(fg)
            self.chart.getAxis(ax).setTextPen(fg)

    # ------------------------------------------------------------------ following the model
    def _soon(self, *_):
        self._pending.start()

    def refresh(self):
        from studio.core.classroom.compute_plan import plan_model
        d = self.model.document
        arch = d.architecture
        if arch is None:
            self.figures.setText("No model on screen.")
            return
        run_dir = self.model.run.run_dir
        scale = "classroom" if "classroom" in arch.scales else next(iter(arch.scales))
        try:
            self.plan = plan_model(arch, scale, run_dir=run_dir if run_dir and (run_dir / "run.yaml").is_file() else None)
        except Exception as exc:  # noqa: BLE001  a half-written run folder must not break the panel
            self.figures.setText(f"Cannot plan {d.title}: {exc}")
            return
        self.figures.setText(self._text(self.plan, d.title))
        mid = d.milestone_id or d.origin
        idx = next((i for i, p in enumerate(self.points) if p.id == mid), None)
        if idx is None:
            self.here.setOpts(x=[0], height=[0], pen=pg.mkPen(None))
        else:
            p = self.points[idx]
            self.here.setOpts(x=[idx], height=[math.log10(p.tokens_per_param) if p.tokens_per_param else 0.08],
                              pen=pg.mkPen(HERE, width=3))

    def _text(self, p, title: str) -> str:
        rows = [f"<b>{title}</b> — {p.scale} scale, <b>{p.params_total:,}</b> parameters"
                + ("" if p.params_active == p.params_total else f" ({p.params_active:,} active per token)") + " ●computed",
                f"Chinchilla optimum 20·N = <b>{humanize(p.chinchilla_tokens)}</b> tokens "
                f"({_f(p.chinchilla_flops)} FLOPs at 6·N·D) · nanochat's 10.5·N = {humanize(p.nanochat_tokens)} tokens"]
        if p.run is None:
            rows.append("No run for this model yet: train it, or prepare the lesson (Help → Prepare the lesson…).")
        elif p.tokens_seen is None:
            rows.append(f"Run {p.run.path}: imported weights — the tokens they were trained on are not recorded.")
        else:
            flag = ("<span style='color:#D55E00'><b>under-trained</b></span>" if p.under_trained
                    else "<b>at or past the Chinchilla optimum</b>")
            speed = (f" · ▲ {p.run.tokens_per_s:,.0f} tokens/s measured → ETA {human_duration(p.eta_chinchilla_s)} to 20·N, "
                     f"{human_duration(p.eta_nanochat_s)} to 10.5·N") if p.run.tokens_per_s else ""
            rows.append(f"Its run has seen ▲ <b>{p.tokens_seen:,}</b> tokens = {p.tokens_per_param_seen:.2f} per "
                        f"parameter ({_f(p.training_flops_seen)} FLOPs): {flag}{speed}")
        pp = p.paper
        if pp is not None and pp.params:
            if pp.training_tokens:
                rows.append(f"Paper scale: {humanize(pp.params)} parameters trained on {BADGE.get(pp.tokens_provenance, '')}"
                            f" {humanize(pp.training_tokens)} tokens = <b>{pp.tokens_per_param:.1f}</b> per parameter, "
                            f"{pp.vs_chinchilla:.2f}× Chinchilla's optimum ({pp.tokens_provenance}: {pp.tokens_source})")
            else:
                rows.append(f"Paper scale: {humanize(pp.params)} parameters; training tokens ○ undisclosed "
                            f"(Chinchilla would want {humanize(pp.chinchilla_tokens)})")
        return "<br>".join(rows)
