"""The graph scene: a QGraphicsScene that mirrors the Document on screen.

The scene never owns the model. It subscribes to the Document (``replaced``, ``changed``,
``scale_changed``) and to the current graph's node/edge/config events, and keeps item
dictionaries keyed by node id and Edge. When another document is shown, items are updated in
place and moved with one animation object (a newer change stops the running one and jumps to
its end first, so fast scrubbing never queues animations). Which blocks are marked added /
changed comes from ``Figures.change()``: a milestone against its predecessor on the timeline,
never against whatever was on screen before.
"""
from __future__ import annotations

import math

from PySide6.QtCore import QEasingCurve, QPointF, QRectF, QVariantAnimation, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QGraphicsScene

from blocks.registry import get_spec
from studio._qt.graph.block_face import block_face
from studio._qt.graph.edge_item import EdgeItem
from studio._qt.graph.frame_items import FrameItem
from studio._qt.graph.graph_items import NodeItem
from studio._qt.graph.port_drag import PortDragMixin
from studio._qt.present.present_scene import PresentMixin
from studio._qt.graph.scene_decor import SceneDecor
from studio._qt.theme import LIGHT, Theme
from studio.core.model.layout import Layout, compute_layout, signatures
from studio.core.state.figures import NO_CHANGE

ANIM_MS = 320


