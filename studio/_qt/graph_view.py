"""The graph view around the scene (studio._qt.graph_scene): zoom, pan, fit, keyboard stepping,
block activation, drops from the palette, and the presentation-mode title card."""
from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QGraphicsView, QLabel

from studio._qt.graph_items import NodeItem
from studio._qt.graph_scene import GraphScene  # noqa: F401  (re-exported: GraphScene lived here)
from studio._qt.theme import LIGHT, Theme
from studio.core.layout import NODE_H, NODE_W


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
