"""Dragging a connection from port to port in the graph scene, with live accept/reject.

The scene asks ``connect_probe(src, sport, dst, dport)`` (the editor's check_connect) while
the mouse moves, colours the target port and says why; on release it clears that line and
emits ``connect_requested``; the editor turns it into an undo command or shows the refusal.
"""
from __future__ import annotations

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsPathItem

from studio._qt.graph.graph_items import NodeItem, PortItem


class PortDragMixin:
    def _port_at(self, pos):
        for it in self.items(pos):
            if isinstance(it, PortItem):
                return it
        return None

    def mousePressEvent(self, event):
        port = self._port_at(event.scenePos()) if self.editable and event.button() == Qt.LeftButton else None
        if port is not None:  # start dragging a connection from this port
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
        port, tmp, old = self._drag
        start, end = port.scenePos(), event.scenePos()
        path = QPainterPath(start)
        path.cubicTo(QPointF(start.x(), (start.y() + end.y()) / 2), QPointF(end.x(), (start.y() + end.y()) / 2), end)
        tmp.setPath(path)
        target = self._port_at(end)
        if target is port:
            target = None
        if old is not None and old is not target:
            old.highlight = None
            old.update()
        self._drag[2] = target
        if target is not None and target.is_input == port.is_input:
            target.highlight = "reject"
            target.update()
            self.probe_message.emit(_same_direction(port))
        elif target is not None:
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
        self.probe_message.emit("")  # the "Release to connect …" line is over once released
        if target is not None:
            target.highlight = None
            target.update()
            if target.is_input == port.is_input:  # said where the user let go, not silently dropped
                self.probe_message.emit(_same_direction(port))
            else:
                self.connect_requested.emit(*self._ends(port, target))


def _same_direction(port) -> str:
    """Why a connection between two outputs (or two inputs) is not made, and what would work."""
    if port.is_input:
        return "Cannot connect two inputs: drop on an output port"
    return "Cannot connect: an output cannot feed an output: drop on an input port"