class GraphScene(PortDragMixin, SceneDecor, PresentMixin, QGraphicsScene):
    hovered = Signal(str)
    activated = Signal(str)
    node_dragged = Signal(str, QPointF, QPointF)  # id, old, new (the editor turns it into an undo command)
    changed_diff = Signal(object)  # {"added": [...], "removed": [...], "changed": [...]}
    connect_requested = Signal(str, str, str, str)  # src, src port, dst, dst port (dragged port to port)
    probe_message = Signal(str)  # live accept / reject text while a connection is dragged ("" when done)
    settled = Signal()  # a move animation ran to its end (the view refits to what it shows)

    def __init__(self, document, theme: Theme = LIGHT, parent=None, figures=None):
        """``figures``: where the marks of a milestone's change come from (None: no marks)."""
        super().__init__(parent)
        self.document, self.figures, self.theme = document, figures, theme
        self.nodes: dict[str, NodeItem] = {}
        self.edges: dict[object, EdgeItem] = {}
        self.frames: dict[str, FrameItem] = {}
        self.stage_items: list = []
        self.ghosts: list[NodeItem] = []
        self.last_diff: dict = {"added": [], "removed": [], "changed": []}
        self.font_scale = 1.0
        self.arch = None
        self._graph = None
        self._faces: dict[tuple, tuple] = {}  # (document key, version, scale, node id) -> face
        self._faces_of: dict[str, int] = {}  # document key -> the version its cached faces are of
        self.editable = False  # the editor turns on port dragging
        self.connect_probe = None  # callable(src, sport, dst, dport) -> refusal text or None
        self._drag = None  # (port item, temporary path item, target port or None)
        self._moves: dict[str, tuple[QPointF, QPointF]] = {}
        self._appearing: set[str] = set()
        self._press_pos: dict[str, QPointF] = {}
        self._removed_at: dict[str, QPointF] = {}  # deleted blocks' places, for undo (this graph only)
        self._anim = QVariantAnimation(self)
        self._anim.setStartValue(0.0)
        self._anim.setEndValue(1.0)
        self._anim.setDuration(ANIM_MS)
        self._anim.setEasingCurve(QEasingCurve.OutCubic)
        self._anim.valueChanged.connect(self._tick)
        self._anim.finished.connect(self._finish)
        self.setBackgroundBrush(QColor(theme.base))
        document.replaced.connect(self._on_replaced)
        document.changed.connect(self._on_changed)
        document.scale_changed.connect(self._on_scale)
        if document.architecture is not None:
            self.set_architecture(animate=False)

    # ------------------------------------------------------------------ model → scene
    def _on_replaced(self):
        self.set_architecture(animate=True)

    def _on_changed(self, _version):
        if self.document.architecture is self.arch:  # an edit: every block's figures may follow a dim
            if not self.document.is_milestone and any(self.last_diff.values()):
                self.clear_marks()  # an edited copy: the milestone's own change is no longer what is shown
            self.refresh_all()

    def clear_marks(self) -> None:
        self.last_diff = {"added": [], "removed": [], "changed": []}
        for item in self.nodes.values():
            if item.diff:
                item.diff = None
                item.update()
        for edge in self.edges.values():
            if edge.diff:
                edge.diff = None
                edge.restyle()

    def _on_scale(self, _scale):
        self.refresh_all()

    def marks(self):
        """The change the scene marks: the milestone's own, against its predecessor."""
        if self.figures is None or not self.document.is_milestone:
            return NO_CHANGE
        return self.figures.change()

    def set_architecture(self, animate: bool = True) -> None:
        """Mirror the document's architecture (another document was shown)."""
        arch = self.document.architecture
        if arch is None:
            return
        if self.animating or self.ghosts or self._moves or self._appearing:
            self._end_animation()  # a newer change: jump to the end of the running one first
        prev_layout = self.current_layout()
        had_items = bool(self.nodes)
        self._subscribe(arch.graph)
        self.arch = arch
        layout = compute_layout(arch.graph, prev_layout if had_items else None)
        g = arch.graph
        ch = self.marks()
        place = self.place(layout, ch)  # the layout's positions, or the presentation placement
        for nid in [n for n in self.nodes if n not in g.nodes]:
            item = self.nodes.pop(nid)
            item.diff = "removed" if nid in ch.removed else None
            item.setFlag(item.GraphicsItemFlag.ItemIsSelectable, False)
            item.setZValue(0.8)
            self.ghosts.append(item)
        edges_now = set(g.edges)
        for e in [e for e in self.edges if e not in edges_now]:
            self._drop_edge(e)
        for nid, node in g.nodes.items():
            item = self.nodes.get(nid)
            new_pos = place[nid]
            if item is None:
                item = self._make_node(nid)
                item.setPos(new_pos)
                if had_items:
                    self._appearing.add(nid)
                    item.setOpacity(0.0 if animate else 1.0)
            elif item.pos() != new_pos:
                self._moves[nid] = (item.pos(), new_pos)
            item.diff = "added" if nid in ch.added else "changed" if nid in ch.changed else None
            item.raw = dict(node.config)
            self._fill_node(item)
            self.apply_box(item)
        for e in sorted(edges_now - set(self.edges)):
            self._add_edge(e)
        for edge in self.edges.values():  # a link into an added block is part of the addition
            want = "added" if "added" in (edge.src.diff, edge.dst.diff) else None
            if edge.diff != want:
                edge.diff = want
                edge.restyle()
        self.last_diff = {"added": [n for n in ch.added if n in g.nodes], "removed": list(ch.removed),
                          "changed": [n for n in ch.changed if n in g.nodes]}
        self._build_stages()
        flashing = any(it.diff == "changed" for it in self.nodes.values())
        if animate and (self._appearing or self.ghosts or flashing or self._moves):
            self._anim.start()
            self._update_frames()
        else:
            self._end_animation()  # (updates the frames)
        self.changed_diff.emit(self.last_diff)

    def current_layout(self) -> Layout:
        units = self.units_layout()  # presenting: the grid positions, not the enlarged ones
        if units is not None:
            return units
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
        self._removed_at = {}
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
        self._end_animation()
        item = self._make_node(node.id)
        item.raw = dict(node.config)
        back = self._removed_at.pop(node.id, None)  # undo of a delete: where it stood
        item.setPos(QPointF(*node.pos) if node.pos else back if back is not None else self.free_spot())
        self._fill_node(item)
        self._update_frames()

    def _on_node_removed(self, node):
        self._end_animation()
        item = self.nodes.pop(node.id, None)
        if item is not None:
            self._removed_at[node.id] = item.pos()
            for e in list(item.edges):
                self._drop_edge(e.edge)
            self.removeItem(item)
        self._update_frames()

    def _on_edge_added(self, edge):
        self._add_edge(edge)

    def _on_edge_removed(self, edge):
        self._drop_edge(edge)

    def _on_config_changed(self, nid, key, old, new):
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

    def free_spot(self) -> QPointF:
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
        doc = self.document
        # milestones keep one key (cached across scrubs); any edit, even straight on the graph, bumps the revision
        key = (doc.key, doc.version, doc.shown_scale(), item.node_id)
        face = self._faces.get(key)
        if face is None:
            face = block_face(self.arch, doc.shown_scale(), item.node_id)
            if len(self._faces) > 4096 or (not doc.is_milestone and self._faces_of.get(doc.key) != doc.version):
                # an edited document's older versions are not shown again (an undo makes a new revision)
                self._faces = {k: v for k, v in self._faces.items() if k[0] != doc.key and len(self._faces) <= 4096}
            self._faces_of[doc.key] = doc.version
            self._faces[key] = face
        item.set_block(*face)

    def _add_edge(self, e) -> None:
        src, dst = self.nodes.get(e.src), self.nodes.get(e.dst)
        if src is None or dst is None:
            return
        ptype = get_spec(src.kind).output(e.src_port).type if get_spec(src.kind).output(e.src_port) else "hidden"
        residual = get_spec(dst.kind).has("residual") and e.dst_port == "x"
        item = EdgeItem(e, src, dst, self.theme, residual, ptype)
        item.width_scale = self.font_scale
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

    # ------------------------------------------------------------------ animation
    def _tick(self, v):
        v = float(v)
        for nid, (a, b) in self._moves.items():
            item = self.nodes.get(nid)
            if item is not None:
                item.setPos(a + (b - a) * v)
        for nid in self._appearing:
            if nid in self.nodes:
                self.nodes[nid].setOpacity(min(1.0, 0.15 + v))
        for item in self.nodes.values():
            if item.diff == "changed":
                item.flash = math.sin(math.pi * v)
                item.update()
        for g in self.ghosts:
            g.setOpacity(max(0.0, 1.0 - v))
        if self._moves:
            self._update_frames()

    def _finish(self):
        self._end_animation()
        self.settled.emit()

    def _end_animation(self) -> None:
        if self._anim.state() == QVariantAnimation.Running:
            self._anim.stop()
        for nid, (_, b) in self._moves.items():
            if nid in self.nodes:
                self.nodes[nid].setPos(b)
        self._moves = {}
        self._appearing = set()
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

    def target_pos(self, item: NodeItem) -> QPointF:
        """Where a block is going: the end of its move while one runs, else where it is."""
        move = self._moves.get(item.node_id)
        return move[1] if move is not None else item.pos()

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
        """What the view fits: blocks, frames and the stage strip where the running move (if
        any) takes them. Fitting to where a move starts sized each milestone for the graph
        shown before it (issue 22 H2)."""
        rect = QRectF()
        for it in self.nodes.values():
            rect = rect.united(it.sceneBoundingRect().translated(self.target_pos(it) - it.pos()))
        if self._moves and self.arch is not None:
            for r in self.frame_rects(settled=True).values():
                rect = rect.united(r.adjusted(-4, -4, 4, 4))  # FrameItem.boundingRect's margin
        else:
            for it in self.frames.values():
                rect = rect.united(it.sceneBoundingRect())
        for it in self.stage_items:
            rect = rect.united(it.sceneBoundingRect())
        return rect

    def node_hovered(self, nid: str):
        self.hovered.emit(nid)

    def node_activated(self, nid: str):
        self.activated.emit(nid)

    def node_released(self, item: NodeItem, clicked: bool = False):
        """A drag becomes an undoable move; a left click that moved nothing activates the block."""
        old = self._press_pos.pop(item.node_id, None)
        node = self._graph.nodes.get(item.node_id) if self._graph else None
        before = QPointF(*node.pos) if node is not None and node.pos else old
        if before is not None and before != item.pos():
            self.node_dragged.emit(item.node_id, before, item.pos())
            self._update_frames()
        elif clicked:
            self.activated.emit(item.node_id)
