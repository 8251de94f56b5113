"""The graph view: a QGraphicsScene that mirrors the current ArchGraph, and the view around it.

The scene never owns the model. It subscribes to the holder's ``architecture_changed`` /
``scale_changed`` and to the current graph's node/edge/config events, and keeps item
dictionaries keyed by node id and Edge. A milestone change updates items in place and
animates the diff with one animation object: a newer change stops the running one and
jumps to its end first, so fast scrubbing never queues animations (latest state wins).
"""
from __future__ import annotations

import math

from PySide6.QtCore import QEasingCurve, QPointF, QRectF, Qt, QVariantAnimation, Signal
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QGraphicsScene, QGraphicsSimpleTextItem, QGraphicsView, QLabel

from blocks.registry import get_spec
from studio._qt.graph_items import EdgeItem, FrameItem, NodeItem, StageItem
from studio._qt.text import key_settings, training_stages
from studio._qt.theme import LIGHT, Theme, ui_font
from studio.core.accounting import humanize
from studio.core.errors import StudioError
from studio.core.layout import Layout, NODE_H, NODE_W, compute_layout, signatures

ANIM_MS = 320
REGION_TITLES = {"encoder": "Encoder", "layer": ""}


class GraphScene(QGraphicsScene):
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
        lines, badge, tip_extra, variant = [], "", "", ""
        if scale not in arch.scales:
            scale = next(iter(arch.scales), scale)
        try:
            cfg, _ = arch.config(node.id, scale)
            lines = key_settings(spec, cfg)
            per = spec.params(cfg)
            n = arch.repeat(node.region, scale)
            badge = humanize(per) if per else ""
            if per:
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
            if idx:
                variant = f"≠ {len(idx)}/{n} layers"
                tip_extra += f"\nLayers {_ranges(sorted(idx))} use {', '.join(sorted(kinds))} (per-layer override)"
        except (StudioError, TypeError, ValueError) as exc:
            lines = ["settings invalid"]
            tip_extra = f"\n{exc}"
        tip = f"{spec.title} ({node.id}) · {get_family_name(spec.family)}\n{spec.summary}{tip_extra}"
        return node.kind, spec, lines, badge, "", variant, tip

    def _add_edge(self, e, highlight: bool) -> None:
        src, dst = self.nodes.get(e.src), self.nodes.get(e.dst)
        if src is None or dst is None:
            return
        ptype = get_spec(src.kind).output(e.src_port).type if get_spec(src.kind).output(e.src_port) else "hidden"
        residual = dst.kind == "residual" and e.dst_port == "x"
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
            frame.set(wanted[r], title, f"× {n} layers")
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

    def _port_at(self, pos):
        from studio._qt.graph_items import PortItem
        for it in self.items(pos):
            if isinstance(it, PortItem):
                return it
        return None

    def mousePressEvent(self, event):
        port = self._port_at(event.scenePos()) if self.editable and event.button() == Qt.LeftButton else None
        if port is not None:  # start dragging a connection from this port
            from PySide6.QtWidgets import QGraphicsPathItem
            from PySide6.QtGui import QPen
            tmp = QGraphicsPathItem()
            tmp.setPen(QPen(QColor(self.theme.selection), 2.5, Qt.DashLine))
            tmp.setZValue(5)
            self.addItem(tmp)
            self._drag = [port, tmp, None]
            event.accept()
            return
        super().mousePressEvent(event)
        for it in self.selectedItems():
            if isinstance(it, NodeItem):
                self._press_pos[it.node_id] = it.pos()

    def _ends(self, a, b):
        """(src node, src port, dst node, dst port) for a drag between two ports, either direction."""
        out, inp = (a, b) if not a.is_input else (b, a)
        return out.node.node_id, out.name, inp.node.node_id, inp.name

    def mouseMoveEvent(self, event):
        if self._drag is None:
            return super().mouseMoveEvent(event)
        from PySide6.QtGui import QPainterPath
        port, tmp, old = self._drag
        start, end = port.scenePos(), event.scenePos()
        path = QPainterPath(start)
        path.cubicTo(QPointF(start.x(), (start.y() + end.y()) / 2), QPointF(end.x(), (start.y() + end.y()) / 2), end)
        tmp.setPath(path)
        target = self._port_at(end)
        if target is port or (target is not None and target.is_input == port.is_input):
            target = None
        if old is not None and old is not target:
            old.highlight = None
            old.update()
        self._drag[2] = target
        if target is not None:
            why = self.connect_probe(*self._ends(port, target)) if self.connect_probe else None
            target.highlight = "reject" if why else "accept"
            target.update()
            self.probe_message.emit(f"Cannot connect: {why}" if why else
                                    "Release to connect {0}.{1} → {2}.{3}".format(*self._ends(port, target)))

    def mouseReleaseEvent(self, event):
        if self._drag is None:
            return super().mouseReleaseEvent(event)
        port, tmp, target = self._drag
        self._drag = None
        self.removeItem(tmp)
        if target is not None:
            target.highlight = None
            target.update()
            self.connect_requested.emit(*self._ends(port, target))


