"""Scene items: blocks (with typed ports), edges, the "× N layers" frames, training stages.

Items draw themselves from plain values the scene gives them; they hold no model state
beyond what they display. Diff state is shown with colour *and* a tag word and outline style
(solid "+ new", dashed "− removed", double "~ changed") so it reads without colour.
"""
from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QPainter, QPainterPath, QPen, QPolygonF
from PySide6.QtWidgets import QApplication, QGraphicsItem, QGraphicsObject, QGraphicsPathItem, QStyle

from studio._qt.theme import DIFF, DIFF_WORD, PORT_COLOURS, Theme
from studio.core.layout import NODE_H, NODE_W

PORT_R = 6.0


def _font(size: float, bold: bool = False, mono: bool = False) -> QFont:
    f = QFont(QApplication.font())
    if mono:
        f.setFamily("monospace")
        f.setStyleHint(QFont.Monospace)
    f.setPointSizeF(size)
    f.setBold(bold)
    return f


class PortItem(QGraphicsItem):
    """A typed port dot on a block: inputs on the top edge, outputs on the bottom edge."""

    def __init__(self, node: "NodeItem", name: str, ptype: str, is_input: bool, optional: bool, help_: str):
        super().__init__(node)
        self.node, self.name, self.ptype, self.is_input, self.optional = node, name, ptype, is_input, optional
        self.highlight: str | None = None  # "accept" / "reject" while a connection is dragged
        self.setAcceptHoverEvents(True)
        kind = "input" if is_input else "output"
        opt = " (optional)" if optional else ""
        self.setToolTip(f"{kind} {name}: {ptype}{opt}" + (f"\n{help_}" if help_ else ""))
        self.setZValue(2)

    def boundingRect(self) -> QRectF:
        r = PORT_R + 4
        return QRectF(-r, -r, 2 * r, 2 * r)

    def shape(self):
        p = QPainterPath()
        p.addEllipse(self.boundingRect())
        return p

    def paint(self, painter: QPainter, option, widget=None):
        theme = self.node.theme
        painter.setRenderHint(QPainter.Antialiasing)
        col = QColor(PORT_COLOURS.get(self.ptype, "#999999"))
        if self.highlight == "accept":
            painter.setPen(QPen(QColor(DIFF["added"]), 3))
        elif self.highlight == "reject":
            painter.setPen(QPen(QColor(DIFF["removed"]), 3))
        else:
            painter.setPen(QPen(QColor(theme.node_body), 2))
        painter.setBrush(QBrush(QColor(theme.node_body) if self.optional else col))
        if self.optional:
            painter.setPen(QPen(col, 2.5))
        painter.drawEllipse(QPointF(0, 0), PORT_R, PORT_R)

    def scene_anchor(self) -> QPointF:
        return self.scenePos()


