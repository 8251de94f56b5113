"""The graph scene: a QGraphicsScene that mirrors the current ArchGraph.

The scene never owns the model. It subscribes to the holder's ``architecture_changed`` /
``scale_changed`` and to the current graph's node/edge/config events, and keeps item
dictionaries keyed by node id and Edge. A milestone change updates items in place and
animates the diff with one animation object: a newer change stops the running one and
jumps to its end first, so fast scrubbing never queues animations (latest state wins).
"""
from __future__ import annotations

import math

from PySide6.QtCore import QEasingCurve, QPointF, QRectF, Qt, QVariantAnimation, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QGraphicsScene, QGraphicsSimpleTextItem

from blocks.registry import get_spec
from studio._qt.graph_items import EdgeItem, FrameItem, NodeItem, StageItem
from studio._qt.port_drag import PortDragMixin
from studio._qt.text import get_family_name, key_settings, ranges as _ranges, training_stages
from studio._qt.theme import LIGHT, Theme, ui_font
from studio.core import provenance
from studio.core.accounting import humanize
from studio.core.errors import StudioError
from studio.core.layout import Layout, NODE_H, NODE_W, compute_layout, signatures

ANIM_MS = 320
REGION_TITLES = {"encoder": "Encoder", "layer": ""}


class GraphScene(PortDragMixin, QGraphicsScene):
    hovered = Signal(str)
    activated = Signal(str)
    node_dragged = Signal(str, QPointF, QPointF)  # id, old, new (the editor turns it into an undo command)
    changed_diff = Signal(object)  # {"added": [...], "removed": [...], "changed": [...]}
    connect_requested = Signal(str, str, str, str)  # src, src port, dst, dst port (dragged port to port)
    probe_message = Signal(str)  # live accept / reject text while a connection is dragged

    def __init__(self, model, theme: Theme = LIGHT, parent=None):
        super().__init__(parent)
        self.model, self.theme = model, theme
        self.nodes: dict[str, NodeItem] = {}
        self.edges: dict[object, EdgeItem] = {}
        self.frames: dict[str, FrameItem] = {}
        self.stage_items: list = []
        self.ghosts: list[NodeItem] = []
        self.last_diff: dict = {"added": [], "removed": [], "changed": []}
        self.font_scale = 1.0
        self.arch = None
        self._graph = None
        self._faces: dict[tuple, tuple] = {}  # (model cache key, node id) -> face
        self._edited = False  # the shown graph changed under us: never use cached faces for it
        self.editable = False  # the editor turns on port dragging
        self.connect_probe = None  # callable(src, sport, dst, dport) -> refusal text or None
        self._drag = None  # (port item, temporary path item, target port or None)
        self._moves: dict[str, tuple[QPointF, QPointF]] = {}
        self._press_pos: dict[str, QPointF] = {}
        self._anim = QVariantAnimation(self)
        self._anim.setStartValue(0.0)
        self._anim.setEndValue(1.0)
        self._anim.setDuration(ANIM_MS)
        self._anim.setEasingCurve(QEasingCurve.OutCubic)
        self._anim.valueChanged.connect(self._tick)
        self._anim.finished.connect(self._finish)
        self.setBackgroundBrush(QColor(theme.base))
        model.architecture_changed.connect(self._on_architecture)
        model.scale_changed.connect(self._on_scale)
        if getattr(model, "arch", None) is not None:
            self.set_architecture(model.arch, animate=False)

    # ------------------------------------------------------------------ model → scene
    def _on_architecture(self, arch):
        self.set_architecture(arch, animate=True)

    def _on_scale(self, _scale):
        self.refresh_all()

    def set_architecture(self, arch, animate: bool = True) -> None:
        self._end_animation()
        prev_layout = self.current_layout()
        self._subscribe(arch.graph)
        self.arch = arch
        layout = compute_layout(arch.graph, prev_layout if self.nodes else None)
        g = arch.graph
        added, removed, changed = [], [], []
        for nid in [n for n in self.nodes if n not in g.nodes]:
            item = self.nodes.pop(nid)
            removed.append(nid)
            item.diff = "removed"
            item.setFlag(item.GraphicsItemFlag.ItemIsSelectable, False)
            item.setZValue(0.8)
            self.ghosts.append(item)
        edges_now = set(g.edges)
        for e in [e for e in self.edges if e not in edges_now]:
            self._drop_edge(e)
        for nid, node in g.nodes.items():
            item = self.nodes.get(nid)
            new_pos = QPointF(*layout.pos[nid])
            if item is None:
                item = self._make_node(nid)
                item.setPos(new_pos)
                item.diff = "added" if self.arch is not None and prev_layout.pos else None
                if item.diff:
                    added.append(nid)
                    item.setOpacity(0.0 if animate else 1.0)
            else:
                before = (item.kind, item.raw)
                item.diff = None
                if before != (node.kind, node.config):
                    item.diff = "changed"
                    changed.append(nid)
                if item.pos() != new_pos:
                    self._moves[nid] = (item.pos(), new_pos)
            item.raw = dict(node.config)
            self._fill_node(item)
        for e in sorted(edges_now - set(self.edges)):
            self._add_edge(e, highlight=bool(prev_layout.pos))
        self.last_diff = {"added": added, "removed": removed, "changed": changed}
        self._build_stages()
        if animate and (added or removed or changed or self._moves):
            self._anim.start()
        else:
            self._end_animation()
        self._update_frames()
        self.changed_diff.emit(self.last_diff)

    def current_layout(self) -> Layout:
        lay = Layout()
        g = self._graph
        sigs = signatures(g) if g is not None else {}
        for nid, item in self.nodes.items():
            end = self._moves.get(nid, (None, item.pos()))[1]
            lay.pos[nid] = (end.x(), end.y())
            if nid in sigs:
                lay.signature[nid] = sigs[nid]
        return lay

    def _subscribe(self, graph) -> None:
        if self._graph is graph:
            return
        self._edited = False
        if self._graph is not None:
            for sig, slot in self._graph_slots():
                sig.disconnect(slot)
        self._graph = graph
        for sig, slot in self._graph_slots():
            sig.connect(slot, check_nargs=False)  # skips signature inspection: re-subscribed on every scrub

    def _graph_slots(self):
        g = self._graph
        return [(g.node_added, self._on_node_added), (g.node_removed, self._on_node_removed),
                (g.edge_added, self._on_edge_added), (g.edge_removed, self._on_edge_removed),
                (g.config_changed, self._on_config_changed), (g.node_moved, self._on_node_moved)]

    # edits of the current graph (issue 5): mirror them one event at a time, no relayout
    def _on_node_added(self, node):
        self._edited = True
        self._end_animation()
        item = self._make_node(node.id)
        item.raw = dict(node.config)
        item.setPos(QPointF(*node.pos) if node.pos else self._free_spot())
        self._fill_node(item)
        self._update_frames()

    def _on_node_removed(self, node):
        self._edited = True
        self._end_animation()
        item = self.nodes.pop(node.id, None)
        if item is not None:
            for e in list(item.edges):
                self._drop_edge(e.edge)
            self.removeItem(item)
        self._update_frames()

    def _on_edge_added(self, edge):
        self._edited = True
        self._add_edge(edge, highlight=False)

    def _on_edge_removed(self, edge):
        self._edited = True
        self._drop_edge(edge)

    def _on_config_changed(self, nid, key, old, new):
        self._edited = True
        item = self.nodes.get(nid)
        if item is not None:  # the editor refreshes the rest (ties, dims) once per undo step
            item.raw = dict(self._graph.node(nid).config)
            self._fill_node(item)

    def _on_node_moved(self, nid, pos):
        item = self.nodes.get(nid)
        if pos is None:
            return
        if item is not None and item.pos() != QPointF(*pos):
            item.setPos(QPointF(*pos))
            self._update_frames()

    def _free_spot(self) -> QPointF:
        r = self.content_rect()
        return QPointF(r.right() + 60, r.top() + 40) if self.nodes else QPointF(0, 0)

    # ------------------------------------------------------------------ items
    def _make_node(self, nid: str) -> NodeItem:
        item = NodeItem(nid, self.theme, self)
        item.raw = {}
        item.font_scale = self.font_scale
        self.addItem(item)
        self.nodes[nid] = item
        return item

    def _fill_node(self, item: NodeItem) -> None:
        key = None
        if hasattr(self.model, "cache_key") and not self._edited:
            key = self.model.cache_key(self.model.scale)
        face = self._faces.get((key, item.node_id)) if key is not None else None
        if face is None:
            face = self._face(item.node_id)
            if key is not None:
                if len(self._faces) > 4096:
                    self._faces.clear()
                self._faces[(key, item.node_id)] = face
        item.set_block(*face)

    def _face(self, nid: str) -> tuple:
        """What a block shows: (kind, spec, key lines, badge, badge tip, variant badge, tooltip)."""
        arch, scale = self.arch, self.model.scale
        node = arch.graph.node(nid)
        spec = get_spec(node.kind)
        lines, badge, badge_tip, tip_extra, variant = [], "", "", "", ""
        if scale not in arch.scales:
            scale = next(iter(arch.scales), scale)
        try:
            cfg, _ = arch.config(node.id, scale)
            hide = provenance.hides_figures(arch, scale)  # a stand-in: structure only, no figure on it
            lines = [] if hide else key_settings(spec, cfg)
            per = spec.params(cfg)
            n = arch.repeat(node.region, scale)
            badge, badge_tip = provenance.block_badge(arch, scale, node.id, per)
            if per and not hide:
                tip_extra = f"\nParameters: {per:,}" + (f" per layer, {per * n:,} over {n} layers" if n > 1 else "")
            # per-layer overrides, read from the override list (resolving every layer is too slow to scrub)
            dims = arch.dims(scale)
            idx, kinds = set(), set()
            for ov in arch.overrides:
                if ov.node == node.id and node.region in arch.regions:
                    hit = ov.indices(n, dims)
                    idx.update(hit)
                    if hit:
                        kinds.add(get_spec(ov.kind).title if ov.kind else f"{spec.title} with other settings")
            if hide:
                tip_extra = "\n" + provenance.STAND_IN_NOTE
            elif idx:
                variant = f"≠ {len(idx)}/{n} layers"
                tip_extra += f"\nLayers {_ranges(sorted(idx))} use {', '.join(sorted(kinds))} (per-layer override)"
        except (StudioError, TypeError, ValueError) as exc:
            lines = ["settings invalid"]
            tip_extra = f"\n{exc}"
        tip = f"{spec.title} ({node.id}) · {get_family_name(spec.family)}\n{spec.summary}{tip_extra}"
        return node.kind, spec, lines, badge, badge_tip, variant, tip

    def _add_edge(self, e, highlight: bool) -> None:
        src, dst = self.nodes.get(e.src), self.nodes.get(e.dst)
        if src is None or dst is None:
            return
        ptype = get_spec(src.kind).output(e.src_port).type if get_spec(src.kind).output(e.src_port) else "hidden"
        residual = get_spec(dst.kind).has("residual") and e.dst_port == "x"
        item = EdgeItem(e, src, dst, self.theme, residual, ptype)
        item.width_scale = self.font_scale
        if highlight and (src.diff == "added" or dst.diff == "added"):
            item.diff = "added"
            item.restyle()
        self.addItem(item)
        self.edges[e] = item

    def _drop_edge(self, e) -> None:
        item = self.edges.pop(e, None)
        if item is not None:
            item.detach()
            self.removeItem(item)

    def refresh_all(self) -> None:
        if self.arch is None:
            return
        for item in self.nodes.values():
            self._fill_node(item)
        self._update_frames()

    def _update_frames(self) -> None:
        arch, scale = self.arch, self.model.scale
        if arch is None:
            return
        if scale not in arch.scales:
            scale = next(iter(arch.scales), scale)
        wanted = {}
        for r in arch.regions:
            items = [it for it in self.nodes.values() if arch.graph.nodes.get(it.node_id) and arch.graph.node(it.node_id).region == r]
            if not items:
                continue
            rect = QRectF()
            for it in items:
                rect = rect.united(QRectF(it.pos(), it.pos() + QPointF(NODE_W, NODE_H)))
            wanted[r] = rect.adjusted(-78, -62 * max(1.0, self.font_scale), 30, 30)
            try:
                n = arch.repeat(r, scale)
            except StudioError:
                n = "?"
            title = REGION_TITLES.get(r, r.title())
            if r == "layer" and "encoder" in arch.regions and any(x.region == "encoder" for x in arch.graph.nodes.values()):
                title = "Decoder"
            frame = self.frames.get(r)
            if frame is None:
                frame = self.frames[r] = FrameItem(self.theme)
                self.addItem(frame)
            frame.font_scale = self.font_scale
            frame.set(wanted[r], title, provenance.frame_label(arch, scale, r, n))
        for r in [r for r in self.frames if r not in wanted]:
            self.removeItem(self.frames.pop(r))

    def _build_stages(self) -> None:
        stages = training_stages(self.arch.training or {})
        top = min((it.pos().y() for it in self.nodes.values()), default=0.0)
        left = min((it.pos().x() for it in self.nodes.values()), default=0.0)
        key = (tuple(stages), top, left, self.font_scale, self.theme.name)
        if key == getattr(self, "_stages_key", None):
            return  # same pipeline at the same place: keep the items (scrubbing within an era)
        self._stages_key = key
        for it in self.stage_items:
            self.removeItem(it)
        self.stage_items = []
        if not stages:
            return
        y = top - StageItem.H - 120
        label = QGraphicsSimpleTextItem("Training pipeline (what this milestone changed)")
        label.setFont(ui_font(13 * self.font_scale, bold=True))
        label.setBrush(QColor(self.theme.text))
        label.setPos(left, y - 34 * self.font_scale)
        self.addItem(label)
        self.stage_items.append(label)
        for i, (title, detail) in enumerate(stages):
            st = StageItem(self.theme, title, detail, i, i == len(stages) - 1)
            st.font_scale = self.font_scale
            st.setPos(left + i * (StageItem.W + 60), y)
            self.addItem(st)
            self.stage_items.append(st)

    # ------------------------------------------------------------------ animation
    def _tick(self, v):
        v = float(v)
        for nid, (a, b) in self._moves.items():
            item = self.nodes.get(nid)
            if item is not None:
                item.setPos(a + (b - a) * v)
        for item in self.nodes.values():
            if item.diff == "added":
                item.setOpacity(min(1.0, 0.15 + v))
            elif item.diff == "changed":
                item.flash = math.sin(math.pi * v)
                item.update()
        for g in self.ghosts:
            g.setOpacity(max(0.0, 1.0 - v))
        if self._moves:
            self._update_frames()

    def _finish(self):
        self._end_animation()

    def _end_animation(self) -> None:
        if self._anim.state() == QVariantAnimation.Running:
            self._anim.stop()
        for nid, (_, b) in self._moves.items():
            if nid in self.nodes:
                self.nodes[nid].setPos(b)
        self._moves = {}
        for item in self.nodes.values():
            item.setOpacity(1.0)
            if item.flash:
                item.flash = 0.0
                item.update()
        for g in self.ghosts:
            for e in list(g.edges):
                self._drop_edge(e.edge)
            self.removeItem(g)
        self.ghosts = []
        self._update_frames()

    @property
    def animating(self) -> bool:
        return self._anim.state() == QVariantAnimation.Running

    # ------------------------------------------------------------------ misc
    def set_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.setBackgroundBrush(QColor(theme.base))
        for it in list(self.nodes.values()) + list(self.frames.values()) + self.ghosts:
            it.theme = theme
            it.update()
        for e in self.edges.values():
            e.theme = theme
            e.restyle()
        if self.arch is not None:
            self._build_stages()

    def set_font_scale(self, s: float) -> None:
        self.font_scale = s
        for it in list(self.nodes.values()) + list(self.frames.values()):
            it.prepareGeometryChange()  # badges and labels grow with the font
            it.font_scale = s
            it.update()
        for e in self.edges.values():
            e.width_scale = s
            e.restyle()
            e.update_path()
        if self.arch is not None:
            self._build_stages()
            self._update_frames()

    def content_rect(self) -> QRectF:
        rect = QRectF()
        for it in list(self.nodes.values()) + list(self.frames.values()) + self.stage_items:
            rect = rect.united(it.sceneBoundingRect())
        return rect

    def node_hovered(self, nid: str):
        self.hovered.emit(nid)

    def node_activated(self, nid: str):
        self.activated.emit(nid)

    def node_released(self, item: NodeItem):
        old = self._press_pos.pop(item.node_id, None)
        node = self._graph.nodes.get(item.node_id) if self._graph else None
        before = QPointF(*node.pos) if node is not None and node.pos else old
        if before is not None and before != item.pos():
            self.node_dragged.emit(item.node_id, before, item.pos())
            self._update_frames()
