"""A connection between two blocks' ports in the graph scene (drawn, restyled for the diff and
re-routed when a block moves); the ports and blocks are in studio._qt.graph.graph_items."""
from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainterPath, QPen, QPolygonF
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPathItem

from studio._qt.graph.graph_items import PORT_R
from studio._qt.theme import DIFF, PORT_COLOURS, Theme


class EdgeItem(QGraphicsPathItem):
    """A connection. Residual skips are dashed arcs to the left; rotary tables dotted."""

    def __init__(self, edge, src, dst, theme: Theme, residual: bool, ptype: str):
        super().__init__()
        self.edge, self.src, self.dst, self.theme = edge, src, dst, theme
        self.residual, self.ptype = residual, ptype
        self.diff: str | None = None
        self.width_scale = 1.0
        src.edges.add(self)
        dst.edges.add(self)
        self.setZValue(0.5 if residual else 0)
        self.setFlag(QGraphicsItem.ItemIsSelectable)
        kind = "residual skip" if residual else f"{ptype} connection"
        self.setToolTip(f"{kind}: {edge.src}.{edge.src_port} → {edge.dst}.{edge.dst_port}")
        self.restyle()
        self.update_path()

    def detach(self):
        self.src.edges.discard(self)
        self.dst.edges.discard(self)

    def restyle(self):
        t = self.theme
        w = 2.2 * self.width_scale
        if self.residual:
            pen = QPen(QColor(t.residual), w, Qt.DashLine)
        elif self.ptype == "rotary":
            pen = QPen(QColor(PORT_COLOURS["rotary"]), w * 0.8, Qt.DotLine)
        else:
            pen = QPen(QColor(t.edge), w)
        if self.diff == "added":
            pen.setColor(QColor(DIFF["added"]))
            pen.setWidthF(w * 1.6)
        pen.setCapStyle(Qt.RoundCap)
        self.setPen(pen)

    def update_path(self):
        a = self.src.port_anchor(self.edge.src_port, False)
        b = self.dst.port_anchor(self.edge.dst_port, True)
        path = QPainterPath(a)
        dy = max(40.0, abs(b.y() - a.y()) * 0.5)
        if self.residual and abs(a.x() - b.x()) < self.dst.box_w and b.y() > a.y():
            bulge = min(self.dst.scenePos().x(), self.src.scenePos().x()) - 45
            path.cubicTo(QPointF(a.x(), a.y() + 30), QPointF(bulge, a.y() + 30), QPointF(bulge, (a.y() + b.y()) / 2))
            path.cubicTo(QPointF(bulge, b.y() - 30), QPointF(b.x(), b.y() - 40), b)
        elif b.y() < a.y() - 20:  # upwards (a stacked stem into the layer's top): a short loop, no deep dip
            mid = a.x() + (b.x() - a.x()) * 0.5
            path.cubicTo(QPointF(mid, a.y() + 36), QPointF(mid, b.y() - 36), b)
        else:
            path.cubicTo(QPointF(a.x(), a.y() + dy), QPointF(b.x(), b.y() - dy), b)
        around = self._frames_in_the_way(path, a, b)
        if around:
            path = _detour(a, b, around, self._frame_of(b))
        # arrow head into the input port
        ah = 9.0 * self.width_scale
        tip = b - QPointF(0, PORT_R)
        path.addPolygon(QPolygonF([tip, tip + QPointF(-ah * 0.6, -ah), tip + QPointF(ah * 0.6, -ah), tip]))
        self.setPath(path)

    # ------------------------------------------------------------------ around other frames
    def _frames(self) -> list[QRectF]:
        scene = self.scene()
        frames = getattr(scene, "frames", None) or {}
        return [f.rect for f in frames.values() if not f.rect.isEmpty()]

    def _frame_of(self, point: QPointF) -> QRectF | None:
        return next((r for r in self._frames() if r.contains(point)), None)

    def _frames_in_the_way(self, path: QPainterPath, a: QPointF, b: QPointF) -> list[QRectF]:
        """The region frames the drawn link would cross that hold neither of its ends (2017's
        decoder-side inputs, stacked under the encoder's on a small projector, ran through the
        encoder's frame: a reader takes such a link for one of the encoder's own)."""
        box = path.controlPointRect()  # a cheap first test: update_path runs for every edge at every animation tick
        foreign = [r for r in self._frames() if r.intersects(box) and not r.contains(a) and not r.contains(b)]
        if not foreign:
            return []
        samples = [path.pointAtPercent(i / 32) for i in range(1, 32)]
        return [r for r in foreign if any(r.contains(p) for p in samples)]


def _detour(a: QPointF, b: QPointF, around: list[QRectF], into: QRectF | None) -> QPainterPath:
    """A link that goes under the frames in its way, up the gap beside them and into its port:
    down from the output, along below the frames, up the gap, a short bend into the input."""
    block = around[0]
    for r in around[1:]:
        block = block.united(r)
    gap_right = into.left() if into is not None and into.left() > block.right() else block.right() + 36
    x = (block.right() + gap_right) / 2 if b.x() > block.right() else block.left() - 18
    y = max(a.y(), block.bottom()) + 18
    bend = 16.0
    path = QPainterPath(a)
    path.lineTo(a.x(), y - bend)
    path.quadTo(QPointF(a.x(), y), QPointF(a.x() + (bend if x > a.x() else -bend), y))
    path.lineTo(x - (bend if x > a.x() else -bend), y)
    path.quadTo(QPointF(x, y), QPointF(x, y - bend))
    path.lineTo(x, b.y() + 24)  # into the port from beside it, under the frame's label
    path.cubicTo(QPointF(x, b.y() - 16), QPointF(b.x() - 24, b.y() - 20), b)
    return path