class NodeItem(QGraphicsObject):
    """One block. The scene sets title/lines/badges/diff; the item only paints them."""

    def __init__(self, node_id: str, theme: Theme, scene_ref):
        super().__init__()
        self.node_id, self.theme, self._scene_ref = node_id, theme, scene_ref
        self.kind = self.family = self.title = ""
        self.lines: list[str] = []
        self.badge = ""
        self.badge_tip = ""
        self.variant_badge = ""
        self.diff: str | None = None  # added / removed / changed
        self.flash = 0.0  # 0..1 pulse for "changed"
        self.invalid: str | None = None
        self.warning: str | None = None
        self.font_scale = 1.0
        self.ports: dict[tuple[str, bool], PortItem] = {}
        self.edges: set = set()
        self._tip = ""
        self._badge_w = None
        self.setFlags(QGraphicsItem.ItemIsSelectable | QGraphicsItem.ItemIsMovable
                      | QGraphicsItem.ItemSendsGeometryChanges | QGraphicsItem.ItemIsFocusable)
        self.xChanged.connect(self._moved)
        self.yChanged.connect(self._moved)
        self.setAcceptHoverEvents(True)
        self.setZValue(1)
        self.setCursor(Qt.PointingHandCursor)

    # ---------------------------------------------------------------- content
    def set_block(self, kind: str, spec, lines: list[str], badge: str, badge_tip: str, variant_badge: str,
                  tooltip: str) -> None:
        if badge != self.badge:
            self.prepareGeometryChange()  # the badge width changes the bounding rect
        if kind != self.kind:
            for p in self.ports.values():
                p.setParentItem(None)
                if p.scene():
                    p.scene().removeItem(p)
            self.ports = {}
            for is_input, ports in ((True, spec.inputs), (False, spec.outputs)):
                n = len(ports)
                for i, ps in enumerate(ports):
                    item = PortItem(self, ps.name, ps.type, is_input, ps.optional, ps.help)
                    x = NODE_W * (i + 1) / (n + 1)
                    item.setPos(x, 0 if is_input else NODE_H)
                    self.ports[(ps.name, is_input)] = item
        if (kind, lines, badge, variant_badge, tooltip) == (self.kind, self.lines, self.badge, self.variant_badge,
                                                            self._tip):
            return  # unchanged: no repaint, no geometry change (scrubbing revisits the same faces)
        self.kind, self.family, self.title = kind, spec.family, spec.title
        self.lines, self.badge, self.badge_tip, self.variant_badge = lines, badge, badge_tip, variant_badge
        self._badge_w = None
        self._tip = tooltip
        self._apply_tip()
        self.update()

    def set_issues(self, error: str | None, warning: str | None) -> None:
        """Validation marks: red outline + "! invalid" tag, the reason in the tooltip."""
        if (error, warning) == (self.invalid, self.warning):
            return
        self.invalid, self.warning = error, warning
        self._apply_tip()
        self.update()

    def _apply_tip(self):
        extra = (f"\n\n✖ {self.invalid}" if self.invalid else "") + (f"\n\n⚠ {self.warning}" if self.warning else "")
        self.setToolTip(self._tip + extra)

    def port(self, name: str, is_input: bool) -> PortItem | None:
        return self.ports.get((name, is_input))

    def port_anchor(self, name: str, is_input: bool) -> QPointF:
        p = self.port(name, is_input)
        if p is not None:
            return p.scenePos()
        return self.scenePos() + QPointF(NODE_W / 2, 0 if is_input else NODE_H)

    # ---------------------------------------------------------------- painting
    def boundingRect(self) -> QRectF:
        return QRectF(-8, -36, NODE_W + 8 + self._badge_width(max(self.font_scale, 1.0)) * 0.5 + 8, NODE_H + 58)

    def paint(self, painter: QPainter, option, widget=None):
        t = self.theme
        painter.setRenderHint(QPainter.Antialiasing)
        rect = QRectF(0, 0, NODE_W, NODE_H)
        body = t.tint(self.family)
        if self.flash > 0:
            c = QColor(DIFF["changed"])
            a = self.flash * 0.6
            body = QColor(int(body.red() + (c.red() - body.red()) * a), int(body.green() + (c.green() - body.green()) * a),
                          int(body.blue() + (c.blue() - body.blue()) * a))
        selected = bool(option.state & QStyle.State_Selected)
        pen = QPen(QColor(t.node_border), 1.2)
        if self.diff in DIFF:
            pen = QPen(QColor(DIFF[self.diff]), 4)
            if self.diff == "removed":
                pen.setStyle(Qt.DashLine)
        if self.invalid:  # a dash-dot outline, unlike any diff style, plus the "✖ invalid" tag
            pen = QPen(QColor(t.invalid), 5, Qt.DashDotLine)
        if selected:
            pen = QPen(QColor(t.selection), 4)
        painter.setPen(pen)
        painter.setBrush(body)
        painter.drawRoundedRect(rect, 9, 9)
        if self.diff == "changed" and not self.invalid and not selected:  # second outline: a shape cue
            painter.setPen(QPen(QColor(DIFF["changed"]), 1.5))
            painter.setBrush(QBrush(QColor(0, 0, 0, 0)))
            painter.drawRoundedRect(rect.adjusted(-6, -6, 6, 6), 12, 12)
        # family stripe
        painter.setPen(QPen(QColor(0, 0, 0, 0), 0))
        painter.setBrush(t.family(self.family))
        stripe = QPainterPath()
        stripe.addRoundedRect(QRectF(0, 0, 12, NODE_H), 9, 9)
        painter.drawPath(stripe.intersected(_rect_path(QRectF(0, 0, 9, NODE_H))))
        # text
        fs = self.font_scale
        painter.setPen(QColor(t.text))
        badge_w = self._badge_width(fs)
        title_rect = QRectF(18, 8, NODE_W - 26 - (badge_w * 0.5 if badge_w else 0), 24 * fs)
        n_lines = 2 if fs <= 1.1 else 1  # large (presentation) text: one settings line fits
        for size in (11.5, 10.5, 9.5):  # long titles shrink a little, then wrap onto a second line
            tf = _font(size * fs, bold=True)
            if QFontMetricsF(tf).horizontalAdvance(self.title) <= title_rect.width():
                painter.setFont(tf)
                painter.drawText(title_rect, Qt.AlignLeft | Qt.AlignVCenter, self.title)
                y = 8 + 24 * fs
                break
        else:
            tf = _font(10.0 * fs, bold=True)
            tfm = QFontMetricsF(tf)
            two = QRectF(title_rect.x(), title_rect.y(), title_rect.width(), tfm.lineSpacing() * 2 + 2)
            painter.setFont(tf)
            painter.drawText(two, Qt.AlignLeft | Qt.AlignTop | Qt.TextWordWrap, self.title)
            y = two.bottom() + 1
            n_lines = 1
        lf = _font(9.0 * fs)
        painter.setFont(lf)
        painter.setPen(QColor(t.muted))
        fm = QFontMetricsF(lf)
        for line in self.lines[:n_lines]:
            r = QRectF(18, y, NODE_W - 26, fm.height())
            painter.drawText(r, Qt.AlignLeft | Qt.AlignVCenter, fm.elidedText(line, Qt.ElideRight, r.width()))
            y += fm.height()
        if self.badge:
            # straddles the top-right corner like a notification badge, leaving the title its width
            br = QRectF(NODE_W - badge_w * 0.75, -11 * fs, badge_w, 21 * fs)
            painter.setPen(QPen(QColor(t.node_border), 1))
            painter.setBrush(QColor(t.base))
            painter.drawRoundedRect(br, br.height() / 2, br.height() / 2)
            painter.setPen(QColor(t.text))
            painter.setFont(_font(9.0 * fs, bold=True))
            painter.drawText(br, Qt.AlignCenter, self.badge)
        if self.variant_badge:
            vf = _font(8.5 * fs, bold=True)
            w = QFontMetricsF(vf).horizontalAdvance(self.variant_badge) + 14
            # on the bottom edge, right of the output port in the middle
            self._pill(painter, QRectF(NODE_W / 2 + 10, NODE_H - 9 * fs, w, 18 * fs), self.variant_badge,
                       t.family("moe"), QColor("#000000"), 8.5 * fs, bold=True)
        tag = None
        if self.invalid:
            tag, col = "✖ invalid", QColor(t.invalid)
        elif self.diff in DIFF_WORD:
            tag, col = DIFF_WORD[self.diff], QColor(DIFF[self.diff])
        elif self.warning:
            tag, col = "⚠ warning", QColor(DIFF["changed"])
        if tag:
            tf2 = _font(9.5 * fs, bold=True)
            w = QFontMetricsF(tf2).horizontalAdvance(tag) + 16
            self._pill(painter, QRectF(4, -28 * min(fs, 1.2), w, 22 * min(fs, 1.2)), tag, col,
                       QColor("#ffffff") if self.invalid or self.diff == "removed" else QColor("#000000"), 9.5 * fs, True)

    def _badge_width(self, fs: float) -> float:
        if not self.badge:
            return 0.0
        if self._badge_w is None or self._badge_w[0] != fs:
            self._badge_w = (fs, QFontMetricsF(_font(9.0 * fs, bold=True)).horizontalAdvance(self.badge) + 14)
        return self._badge_w[1]

    @staticmethod
    def _pill(painter, rect: QRectF, text: str, bg: QColor, fg: QColor, size: float, bold=False):
        painter.setPen(QPen(QColor(0, 0, 0, 0), 0))
        painter.setBrush(bg)
        painter.drawRoundedRect(rect, rect.height() / 2, rect.height() / 2)
        painter.setPen(fg)
        painter.setFont(_font(size, bold))
        painter.drawText(rect, Qt.AlignCenter, text)

    # ---------------------------------------------------------------- interaction
    def _moved(self):
        # QGraphicsObject's x/yChanged signals instead of an itemChange override: PySide6
        # mishandles the None that itemChange passes through when items leave the scene.
        for e in self.edges:
            e.update_path()

    def hoverEnterEvent(self, event):
        self._scene_ref.node_hovered(self.node_id)
        super().hoverEnterEvent(event)

    def hoverLeaveEvent(self, event):
        self._scene_ref.node_hovered("")
        super().hoverLeaveEvent(event)

    def mouseDoubleClickEvent(self, event):
        self._scene_ref.node_activated(self.node_id)
        super().mouseDoubleClickEvent(event)

    def mouseReleaseEvent(self, event):
        super().mouseReleaseEvent(event)
        self._scene_ref.node_released(self)


