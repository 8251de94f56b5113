"""MoE routing dock: token × expert gate map per layer, load histogram with CV, router entropy,
collapsed experts; and, while training, expert load over steps, aux loss and the balancing bias.

Plot items are created once and fed with setImage/setOpts/setData. The training history is the
run's :class:`~studio.core.inspect.routing_history.RoutingHistory` in RunState, filled on the GUI
thread from step events; the view subscribes to it and redraws at most 4 times a second.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QComboBox, QLabel, QSplitter, QStackedWidget, QTabWidget, QVBoxLayout,
                               QWidget)

from studio._qt.inspect.routing_over_training import RoutingOverTraining, style_plot
from studio._qt.inspect.widgets import (ColourBar, FitsViewport, FollowsPalette, HeatPlot, bold, note_page,
                                        palette_colours, restyle_plot, rgb_image, row, wrap_label)
from studio._qt.theme import FAMILY_COLOURS
from studio.core.inspect.inspect_render import token_label

NO_MOE = ("This model has no mixture-of-experts layer: every token goes through the same feed-forward "
          "block. Pick a MoE milestone (GShard, Mixtral, DeepSeek, Kimi) to see routing.")


def moe_layers(arch) -> tuple[int, int, int]:
    """(MoE layers, routed experts, top-k) of the classroom scale the inspector runs; (0, 0, 0) for
    a dense model. Decided from the architecture and the registry's "moe" role (overrides that
    swap a layer's block included, as GShard's every other layer), before any run data arrives."""
    if arch is None:
        return 0, 0, 0
    try:
        from studio.core.model.resolve import resolve
        scales = getattr(arch, "scales", {}) or {}
        res = resolve(arch, "classroom" if "classroom" in scales else next(iter(scales)))
        moe = [v for rn in res.nodes.values() for v in rn.variants if v.spec.has("moe")]
        if moe:
            return (sum(len(v.layers) for v in moe), int(getattr(moe[0].config, "n_experts", 0) or 0),
                    int(getattr(moe[0].config, "top_k", 0) or 0))
    except Exception:  # noqa: BLE001  settings that do not resolve: the traits of the drawn blocks still tell
        pass
    from blocks.registry import UnknownBlockKind, get_spec

    def is_moe(kind):
        try:
            return bool(kind) and get_spec(kind).has("moe")
        except UnknownBlockKind:
            return False
    nodes = getattr(getattr(arch, "graph", None), "nodes", {}) or {}
    hit = any(is_moe(n.kind) for n in nodes.values()) or any(is_moe(o.kind) for o in getattr(arch, "overrides", ()))
    return (1, 0, 0) if hit else (0, 0, 0)


class RoutingView(FitsViewport, FollowsPalette, QWidget):
    inspect_requested = Signal()  # the waiting page's button: inspect the model on screen

    def __init__(self, controller, parent=None):
        super().__init__(parent)
        self.ctl = controller
        self.ins = None
        self.layer = 0
        base, text, mask = palette_colours()
        self._mask_rgb, self._text = mask.getRgb()[:3], text
        moe = FAMILY_COLOURS["moe"]

        self.layer_box = QComboBox()
        self.layer_box.setSizeAdjustPolicy(QComboBox.AdjustToContents)
        self.layer_box.setToolTip("Which MoE layer to show")
        self.layer_box.currentIndexChanged.connect(self._layer_changed)
        self.summary = bold(wrap_label())
        self.empty = QLabel(NO_MOE)
        self.empty.setWordWrap(True)
        self.moe = (0, 0, 0)  # (MoE layers, experts, top-k) of the model on screen

        self.map = HeatPlot("token →", "expert")
        self.map.setMinimumSize(260, 130)
        self.map.getAxis("left").setWidth(96)
        self.map.scene().sigMouseMoved.connect(self._hover)
        self.map.setToolTip("Colour = gate weight of a chosen expert; blank = not chosen; top rows: shared experts, always on")
        self.cbar = ColourBar("gate weight", (0, 0.25, 0.5, 0.75, 1.0))
        self.hist = pg.PlotWidget(background=base)
        style_plot(self.hist, text, "tokens routed", "expert")
        self.hist.setToolTip("Tokens each expert received; dashed line = perfectly balanced load; red = never chosen")
        self.bars = pg.BarGraphItem(x=[0], height=[0], width=0.8, brush=moe)
        # a collapsed expert gets a cross at zero, not a bar that would read as some load
        self.dead = pg.ScatterPlotItem(symbol="x", size=16, brush="#D55E00", pen=pg.mkPen("#D55E00", width=3))
        self.ideal = pg.InfiniteLine(angle=0, pen=pg.mkPen(text, style=pg.QtCore.Qt.DashLine))
        for it in (self.bars, self.dead, self.ideal):
            self.hist.addItem(it)
        self.readout = QLabel("Hover the map to read a gate weight.")

        self.training = RoutingOverTraining(self.ctl, self._wanted_layer, base, text, moe)
        self.hist.setMinimumSize(160, 110)
        # two tabs so each gets the dock's full height on a small screen
        prompt_maps = QWidget()
        grid = QVBoxLayout(prompt_maps)
        maps = QSplitter(Qt.Horizontal)  # the map or the load histogram: whichever needs the room
        maps.addWidget(row(self.map, self.cbar, stretch_at=0))
        maps.addWidget(self.hist)
        maps.setStretchFactor(0, 3)
        maps.setStretchFactor(1, 1)
        maps.setChildrenCollapsible(False)
        grid.addWidget(maps, 1)
        grid.addWidget(self.readout)
        self.wait_page, self.wait_note, _ = note_page("", "Inspect the model on screen", self.inspect_requested.emit)
        self.prompt_pages = prompt_tab = QStackedWidget()  # words until this model's first inspection arrives
        prompt_tab.addWidget(self.wait_page)
        prompt_tab.addWidget(prompt_maps)
        self.prompt_maps = prompt_maps
        self.tabs = QTabWidget()
        self.tabs.addTab(prompt_tab, "This prompt")
        self.tabs.addTab(self.training, "Over training")
        self.tabs.setTabToolTip(1, "Expert load per step, auxiliary loss and balancing bias while a run trains")
        lay = QVBoxLayout(self)
        self.source_label = QLabel("Nothing inspected yet.")  # which weights: untrained, a run's step, …
        self.source_label.setWordWrap(True)
        lay.addWidget(self.source_label)
        self.layer_row = row(QLabel("MoE layer:"), self.layer_box, self.summary, stretch_at=2)
        lay.addWidget(self.layer_row)
        lay.addWidget(self.empty)
        lay.addWidget(self.tabs, 1)
        lay.addStretch(0)
        self.ctl.inspected.connect(self.show_inspection)
        self.ctl.run_state.changed.connect(self.training.follow)  # each run has its own routing history
        self.training.follow()
        self._moe_memo: dict[tuple, tuple[int, int, int]] = {}  # see _moe_of
        self._stale = False  # the model changed while this view was hidden: follow it when shown
        self.ctl.run_state.changed.connect(self._model_changed)
        self.ctl.source_changed.connect(lambda _s: self._model_changed())
        self.ctl.source_changed.connect(lambda s: self.source_label.setText(f"Model: {s.label}"))
        self.follow_model()
        self.remember_palette()

    def retheme(self):
        """Another theme: backgrounds, axes, titles and the blank-cell grey follow."""
        base, text, mask = palette_colours()
        self._mask_rgb, self._text = mask.getRgb()[:3], text
        for plot in (self.map, self.cbar, self.hist):
            restyle_plot(plot, base, text)
        self.ideal.setPen(pg.mkPen(text, style=Qt.DashLine))
        if self.ins is not None and self.ins.routing:
            self.show_layer(self.layer)
        self.training.retheme(base, text)  # titles drawn again in the new colour

    def _arch(self):
        src = self.ctl.source
        if src is not None and src.arch is not None:
            return src.arch
        doc = self.ctl.run_state.document
        return None if doc is None else doc.architecture

    def _model_changed(self):
        """RunState fires on every scrub step: a hidden view (its dock closed or tabbed away)
        only notes it and follows the model when it is shown again."""
        import shiboken6
        if not shiboken6.isValid(self):  # RunState (psygnal) may outlive this widget
            return
        if self.isVisible():
            self.follow_model()
        else:
            self._stale = True

    def showEvent(self, event):  # noqa: N802  Qt virtual
        if self._stale:
            self.follow_model()
        super().showEvent(event)

    def follow_model(self):
        """Whether this model routes at all comes from its architecture, not from a run."""
        import shiboken6
        if not shiboken6.isValid(self):  # RunState (psygnal) may outlive this widget
            return
        self._stale = False
        arch = self._arch()
        self.moe = self._moe_of(arch)
        layers, experts, k = self.moe
        if not layers:
            self.empty.setText(NO_MOE if arch is not None else "No model on screen.")
            self.ins = None
            self.layer_box.clear()  # nothing of the previous MoE model stays above the sentence
            self.summary.setText("")
        self._set_empty(not layers)
        if layers and (self.ins is None or not self.ins.routing or self.ins.arch_id != getattr(arch, "id", None)):
            title = arch.meta.get("title", arch.id)
            what = f"{layers} mixture-of-experts layer{'s' if layers != 1 else ''}" + (
                f", each routing every token to {k} of {experts} experts" if experts and k else "")
            self.wait_note.setText(f"<b>{title}</b> (classroom scale) has {what}.<br>Inspect the model on screen "
                                   "to see which experts each token of the prompt chooses.")
            self.prompt_pages.setCurrentWidget(self.wait_page)
            self.ins = None  # another model's routing is not this one's
            self.layer_box.clear()
            self.summary.setText("")

    def _moe_of(self, arch) -> tuple[int, int, int]:
        """moe_layers(arch), remembered by what it is computed from: scrubbing shows a fresh copy
        of the milestone's preset at every step, and resolving it at the classroom scale each
        time cost ~1.5 ms; the key (scales, regions, overrides, every block's kind, region and settings)
        is a few µs of repr and changes with any edit that could change the answer."""
        if arch is None:
            return moe_layers(arch)
        try:
            nodes = getattr(getattr(arch, "graph", None), "nodes", {}) or {}
            key = repr((getattr(arch, "scales", None), getattr(arch, "regions", None), getattr(arch, "overrides", None),
                        [(nid, n.kind, getattr(n, "region", None), n.config) for nid, n in nodes.items()]))
        except Exception:  # noqa: BLE001  something without a faithful repr: no memo
            return moe_layers(arch)
        hit = self._moe_memo.get(key)
        if hit is None:
            if len(self._moe_memo) >= 128:
                self._moe_memo.clear()
            hit = self._moe_memo[key] = moe_layers(arch)
        return hit

    def _set_empty(self, empty: bool):
        if empty == getattr(self, "_shown_empty", None):
            return  # unchanged (every scrub step asks): setVisible on three widgets is not free
        self._shown_empty = empty
        self.empty.setVisible(empty)
        self.tabs.setVisible(not empty)
        self.layer_row.setVisible(not empty)

    # ------------------------------------------------------------------ one prompt
    def show_inspection(self, ins):
        self.ins = ins
        if not ins.routing:  # a dense model (or a run whose routing did not come back): the architecture decides
            self.follow_model()
            return
        self._set_empty(False)
        self.prompt_pages.setCurrentWidget(self.prompt_maps)
        self.layer_box.blockSignals(True)
        self.layer_box.clear()
        self.layer_box.addItems([m.label for m in ins.routing])
        self.layer = min(self.layer, max(len(ins.routing) - 1, 0))
        self.layer_box.setCurrentIndex(self.layer)
        self.layer_box.blockSignals(False)
        self.show_layer(self.layer)

    def _layer_changed(self, i):
        if i >= 0 and self.ins is not None and self.ins.routing:
            self.show_layer(i)
        self.training.redraw()

    def show_layer(self, i: int):
        self.layer = i
        m = self.ins.routing[i]
        gm = m.gate_matrix.T  # (E, T)
        vmax = max(1.0, float(gm.max()))
        rows = [np.full((m.n_shared, gm.shape[1]), vmax)] if m.n_shared else []  # shared: always on, full weight
        img = np.concatenate(rows + [np.where(gm > 0, gm, np.nan)], 0)
        labels = [f"S{s} shared" for s in range(m.n_shared)] + [
            f"E{e}" + (" ✕ unused" if e in m.collapsed else "") for e in range(m.n_experts)]
        self.map.show_rgb(rgb_image(img, vmax, 1.0, self._mask_rgb), [token_label(t)[:8] for t in self.ins.tokens], labels)
        x = np.arange(m.n_experts)
        alive = np.array([e not in m.collapsed for e in x])
        self.bars.setOpts(x=x, height=m.counts, width=0.8)
        self.dead.setData(x=x[~alive], y=np.zeros((~alive).sum()))
        self.ideal.setValue(m.counts.sum() / m.n_experts)
        every = 1 if m.n_experts <= 10 else int(np.ceil(m.n_experts / 10))
        self.hist.getAxis("bottom").setTicks([[(e, f"E{e}") for e in x if e % every == 0]])
        self.hist.setTitle(f"load CV {m.cv:.2f} (0 = balanced)", color=self._text.name())
        dead = ", ".join(f"E{e}" for e in m.collapsed) or "none"
        self.summary.setText(
            f"{m.n_experts} routed experts, top-{m.top_k}" + (f" + {m.n_shared} shared (always on)" if m.n_shared else "")
            + f" · {m.score} router, entropy {m.router_entropy:.2f} of {np.log2(m.n_experts):.2f} bits"
            + f" · never chosen: {dead}" + (" · aux-loss-free bias on" if m.bias_balancing else ""))

    def _hover(self, pos):
        if self.ins is None or not self.ins.routing:
            return
        cell = self.map.cell_at(pos)
        m = self.ins.routing[self.layer]
        if cell is None or not (0 <= cell[1] < len(self.ins.tokens)):
            return
        r, t = cell
        tok = token_label(self.ins.tokens[t])
        if r < m.n_shared:
            self.readout.setText(f"token {t} “{tok}” → shared expert {r}: always on")
            return
        e = r - m.n_shared
        if not 0 <= e < m.n_experts:
            return
        picks = ", ".join(f"E{int(x)} {float(w):.3f}" for x, w in zip(m.top_i[t], m.top_w[t]))
        self.readout.setText(f"token {t} “{tok}”: chose {picks} · router score of E{e}: {m.scores[t, e]:.3f}")

    # ------------------------------------------------------------------ training history
    def _wanted_layer(self) -> tuple[str, int]:
        """The MoE layer the "Over training" tab draws: the one picked above (by name, else index)."""
        name = self.ins.routing[self.layer].name if self.ins is not None and self.ins.routing else ""
        return name, self.layer

    def refresh_history(self) -> None:
        """Draw the routing history of the run on screen now (it also redraws by itself as steps arrive)."""
        self.training.refresh()
