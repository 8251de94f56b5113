"""Accounting panel: exact figures at paper and classroom scale, per region, per block on hover,
and a log-scale chart of parameters and KV-cache bytes across the whole timeline.

The panel mirrors the StudioModel's Figures: ``Figures.accounting`` of the document on screen
(cached by document key, version and scale, so scrubbing stays O(1) and an edit recomputes
once), refreshed on ``Figures.changed``. The chart's curves (the published milestones) are
created once and fed with setData; only the marker moves while scrubbing, and it hides while
the document on screen is not a milestone.
"""
from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QGridLayout, QLabel, QScrollArea, QVBoxLayout, QWidget

from studio._qt.text import PROVENANCE_GLYPH, esc, provenance_badge
from studio._qt.theme import LIGHT, Theme, theme_of
from studio.core.model import provenance
from studio.core.model.accounting import human_bytes, humanize
from studio.core.errors import StudioError

ROWS = [("params_total", "Parameters", humanize), ("params_active", "Active / token", humanize),
        ("params_embedding", "Embedding", humanize), ("params_mtp", "MTP module", humanize),
        ("kv_cache_bytes_per_token", "KV cache / token", human_bytes),
        ("cross_kv_bytes_per_source_token", "Cross K/V / source token", human_bytes),
        ("flops_per_token", "FLOPs / token", humanize),
        ("context", "Context", lambda v: f"{v:,}")]


def paper_provenance(arch, scale: str) -> tuple[bool, str]:
    """(figures shown?, provenance word) for a scale, following the preset's disclosure."""
    if scale != "paper":
        return True, "computed"
    d = arch.meta.get("disclosure", "disclosed")
    if d in ("undisclosed", "stand-in"):
        return False, "undisclosed"
    return True, "reported" if d == "reported" else "computed"