def _rect_path(r: QRectF) -> QPainterPath:
    p = QPainterPath()
    p.addRect(r)
    return p


class EdgeItem(QGraphicsPathItem):
    """A connection. Residual skips are dashed arcs to the left; rotary tables dotted."""

    def __init__(self, edge, src: NodeItem, dst: NodeItem, theme: Theme, residual: bool, ptype: str):
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
        if self.residual and abs(a.x() - b.x()) < NODE_W and b.y() > a.y():
            bulge = min(self.dst.scenePos().x(), self.src.scenePos().x()) - 45
            path.cubicTo(QPointF(a.x(), a.y() + 30), QPointF(bulge, a.y() + 30), QPointF(bulge, (a.y() + b.y()) / 2))
            path.cubicTo(QPointF(bulge, b.y() - 30), QPointF(b.x(), b.y() - 40), b)
        else:
            path.cubicTo(QPointF(a.x(), a.y() + dy), QPointF(b.x(), b.y() - dy), b)
        # arrow head into the input port
        ah = 9.0 * self.width_scale
        tip = b - QPointF(0, PORT_R)
        path.addPolygon(QPolygonF([tip, tip + QPointF(-ah * 0.6, -ah), tip + QPointF(ah * 0.6, -ah), tip]))
        self.setPath(path)