def get_family_name(family: str) -> str:
    from blocks.registry import FAMILIES
    return FAMILIES.get(family, family)


def _ranges(idx: list[int]) -> str:
    out, start = [], None
    for i, v in enumerate(idx):
        if start is None:
            start = v
        if i == len(idx) - 1 or idx[i + 1] != v + 1:
            out.append(f"{start}" if start == v else f"{start}–{v}")
            start = None
    return ", ".join(out)


class GraphView(QGraphicsView):
    """Zoom (Ctrl+wheel), pan (middle drag or Space+drag), fit (Ctrl+0), ←/→ Home/End step milestones."""
    block_activated = Signal(str)
    node_hovered = Signal(str)

    def __init__(self, model, theme: Theme = LIGHT, parent=None):
        super().__init__(parent)
        self.model = model
        self.graph_scene = GraphScene(model, theme, self)
        self.setScene(self.graph_scene)
        self.setRenderHints(QPainter.Antialiasing | QPainter.TextAntialiasing | QPainter.SmoothPixmapTransform)
        self.setDragMode(QGraphicsView.RubberBandDrag)
        self.setTransformationAnchor(QGraphicsView.AnchorUnderMouse)
        self.setViewportUpdateMode(QGraphicsView.SmartViewportUpdate)
        self.setFocusPolicy(Qt.StrongFocus)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)  # fit/zoom/pan instead of scroll bars
        self.setVerticalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.auto_fit = True
        self._pan = None
        self.graph_scene.activated.connect(self.block_activated)
        self.graph_scene.hovered.connect(self.node_hovered)
        self.graph_scene.changed_diff.connect(lambda _d: self.auto_fit and self.fit_all())
        self.drop_handler = None  # callable(kind, scene QPointF): the editor adds a dropped block
        self.setAcceptDrops(True)
        self.card = QLabel(self)  # not the viewport: its children scroll with the scene
        self.card.setWordWrap(True)
        self.card.setTextFormat(Qt.RichText)
        self.card.hide()
        self.setToolTip("")

    def fit_all(self) -> None:
        rect = self.graph_scene.content_rect()
        if rect.isNull():
            return
        # a generous scene rect keeps panning free but forgets where long-gone items were
        self.graph_scene.setSceneRect(rect.adjusted(-2000, -2000, 2000, 2000))
        rect = rect.adjusted(-30, -30, 30, 30)
        self.fitInView(rect, Qt.KeepAspectRatio)
        if self.card.isVisible():  # keep the title card's column free: refit with room left of the graph
            base = QRectF(rect)
            for _ in range(3):  # the room needed depends on the zoom it produces; converges quickly
                pad = (self.card.width() + 30) / max(self.transform().m11(), 0.05)
                rect = base.adjusted(-pad, 0, 0, 0)
                self.fitInView(rect, Qt.KeepAspectRatio)
        if self.transform().m11() > 1.4:  # small graphs: do not blow text up beyond readable
            self.resetTransform()
            self.scale(1.4, 1.4)
            self.centerOn(rect.center())

    def zoom(self, factor: float) -> None:
        self.auto_fit = False
        s = self.transform().m11() * factor
        if 0.1 <= s <= 5:
            self.scale(factor, factor)

    def wheelEvent(self, event):
        if event.modifiers() & Qt.ControlModifier:
            self.zoom(1.15 if event.angleDelta().y() > 0 else 1 / 1.15)
            event.accept()
        else:
            super().wheelEvent(event)

    def mousePressEvent(self, event):
        if event.button() == Qt.MiddleButton:
            self._pan = event.position()
            self.setCursor(Qt.ClosedHandCursor)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event):
        if self._pan is not None:
            d = event.position() - self._pan
            self._pan = event.position()
            self.horizontalScrollBar().setValue(int(self.horizontalScrollBar().value() - d.x()))
            self.verticalScrollBar().setValue(int(self.verticalScrollBar().value() - d.y()))
            self.auto_fit = False
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event):
        if self._pan is not None and event.button() == Qt.MiddleButton:
            self._pan = None
            self.unsetCursor()
            return
        super().mouseReleaseEvent(event)

    def keyPressEvent(self, event):
        k = event.key()
        step = {Qt.Key_Left: -1, Qt.Key_Right: 1}.get(k)
        if step and hasattr(self.model, "step") and not event.modifiers():
            self.model.step(step)
            return
        if k == Qt.Key_Home and hasattr(self.model, "first"):
            self.model.first()
            return
        if k == Qt.Key_End and hasattr(self.model, "last"):
            self.model.last()
            return
        if k == Qt.Key_F and not event.modifiers():
            sel = [it for it in self.graph_scene.selectedItems() if isinstance(it, NodeItem)]
            if sel:
                r = QRectF()
                for it in sel:
                    r = r.united(it.sceneBoundingRect())
                self.auto_fit = False
                self.fitInView(r.adjusted(-80, -80, 80, 80), Qt.KeepAspectRatio)
            return
        if k in (Qt.Key_Return, Qt.Key_Enter):
            sel = [it for it in self.graph_scene.selectedItems() if isinstance(it, NodeItem)]
            if sel:
                self.block_activated.emit(sel[0].node_id)
                return
        super().keyPressEvent(event)

    def resizeEvent(self, event):
        super().resizeEvent(event)
        if self.card.isVisible():
            self._size_card()
        if self.auto_fit:
            self.fit_all()

    def _size_card(self):
        """Fit the card to its text (QLabel's own height-for-width over-estimates rich text)."""
        from PySide6.QtGui import QTextDocument
        w = max(280, min(560, int(self.viewport().width() * 0.3)))
        doc = QTextDocument()
        doc.setDefaultFont(self.card.font())
        doc.setHtml(self.card.text())
        doc.setTextWidth(w - 40)  # the stylesheet's padding and border
        self.card.setFixedSize(w, int(doc.size().height()) + 30)

    def _mime_ok(self, event) -> bool:
        from studio._qt.palette import MIME
        return self.drop_handler is not None and event.mimeData().hasFormat(MIME)

    def dragEnterEvent(self, event):
        if self._mime_ok(event):
            event.acceptProposedAction()
        else:
            super().dragEnterEvent(event)

    def dragMoveEvent(self, event):
        if self._mime_ok(event):
            event.acceptProposedAction()
        else:
            super().dragMoveEvent(event)

    def dropEvent(self, event):
        from studio._qt.palette import MIME
        if self._mime_ok(event):
            kind = bytes(event.mimeData().data(MIME)).decode()
            pos = self.mapToScene(event.position().toPoint())
            self.drop_handler(kind, pos - QPointF(NODE_W / 2, NODE_H / 2))
            event.acceptProposedAction()
        else:
            super().dropEvent(event)

    def set_card(self, html: str | None, stylesheet: str = "") -> None:
        """The presentation-mode title card, overlaid top-left on the graph."""
        if not html:
            self.card.hide()
            return
        self.card.setStyleSheet(stylesheet)
        self.card.setText(html)
        self.card.setAlignment(Qt.AlignTop | Qt.AlignLeft)
        self._size_card()
        self.card.move(self.viewport().x() + 20, self.viewport().y() + 16)
        self.card.show()