class AccountingPanel(QWidget):
    def __init__(self, model, theme: Theme = LIGHT, parent=None):
        super().__init__(parent)
        self.model, self.theme = model, theme
        self.hovered = ""
        if getattr(model, "view", None) is not None:
            model.view.theme_changed.connect(self._on_theme)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        scroll = QScrollArea(self)  # scrolls on a small screen instead of forcing the window taller
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)  # labels wrap instead
        body = QWidget()
        scroll.setWidget(body)
        outer.addWidget(scroll)
        lay = QVBoxLayout(body)
        lay.setContentsMargins(6, 6, 6, 6)
        grid = QGridLayout()
        grid.setHorizontalSpacing(10)
        grid.setVerticalSpacing(2)
        self.cells: dict[tuple[str, str], QLabel] = {}
        for c, head in enumerate(("", "paper", "classroom")):
            lab = QLabel(f"<b>{head}</b>")
            lab.setToolTip({"paper": "The published configuration (never instantiated)",
                            "classroom": "The laptop-trainable version of the same graph"}.get(head, ""))
            grid.addWidget(lab, 0, c)
        self.row_labels = {}
        for r, (key, label, _fmt) in enumerate(ROWS, start=1):
            self.row_labels[key] = QLabel(label)
            grid.addWidget(self.row_labels[key], r, 0)
            for c, scale in enumerate(("paper", "classroom"), start=1):
                cell = QLabel("—")
                cell.setTextInteractionFlags(Qt.TextSelectableByMouse)
                self.cells[(key, scale)] = cell
                grid.addWidget(cell, r, c)
        lay.addLayout(grid)
        self.regions = QLabel()
        self.regions.setWordWrap(True)
        self.regions.setToolTip("Parameters per region at paper scale (repeated regions: all layers)")
        lay.addWidget(self.regions)
        self.block = QLabel("Hover a block to see its share.")
        self.block.setWordWrap(True)
        self.block.setMinimumHeight(self.block.fontMetrics().height() * 2)
        lay.addWidget(self.block)
        self.chart = TimelineChart(model, theme, self)
        lay.addWidget(self.chart, 1)
        self._pending = QTimer(self)
        self._pending.setSingleShot(True)
        self._pending.setInterval(0)
        self._pending.timeout.connect(self.refresh)
        model.figures.changed.connect(lambda: self._pending.start())
        self.refresh()

    def _on_theme(self, _name: str) -> None:
        self.theme = theme_of(self.model)
        self.chart.set_theme(self.theme)

    def _acc(self, scale):
        arch = self.model.document.architecture
        if arch is None or scale not in arch.scales:
            return None
        try:
            return self.model.figures.accounting(scale)
        except (StudioError, TypeError, ValueError):
            return None

    def refresh(self):
        arch = self.model.document.architecture
        if arch is None:
            return
        accs = {s: self._acc(s) for s in ("paper", "classroom")}
        # each figure carries its own provenance and source (studio.core.model.provenance)
        figs = {s: provenance.figures(arch, s, a) for s, a in accs.items() if a is not None}
        for key, _label, fmt in ROWS:
            show_row = True
            if key == "params_mtp":
                show_row = any(a and a.params_mtp for a in accs.values())
            elif key == "cross_kv_bytes_per_source_token":  # encoder-decoder models only
                show_row = any(key in f for f in figs.values())
            self.row_labels[key].setVisible(show_row)
            for scale, acc in accs.items():
                cell = self.cells[(key, scale)]
                cell.setVisible(show_row)
                fig = figs.get(scale, {}).get(key)
                if acc is None or fig is None:
                    cell.setText("—")
                    cell.setToolTip("no such scale, or the settings are invalid" if acc is None else "not in this model")
                    continue
                word = provenance.glyph_word(fig.provenance)
                if fig.value is None:
                    cell.setText(f"{PROVENANCE_GLYPH['undisclosed']} undisclosed")
                    cell.setToolTip("The maker never disclosed this architecture: the graph is an illustrative "
                                    "stand-in and no figure is shown rather than a borrowed one")
                    continue
                cell.setText(f"{fmt(fig.value)} <span style='font-size:small'>{provenance_badge(fig.provenance)}</span>")
                cell.setToolTip("\n".join(x for x in (f"{fig.value:,} exactly · {word}", fig.source, fig.note) if x))
        acc = accs.get("paper") or accs.get("classroom")
        if acc is not None:
            total = max(1, sum(r["params"] for r in acc.per_region.values()))
            parts = []
            for r in ("stem", "encoder", "layer", "head"):
                if r in acc.per_region:
                    d = acc.per_region[r]
                    rep = f" ×{d['repeats']}" if d["repeats"] > 1 else ""
                    parts.append(f"{r}{rep}: <b>{humanize(d['params'])}</b> ({100 * d['params'] / total:.1f} %)")
            shown, _ = paper_provenance(arch, acc.scale)
            self.regions.setText(("By region (" + acc.scale + "): " + " · ".join(parts)) if shown else
                                 f"{PROVENANCE_GLYPH['illustrative']} Illustrative stand-in: the graph shows "
                                 "structure only; no figure at paper scale")
        self.show_block(self.hovered)
        self.chart.refresh_marker()

    def show_block(self, nid: str):
        self.hovered = nid
        arch = self.model.document.architecture
        if not nid or arch is None or nid not in arch.graph.nodes:
            self.block.setText("Hover a block to see its parameters, KV cache and FLOPs.")
            return
        lines = []
        for scale in ("paper", "classroom"):
            acc = self._acc(scale)
            if acc is None or nid not in acc.per_node:
                continue
            c = acc.per_node[nid]
            shown, _ = paper_provenance(arch, scale)
            if not shown:
                lines.append(f"{scale}: undisclosed")
                continue
            rep = f" over {c.repeats} layers" if c.repeats > 1 else ""
            share = 100 * c.params / max(1, acc.params_total)
            kv = f", KV {human_bytes(c.kv_elems * 2)}/token" if c.kv_elems else ""
            lines.append(f"{scale}: {humanize(c.params)} params{rep} ({share:.1f} %), {humanize(c.flops)} FLOPs/token{kv}")
        title = arch.graph.node(nid).spec.title  # the block's name on the graph, not its internal id
        self.block.setText(f"<b>{esc(title)}</b><br>" + "<br>".join(lines))