class FrameItem(QGraphicsItem):
    """The repeated region drawn once, framed, with "× N layers" (and Encoder/Decoder for 2017)."""

    def __init__(self, theme: Theme):
        super().__init__()
        self.theme = theme
        self.rect = QRectF()
        self.label = ""
        self.title = ""
        self.font_scale = 1.0
        self.setZValue(-2)

    def set(self, rect: QRectF, title: str, label: str):
        self.prepareGeometryChange()
        self.rect, self.title, self.label = rect, title, label
        self.update()

    def boundingRect(self) -> QRectF:
        return self.rect.adjusted(-4, -4, 4, 4)

    def paint(self, painter: QPainter, option, widget=None):
        t = self.theme
        painter.setRenderHint(QPainter.Antialiasing)
        painter.setPen(QPen(QColor(t.frame), 2, Qt.DashLine))
        painter.setBrush(QColor(t.frame_fill))
        painter.drawRoundedRect(self.rect, 16, 16)
        f = _font(14 * self.font_scale, bold=True)
        painter.setFont(f)
        painter.setPen(QColor(t.text))
        text = f"{self.title}  {self.label}" if self.title else self.label
        painter.drawText(self.rect.adjusted(16, 8, -16, 0), Qt.AlignLeft | Qt.AlignTop, text)


class StageItem(QGraphicsItem):
    """One training stage (pretraining, SFT, reward model, PPO, GRPO...) shown above the graph."""

    W, H = 270.0, 112.0

    def __init__(self, theme: Theme, title: str, detail: str, index: int, last: bool):
        super().__init__()
        self.theme, self.title, self.detail, self.index, self.last = theme, title, detail, index, last
        self.font_scale = 1.0
        self.diff: str | None = None
        self.setToolTip(f"Training stage {index + 1}: {title}" + (f"\n{detail}" if detail else ""))
        self.setZValue(1)

    def boundingRect(self) -> QRectF:
        return QRectF(-4, -4, self.W + 60, self.H + 8)

    def paint(self, painter: QPainter, option, widget=None):
        t = self.theme
        painter.setRenderHint(QPainter.Antialiasing)
        r = QRectF(0, 0, self.W, self.H)
        painter.setPen(QPen(QColor(DIFF["added"]) if self.diff == "added" else t.family("training"), 2.5))
        painter.setBrush(t.tint("training"))
        painter.drawRoundedRect(r, 10, 10)
        fs = self.font_scale
        f = _font(11 * fs, bold=True)
        painter.setFont(f)
        painter.setPen(QColor(t.text))
        fm = QFontMetricsF(f)
        painter.drawText(QRectF(10, 6, self.W - 20, fm.height()), Qt.AlignLeft,
                         fm.elidedText(f"{self.index + 1}. {self.title}", Qt.ElideRight, self.W - 20))
        df = _font(9.5 * fs)
        painter.setFont(df)
        painter.setPen(QColor(t.muted))
        painter.drawText(QRectF(10, 8 + fm.height(), self.W - 20, self.H - 14 - fm.height()),
                         Qt.TextWordWrap | Qt.AlignLeft | Qt.AlignTop, self.detail)
        if not self.last:
            painter.setPen(QPen(t.family("training"), 3))
            y = self.H / 2
            painter.drawLine(QPointF(self.W + 8, y), QPointF(self.W + 44, y))
            painter.setBrush(t.family("training"))
            painter.drawPolygon(QPolygonF([QPointF(self.W + 50, y), QPointF(self.W + 40, y - 7), QPointF(self.W + 40, y + 7)]))
