"""A connection between two blocks' ports in the graph scene (drawn, restyled for the diff and
re-routed when a block moves); the ports and blocks are in studio._qt.graph.graph_items."""
from __future__ import annotations

from PySide6.QtCore import QPointF, Qt
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
        # arrow head into the input port
        ah = 9.0 * self.width_scale
        tip = b - QPointF(0, PORT_R)
        path.addPolygon(QPolygonF([tip, tip + QPointF(-ah * 0.6, -ah), tip + QPointF(ah * 0.6, -ah), tip]))
        self.setPath(path)