class TimelineChart(QWidget):
    """pyqtgraph: params and KV bytes per token over every timeline entry (log y), with a marker.

    The plot is built on the first ``load()`` (after the window is painted): importing
    pyqtgraph costs about a second, which the cold start should not pay."""

    def __init__(self, model, theme: Theme, parent=None):
        super().__init__(parent)
        self.model, self.theme = model, theme
        self.plot = None
        self.loaded = False
        self.lay = QVBoxLayout(self)
        self.lay.setContentsMargins(0, 0, 0, 0)
        self.key = QLabel("<span style='color:#0072B2'>●━</span> parameters &nbsp; "
                          "<span style='color:#E69F00'>■┅</span> KV-cache bytes / token &nbsp; "
                          "<span style='color:#D55E00'>┃</span> current (paper scale, log)")
        self.key.setToolTip("Parameters and KV-cache bytes per token (paper scale, log scale) of every "
                            "milestone; the line marks the current one. Gaps: undisclosed.")
        self.key.setWordWrap(True)  # one line wider than a 1366-px screen's dock widened the panel past it
        self.lay.addWidget(self.key)
        self.setMinimumHeight(190)
        model.timeline.index_changed.connect(lambda _i: self.refresh_marker())
        model.timeline.entries_changed.connect(lambda: self.load() if self.loaded else None)  # a user's milestone

    def _build(self):
        import pyqtgraph as pg
        self.pg = pg
        self.plot = pg.PlotWidget()
        self.plot.setMinimumHeight(150)
        self.plot.setLogMode(y=True)
        self.plot.showGrid(y=True, alpha=0.25)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        self.plot.setToolTip(self.key.toolTip())
        self.params_curve = self.plot.plot([], [], pen=pg.mkPen("#0072B2", width=2), symbol="o", symbolSize=6,
                                           symbolBrush="#0072B2", connect="finite")
        self.kv_curve = self.plot.plot([], [], pen=pg.mkPen("#E69F00", width=2, style=Qt.DashLine), symbol="s",
                                       symbolSize=6, symbolBrush="#E69F00", connect="finite")
        self.marker = pg.InfiniteLine(pos=0, angle=90, pen=pg.mkPen("#D55E00", width=2))
        self.plot.addItem(self.marker)
        self.lay.addWidget(self.plot, 1)
        self.set_theme(self.theme)

    def load(self):
        """Compute every entry's figures (cached in the model) and feed the curves once."""
        if self.plot is None:
            self._build()
        pts = self.model.figures.series()
        infos = self.model.timeline.infos
        nan = float("nan")
        xs, params, kv = [], [], []
        for i, p in enumerate(pts):
            if i and infos[i].group != infos[i - 1].group:
                # a gap: no line falls from 2026's trillion-parameter models to the build-your-own recipes
                xs.append(i - 0.5)
                params.append(nan)
                kv.append(nan)
            xs.append(i)
            params.append(p.params_total if p.params_total else nan)
            kv.append(p.kv_bytes if p.kv_bytes else nan)
        self.params_curve.setData(xs, params)
        self.kv_curve.setData(xs, kv)
        ticks, last, last_i = [], None, -9
        for i, info in enumerate(self.model.timeline.infos):
            year = info.date[:4] if info.group == "milestone" else "DIY"
            if year != last and i - last_i >= 2:  # no two labels on neighbouring points
                ticks.append((i, year if year == "DIY" else f"'{year[2:]}"))
                last, last_i = year, i
            elif year != last:
                last = year
        self.plot.getAxis("bottom").setTicks([ticks])
        self.plot.setXRange(-0.5, len(pts) - 0.5, padding=0)
        self.loaded = True
        self.refresh_marker()

    def refresh_marker(self):
        if self.plot is None:
            return
        index = self.model.timeline.index
        self.marker.setVisible(index is not None)  # an edited copy, a project or a run: not on the timeline
        if index is not None and self.marker.value() != index:
            self.marker.setValue(index)

    def marker_index(self) -> int:
        if self.plot is None or not self.marker.isVisible():
            return -1
        return int(round(self.marker.value()))

    def set_theme(self, theme: Theme):
        self.theme = theme
        if self.plot is None:
            return
        self.plot.setBackground(theme.base)
        for ax in ("left", "bottom"):
            self.plot.getAxis(ax).setPen(self.pg.mkPen(theme.muted))
            self.plot.getAxis(ax).setTextPen(self.pg.mkPen(theme.text))
