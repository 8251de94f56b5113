"""The graph view around the scene (studio._qt.graph.graph_scene): zoom, pan, fit, keyboard stepping,
block activation, drops from the palette, and the presentation-mode title card."""
from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QGraphicsView, QLabel

from studio._qt.graph.graph_items import NodeItem
from studio._qt.present.present_geometry import font_px
from studio._qt.graph.graph_scene import GraphScene
from studio._qt.theme import LIGHT, Theme, theme_of
from studio.core.model.layout import NODE_H, NODE_W


class GraphView(QGraphicsView):
    """Zoom (Ctrl+wheel), pan (middle drag or Space+drag), fit (Ctrl+0), ←/→ Home/End step milestones."""
    block_activated = Signal(str)
    node_hovered = Signal(str)

    def __init__(self, model, theme: Theme = LIGHT, parent=None):
        """``model``: the StudioModel (keys step its timeline), or a bare Document to show one
        architecture (Compare mode, rendering)."""
        super().__init__(parent)
        self.model = model
        self.timeline = getattr(model, "timeline", None)
        self.graph_scene = GraphScene(getattr(model, "document", model), theme, self, getattr(model, "figures", None))
        if getattr(model, "view", None) is not None:
            model.view.theme_changed.connect(self._on_theme)
        self.setScene(self.graph_scene)
        self.setRenderHints(QPainter.Antialiasing | QPainter.TextAntialiasing | QPainter.SmoothPixmapTransform)
        self.setDragMode(QGraphicsView.RubberBandDrag)
        self.setTransformationAnchor(QGraphicsView.AnchorUnderMouse)
        self.setViewportUpdateMode(QGraphicsView.SmartViewportUpdate)
        self.setFocusPolicy(Qt.StrongFocus)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarAsNeeded)  # only when titles would drop below 12 px
        self.setVerticalScrollBarPolicy(Qt.ScrollBarAsNeeded)
        self.auto_fit = True
        self._fold_memo = {}  # _fold_key(...) -> whether the stage strip folds (normal mode)
        self._pan = None
        self.graph_scene.activated.connect(self.block_activated)
        self.graph_scene.hovered.connect(self.node_hovered)
        self.graph_scene.changed_diff.connect(lambda _d: self.auto_fit and self.fit_all())
        self.graph_scene.settled.connect(lambda: self.auto_fit and self.fit_all())
        self.drop_handler = None  # callable(kind, scene QPointF): the editor adds a dropped block
        self.setAcceptDrops(True)
        self.card = QLabel(self)  # not the viewport: its children scroll with the scene
        self.card.setWordWrap(True)
        self.card.setTextFormat(Qt.RichText)
        self.card.hide()
        self.setToolTip("")

    presenting = False
    NORMAL_MIN_TITLE_PX = 12.0  # node titles on screen never below this: scroll instead of shrinking
    # "readable": as large as fits but titles never under 12 px (scroll for the rest), the
    # default; "all": the whole graph, however small (the overview). Kept while scrubbing.
    fit_mode = "readable"


    def _on_theme(self, _name: str) -> None:
        self.graph_scene.set_theme(theme_of(self.model))

    def fit_to(self, mode: str) -> None:
        """Fit now and keep fitting this way while milestones change (View → Fit …)."""
        self.fit_mode = mode
        self.auto_fit = True
        self.fit_all()

    def set_presenting(self, on: bool) -> None:
        """Presentation mode: the scene laid out for a projector in the area beside the card."""
        self.presenting = on
        policy = Qt.ScrollBarAlwaysOff if on else Qt.ScrollBarAsNeeded
        self.setHorizontalScrollBarPolicy(policy)
        self.setVerticalScrollBarPolicy(policy)
        self._present_area()

    def _present_area(self) -> None:
        if not self.presenting:
            self.graph_scene.set_presentation(None)
            return
        vp = self.viewport()
        self.graph_scene.set_presentation((vp.width() - self.card_room(), vp.height()))

    def card_room(self) -> float:
        """Viewport pixels the presentation card takes on the left (with its margins)."""
        return self.card_width() + 36.0 if self.presenting else 0.0

    def card_width(self) -> int:
        return max(300, min(460, int(self.viewport().width() * 0.25)))

    def min_readable_scale(self) -> float:
        """The smallest view scale at which every node title is ≥ 12 px on screen (normal mode)."""
        dpi = self.viewport().logicalDpiY() or 96.0
        # the blocks' title fonts alone (what drawn_texts() reports as "title"), without laying
        # out every other text: this runs on every scrub step
        sizes = [font_px(f, dpi) for it in self.graph_scene.items()
                 if isinstance(it, NodeItem) and it.isVisible() for f in it.title_fonts()]
        return self.NORMAL_MIN_TITLE_PX / min(sizes) if sizes else 0.1

    def _fits_readable(self, rect: QRectF, min_scale: float) -> bool:
        vp = self.viewport().rect()
        k = min((vp.width() - 24) / max(rect.width(), 1), (vp.height() - 24) / max(rect.height(), 1))
        return k >= min_scale

    def _fold_key(self, readable: float) -> tuple | None:
        """Everything the unfolded strip's fit depends on: the strip's own key (its stages and
        place, font scale, theme; folding left out), the blocks' and frames' extent, the viewport
        and the readable scale. Scrubbing back over a milestone then decides the fold without
        building the strip unfolded and folded again (it built it 2.5 times per step)."""
        sc = self.graph_scene
        strip = getattr(sc, "_stages_key", None)
        if strip is None:
            return None
        # (stages, top, left, font scale, theme, present, folded, width): folding and the place left
        # out. The strip is placed from the blocks' top-left, so only the graph's extent relative to
        # that corner decides the fold: the layout's stability translation (which depends on the
        # milestone shown before) must not make scrubbing back a miss (DeepSeek-V4's arrival moved
        # every later graph and the memo missed on 19 of 29 steps back).
        top = min((sc.target_pos(it).y() for it in sc.nodes.values()), default=0.0)
        left = min((sc.target_pos(it).x() for it in sc.nodes.values()), default=0.0)
        strip = (strip[0],) + strip[3:6] + strip[7:]
        rect = QRectF()
        for it in sc.nodes.values():
            rect = rect.united(it.sceneBoundingRect().translated(sc.target_pos(it) - it.pos()))
        for r in sc.frame_rects(settled=True).values():
            rect = rect.united(r)
        extent = tuple(round(v, 1) for v in (rect.x() - left, rect.y() - top, rect.width(), rect.height()))
        vp = self.viewport().rect()
        return strip, bool(sc.frames), extent, (vp.width(), vp.height()), readable

    _fold_memo: dict = {}  # replaced per view in __init__

    def fit_all(self) -> None:
        """Whole graph in view. Presenting: scaled into the area right of the card. Normal: as
        large as fits, up to 1.4; in the "readable" fit mode never so small that a node title
        drops below 12 px on screen (then it shows the start of the graph and scroll bars reach
        the rest), in the "all" mode as small as the whole graph needs."""
        sc = self.graph_scene
        # measured once: folding the stage strip moves no block title, so it stays the same
        readable = None if self.presenting else self.min_readable_scale()
        if not self.presenting and sc.stages_user_choice is None and sc.stage_items:
            # a small view: the stage strip folds to one line before the graph needs scrolling
            key = self._fold_key(readable)
            folded = self._fold_memo.get(key) if key is not None else None
            if folded is None:
                sc.set_stages_folded(False)
                folded = not self._fits_readable(sc.content_rect(), readable)
                if key is not None:
                    if len(self._fold_memo) >= 256:
                        self._fold_memo.clear()
                    self._fold_memo[key] = folded
            sc.set_stages_folded(folded)
        rect = sc.content_rect()
        if rect.isNull():
            return
        vp = QRectF(self.viewport().rect())
        m = 12.0  # the same margin present_geometry plans with
        area = QRectF(vp.x() + self.card_room(), vp.y(), vp.width() - self.card_room(), vp.height()).adjusted(m, m, -m, -m)
        k = min(area.width() / max(rect.width(), 1), area.height() / max(rect.height(), 1))
        k = min(k, 2.0 if self.presenting else 1.4)
        if not self.presenting and self.fit_mode == "readable":
            k = max(k, readable)
        if self.presenting:
            self.graph_scene.setSceneRect(rect.adjusted(-4000, -4000, 4000, 4000))
        else:  # scroll bars only where the graph is larger than the view
            def extra(view_px: float, size: float) -> float:
                if size * k + 2 * m <= view_px:  # fits: the scene exactly as wide as the view, no bar
                    return (view_px / k - size) / 2 - 0.5 / k
                return m / k
            extra_w, extra_h = extra(vp.width(), rect.width()), extra(vp.height(), rect.height())
            self.graph_scene.setSceneRect(rect.adjusted(-extra_w, -extra_h, extra_w, extra_h))
        self.resetTransform()
        self.scale(k, k)
        fits = rect.width() * k <= area.width() + 1 and rect.height() * k <= area.height() + 1
        if fits:  # the graph's centre on the area's centre
            off = area.center() - vp.center()
            self.centerOn(rect.center() - QPointF(off.x() / k, off.y() / k))
        else:  # too large to read whole: start at the top-left, where the model starts
            self.centerOn(rect.topLeft() + QPointF(vp.width() / (2 * k) - m / k, vp.height() / (2 * k) - m / k))

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
        tl = self.timeline
        if step and tl is not None and not event.modifiers():
            tl.step(step)
            return
        if k == Qt.Key_Home and tl is not None:
            tl.first()
            return
        if k == Qt.Key_End and tl is not None:
            tl.last()
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
        if self.presenting:
            self._present_area()  # the projector layout depends on the room it has
        if self.auto_fit:
            self.fit_all()

    def _size_card(self):
        """Fit the card to its text (QLabel's own height-for-width over-estimates rich text)."""
        from PySide6.QtGui import QTextDocument
        w = self.card_width()
        doc = QTextDocument()
        doc.setDefaultFont(self.card.font())
        doc.setHtml(self.card.text())
        doc.setTextWidth(w - 40)  # the stylesheet's padding and border
        self.card.setFixedSize(w, int(doc.size().height()) + 30)

    def _mime_ok(self, event) -> bool:
        from studio._qt.graph.palette import MIME
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
        from studio._qt.graph.palette import MIME
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
