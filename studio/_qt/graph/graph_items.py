"""Scene items: blocks (with typed ports), edges, the "× N layers" frames, training stages.

Items draw themselves from plain values the scene gives them; they hold no model state
beyond what they display. Diff state is shown with colour *and* a tag word and outline style
(solid "+ new", dashed "− removed", double "~ changed") so it reads without colour.
"""
from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QApplication, QGraphicsItem, QGraphicsObject, QStyle

from studio._qt.graph.block_face import fold_lines
from studio._qt.present.present_geometry import PAD_Y, STRIPE, Present
from studio._qt.theme import DIFF, DIFF_WORD, PORT_COLOURS, Theme
from studio.core.model.layout import NODE_H, NODE_W

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
        self.box_w, self.box_h = NODE_W, NODE_H
        self.title_lines: list[str] | None = None  # presentation: the title as laid out (one or two lines)
        self.present: Present | None = None  # presentation sizes; None in normal mode
        self.ports: dict[tuple[str, bool], PortItem] = {}
        self.edges: set = set()
        self._tip = ""
        self._on_tag: str | None = None  # the pointer is over a tag: its own tooltip is shown
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
                for ps in ports:
                    self.ports[(ps.name, is_input)] = PortItem(self, ps.name, ps.type, is_input, ps.optional, ps.help)
            self._place_ports()
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
        return self.scenePos() + QPointF(self.box_w / 2, 0 if is_input else self.box_h)

    # ---------------------------------------------------------------- geometry
    def set_box(self, w: float, h: float, title_lines: list[str] | None = None, present: Present | None = None):
        """Box size and presentation sizes (None: the normal 190×68 block drawn in points)."""
        self.prepareGeometryChange()
        self.box_w, self.box_h, self.title_lines, self.present = w, h, title_lines, present
        self._badge_w = None
        self._place_ports()
        for e in self.edges:
            e.update_path()
        self.update()

    def _place_ports(self):
        for is_input in (True, False):
            ports = [p for (_n, inp), p in self.ports.items() if inp == is_input]
            for i, item in enumerate(ports):
                item.setPos(self.box_w * (i + 1) / (len(ports) + 1), 0 if is_input else self.box_h)

    # ---------------------------------------------------------------- painting
    def boundingRect(self) -> QRectF:
        if self.present is not None:
            top = self.present.pill_h + 8
            return QRectF(-8, -top, self.box_w + 16, self.box_h + top + self.present.pill_h / 2 + 10)
        return QRectF(-8, -36, self.box_w + 8 + self._badge_width(max(self.font_scale, 1.0)) * 0.5 + 8, self.box_h + 58)

    def _tag(self):
        if self.invalid:
            return "✖ invalid", QColor(self.theme.invalid)
        if self.diff in DIFF_WORD:
            return DIFF_WORD[self.diff], QColor(DIFF[self.diff])
        if self.warning and self.present is None:  # presenting: the plan has no room for it (it covered
            return "⚠ warning", QColor(DIFF["changed"])  # GShard's frame label); the tooltip keeps it
        return None, None

    def runs(self) -> list[tuple]:
        """Every text the block draws: (role, font, rect, text, alignment flags, pill kind or None).
        paint() draws exactly these; tests measure them."""
        pr, w, h = self.present, self.box_w, self.box_h
        out = []
        left, ctr = Qt.AlignLeft | Qt.AlignVCenter, Qt.AlignCenter
        tag, _ = self._tag()
        if pr is None:
            fs = self.font_scale
            badge_w = self._badge_width(fs)
            # the full width: the badge straddles the corner above the title's capitals (leaving
            # it room shrank "Token embedding" to a smaller font than its unbadged neighbours)
            title_rect = QRectF(18, 8, w - 26, 24 * fs)
            n_lines = 2 if fs <= 1.1 else 1  # large text: one settings line fits
            tf, fits = self._normal_title_font(title_rect.width())
            if fits:
                out.append(("title", tf, title_rect, self.title, left, None))
                y = 8 + 24 * fs
            else:
                two = QRectF(title_rect.x(), title_rect.y(), title_rect.width(), QFontMetricsF(tf).lineSpacing() * 2 + 2)
                out.append(("title", tf, two, self.title, Qt.AlignLeft | Qt.AlignTop | Qt.TextWordWrap, None))
                y = two.bottom() + 1
                n_lines = 1
            lf = _font(9.0 * fs)
            fm = QFontMetricsF(lf)
            for line in fold_lines(self.lines, fm, w - 26)[:n_lines]:
                r = QRectF(18, y, w - 26, fm.height())
                out.append(("line", lf, r, fm.elidedText(line, Qt.ElideRight, r.width()), left, None))
                y += fm.height()
            if self.badge:  # straddles the top-right corner like a notification badge
                out.append(("badge", _font(9.0 * fs, bold=True), QRectF(w - badge_w * 0.75, -11 * fs, badge_w, 21 * fs),
                            self.badge, ctr, "badge"))
            if self.variant_badge:  # on the bottom edge, right of the output port in the middle
                vf = _font(8.5 * fs, bold=True)
                vw = QFontMetricsF(vf).horizontalAdvance(self.variant_badge) + 14
                out.append(("variant", vf, QRectF(w / 2 + 10, h - 9 * fs, vw, 18 * fs), self.variant_badge, ctr, "variant"))
            if tag:
                tf2 = _font(9.5 * fs, bold=True)
                tw = QFontMetricsF(tf2).horizontalAdvance(tag) + 16
                out.append(("tag", tf2, QRectF(4, -28 * min(fs, 1.2), tw, 22 * min(fs, 1.2)), tag, ctr, "tag"))
            return out
        tf, xf, bf = pr.title_font(), pr.text_font(), pr.text_font(bold=True)
        y = PAD_Y
        for line in self.title_lines or [self.title]:
            out.append(("title", tf, QRectF(STRIPE, y, w - STRIPE - 4, pr.title_line), line, left, None))
            y += pr.title_line
        if pr.show_lines and self.lines:
            out.append(("line", xf, QRectF(STRIPE, y, w - STRIPE - 4, pr.text_line), self.lines[0], left, None))
        bfm = QFontMetricsF(bf)
        if pr.show_badges and self.badge:  # above the right end, beside the diff tag
            bw = bfm.horizontalAdvance(self.badge) + 16
            out.append(("badge", bf, QRectF(w - bw, -pr.pill_h - 4, bw, pr.pill_h), self.badge, ctr, "badge"))
        if pr.show_badges and self.variant_badge:
            vw = bfm.horizontalAdvance(self.variant_badge) + 16
            out.append(("variant", bf, QRectF(w - vw - 8, h - pr.pill_h / 2, vw, pr.pill_h), self.variant_badge, ctr,
                        "variant"))
        if tag:
            out.append(("tag", bf, QRectF(0, -pr.pill_h - 4, bfm.horizontalAdvance(tag) + 20, pr.pill_h), tag, ctr, "tag"))
        return out

    def _normal_title_font(self, width: float) -> tuple[QFont, bool]:
        """The title's font outside presentation mode, and whether the title fits on one line:
        long titles shrink a little (11.5, 10.5, 10 pt), then wrap onto a second line at 10 pt."""
        fs = self.font_scale
        for size in (11.5, 10.5, 10.0):
            tf = _font(size * fs, bold=True)
            if QFontMetricsF(tf).horizontalAdvance(self.title) <= width:
                return tf, True
        return tf, False

    def title_fonts(self) -> list[QFont]:
        """The font of each title line runs() draws (as its "title" runs, empty lines left out),
        without laying out the rest of the block: the view's readable-scale check needs only these."""
        pr = self.present
        if pr is None:
            if not self.title:
                return []
            return [self._normal_title_font(self.box_w - 26)[0]]
        tf = pr.title_font()
        return [tf for line in self.title_lines or [self.title] if line]

    def texts(self) -> list[tuple[str, QFont, str]]:
        return [(role, font, text) for role, font, _r, text, _f, _p in self.runs()]

    def shape(self) -> QPainterPath:
        """What the pointer hits: the box and this block's own tags and badges, not the margin
        around them (a neighbour's "✖ invalid" tag sits in that margin and has its own tooltip)."""
        p = QPainterPath()
        p.addRoundedRect(QRectF(0, 0, self.box_w, self.box_h), 9, 9)
        for _role, _f, r, _t, _fl, pill in self.runs():
            if pill:
                p.addRoundedRect(r, r.height() / 2, r.height() / 2)
        return p

    def tag_tooltip(self, pos: QPointF) -> str | None:
        """The tooltip of the tag or badge under ``pos`` (item coordinates), None elsewhere."""
        for role, _f, r, _t, _fl, pill in self.runs():
            if pill and r.contains(pos):
                if role == "tag" and self.invalid:
                    return f"✖ invalid: {self.invalid}"
                if role == "tag" and self.warning and not self.diff:
                    return f"⚠ {self.warning}"
                if role == "tag":
                    return {"added": "New in this milestone", "removed": "Removed in this milestone",
                            "changed": "Settings changed in this milestone"}.get(self.diff or "", None)
                if role == "badge":
                    return f"Parameters of this block: {self.badge} (per layer where it repeats)"
                if role == "variant":
                    return self.variant_badge
        return None

    def hoverMoveEvent(self, event):
        tip = self.tag_tooltip(event.pos())
        if tip is not None and tip != self._on_tag:
            self._on_tag = tip
            self.setToolTip(tip)
        elif tip is None and self._on_tag is not None:
            self._on_tag = None
            self._apply_tip()
        super().hoverMoveEvent(event)

    def paint(self, painter: QPainter, option, widget=None):
        t = self.theme
        painter.setRenderHint(QPainter.Antialiasing)
        rect = QRectF(0, 0, self.box_w, self.box_h)
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
        stripe.addRoundedRect(QRectF(0, 0, 12, self.box_h), 9, 9)
        painter.drawPath(stripe.intersected(_rect_path(QRectF(0, 0, 9, self.box_h))))
        _, tag_col = self._tag()
        for role, font, r, text, flags, pill in self.runs():
            if pill == "badge":
                painter.setPen(QPen(QColor(t.node_border), 1))
                painter.setBrush(QColor(t.base))
                painter.drawRoundedRect(r, r.height() / 2, r.height() / 2)
                painter.setPen(QColor(t.text))
            elif pill == "variant":
                self._pill_bg(painter, r, t.family("moe"))
                painter.setPen(QColor("#000000"))
            elif pill == "tag":
                self._pill_bg(painter, r, tag_col)
                painter.setPen(QColor("#ffffff") if self.invalid or self.diff == "removed" else QColor("#000000"))
            else:
                painter.setPen(QColor(t.text if role == "title" else t.muted))
            painter.setFont(font)
            painter.drawText(r, flags, text)

    def _badge_width(self, fs: float) -> float:
        if not self.badge:
            return 0.0
        if self._badge_w is None or self._badge_w[0] != fs:
            self._badge_w = (fs, QFontMetricsF(_font(9.0 * fs, bold=True)).horizontalAdvance(self.badge) + 14)
        return self._badge_w[1]

    @staticmethod
    def _pill_bg(painter, rect: QRectF, bg: QColor):
        painter.setPen(QPen(QColor(0, 0, 0, 0), 0))
        painter.setBrush(bg)
        painter.drawRoundedRect(rect, rect.height() / 2, rect.height() / 2)

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

    def mouseReleaseEvent(self, event):
        super().mouseReleaseEvent(event)
        # a click (released where it was pressed) selects and inspects; activating on the
        # double-click's press instead opened a dock under the held button, and the re-fitted
        # view then dragged the block
        self._scene_ref.node_released(self, clicked=event.button() == Qt.LeftButton)


def _rect_path(r: QRectF) -> QPainterPath:
    p = QPainterPath()
    p.addRect(r)
    return p
