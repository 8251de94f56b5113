"""The timeline strip: one tick and short label per milestone, recipes in a "Build your own" group.

Dragging scrubs live (every tick crossed sets the model's index while the mouse moves),
←/→ step, Home/End jump, hovering a tick shows the milestone card. Edited milestones carry a
✎ marker, llama2.c-exportable ones a small "c" (when the exporter exists). The widget keeps
no state of its own beyond geometry: it reads the TimelineModel and repaints on its events.
"""
from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor, QFontMetricsF, QPainter, QPen
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QSizePolicy, QToolButton, QToolTip, QWidget

from studio._qt.text import esc
from studio._qt.theme import DIFF, LIGHT, Theme, ui_font

GROUP_GAP = 72.0


def short_title(title: str) -> str:
    """Tick label: the title without its parenthesised note ("InstructGPT (RLHF)" → "InstructGPT")."""
    return title.split(" (")[0].strip() or title


class TimelineStrip(QWidget):
    hovered_index = Signal(int)

    def __init__(self, model, theme: Theme = LIGHT, parent=None):
        super().__init__(parent)
        self.model, self.theme = model, theme
        self.font_pt = 9.0
        self.llama2c: dict[str, bool] = {}
        self._dragging = False
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.StrongFocus)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)
        self.setToolTip("")
        self.setAccessibleName("Timeline")
        self.setStatusTip("Drag or use ←/→ Home/End to move through the milestones; ✎ edited, ·c exports to llama2.c")
        model.index_changed.connect(lambda _i: self.update())
        model.edited_changed.connect(lambda _e: self.update())
        self._refresh_height()

    # ------------------------------------------------------------------ geometry
    def _refresh_height(self):
        fm = QFontMetricsF(ui_font(self.font_pt))
        self.setFixedHeight(int(fm.height() * 4 + 38))

    def set_font_pt(self, pt: float):
        self.font_pt = pt
        self._refresh_height()
        self.update()

    def sizeHint(self):
        return QSize(900, self.height())

    def positions(self) -> list[float]:
        """x of every entry: milestones evenly over the left part, recipes after a gap."""
        n_m, n_r = len(self.model.milestone_ids), len(self.model.recipe_ids)
        left, right = 40.0, float(self.width()) - 40.0
        if n_r:
            split = left + (right - left) * (n_m / (n_m + n_r + 1.2))
        else:
            split = right
        xs = [left + (split - left) * (i / max(1, n_m - 1)) for i in range(n_m)]
        if n_r:
            r0 = split + GROUP_GAP
            xs += [r0 + (right - r0) * (i / max(1, n_r - 1)) if n_r > 1 else (r0 + right) / 2 for i in range(n_r)]
        return xs

    def axis_y(self) -> float:
        return QFontMetricsF(ui_font(self.font_pt)).height() + 16

    def index_at(self, x: float) -> int:
        xs = self.positions()
        if not xs:
            return -1
        return min(range(len(xs)), key=lambda i: abs(xs[i] - x))

    # ------------------------------------------------------------------ painting
    def paintEvent(self, _event):
        m, t = self.model, self.theme
        p = QPainter(self)
        p.setRenderHint(QPainter.Antialiasing)
        p.fillRect(self.rect(), QColor(t.window))
        xs = self.positions()
        if not xs:
            return
        font = ui_font(self.font_pt)
        fm = QFontMetricsF(font)
        ay = self.axis_y()
        n_m = len(m.milestone_ids)
        # axes
        axis_pen = QPen(QColor(t.muted), 3)
        axis_pen.setCapStyle(Qt.RoundCap)
        p.setPen(axis_pen)
        if n_m:
            p.drawLine(QPointF(xs[0], ay), QPointF(xs[n_m - 1], ay))
        if len(xs) > n_m:
            p.drawLine(QPointF(xs[n_m], ay), QPointF(xs[-1], ay))
            p.setFont(ui_font(self.font_pt, bold=True))
            p.setPen(QColor(t.muted))
            p.drawText(QRectF(xs[n_m] - 4, ay + 2 * fm.height() + 14, 40 + (xs[-1] - xs[n_m]), fm.height()),
                       Qt.AlignLeft, "Build your own")
        # years under the axis: one label at the first milestone of each year
        p.setFont(font)
        last_year, last_end = None, -1e9
        year_y = ay + 2 * fm.height() + 14
        for i in range(n_m):
            year = m.infos[i].date[:4]
            if year and year != last_year and xs[i] > last_end:  # skip a year whose label would collide
                last_end = xs[i] + fm.horizontalAdvance(year) + 8
                p.setPen(QPen(QColor(t.muted), 1, Qt.DotLine))
                p.drawLine(QPointF(xs[i], ay + 6), QPointF(xs[i], year_y))
                p.setPen(QColor(t.muted))
                p.drawText(QRectF(xs[i] + 3, year_y, 60, fm.height()), Qt.AlignLeft, year)
                last_year = year
        # ticks, labels (alternating above / below so neighbours never collide)
        step = (xs[1] - xs[0]) if len(xs) > 1 else 200.0
        width = max(40.0, step * 2 - 3)
        for i, x in enumerate(xs):
            info = m.infos[i]
            cur = i == m.index
            label = short_title(info.title)
            edited = m.is_edited(info.id)
            col = QColor(t.selection) if cur else QColor(t.text)
            p.setPen(QPen(QColor(0, 0, 0, 0), 0))
            p.setBrush(QColor(t.selection) if cur else QColor(t.muted))
            r = 9.0 if cur else 5.0
            p.drawEllipse(QPointF(x, ay), r, r)
            if edited:  # shape + word cue, not colour alone
                p.setPen(QPen(QColor(DIFF["changed"]), 2.5))
                p.setBrush(QBrush(QColor(0, 0, 0, 0)))
                p.drawEllipse(QPointF(x, ay), r + 4, r + 4)
            above = i % 2 == 0
            f = ui_font(self.font_pt, bold=cur)
            p.setFont(f)
            text = label + (" ✎" if edited else "") + (" ·c" if self.llama2c.get(info.id) else "")
            text = QFontMetricsF(f).elidedText(text, Qt.ElideRight, width)
            tw = QFontMetricsF(f).horizontalAdvance(text)
            tx = min(max(2.0, x - tw / 2), self.width() - tw - 2)
            ty = ay - 12 - fm.height() if above else ay + 10
            p.setPen(col)
            p.drawText(QRectF(tx, ty, tw + 2, fm.height()), Qt.AlignLeft, text)
        p.end()

    # ------------------------------------------------------------------ interaction
    def mousePressEvent(self, event):
        if event.button() == Qt.LeftButton:
            self._dragging = True
            self.model.set_playing(False)
            self.model.set_index(self.index_at(event.position().x()))

    def mouseMoveEvent(self, event):
        x = event.position().x()
        if self._dragging:  # live scrubbing: the graph re-assembles while the handle moves
            self.model.set_index(self.index_at(x))
            return
        i = self.index_at(x)
        xs = self.positions()
        if 0 <= i < len(xs) and abs(xs[i] - x) < 24:
            self.hovered_index.emit(i)
            QToolTip.showText(event.globalPosition().toPoint(), self.card_html(i), self)
        else:
            QToolTip.hideText()

    def mouseReleaseEvent(self, event):
        self._dragging = False

    def keyPressEvent(self, event):
        k = event.key()
        if k in (Qt.Key_Left, Qt.Key_Right):
            self.model.step(-1 if k == Qt.Key_Left else 1)
        elif k == Qt.Key_Home:
            self.model.first()
        elif k == Qt.Key_End:
            self.model.last()
        else:
            super().keyPressEvent(event)

    def card_html(self, i: int) -> str:
        info = self.model.infos[i]
        arch = self.model.canonical(info.id)
        meta = arch.meta
        blurb = meta.get("short") or meta.get("summary") or meta.get("explanation") or ""
        if isinstance(blurb, str) and len(blurb) > 220:
            blurb = blurb[:217].rsplit(" ", 1)[0] + "…"
        group = "Build your own" if info.group == "recipe" else info.date
        edited = " <i>(edited)</i>" if self.model.is_edited(info.id) else ""
        if self.llama2c.get(info.id):
            blurb = f"{blurb} [·c: exports to llama2.c as is]".strip()
        return (f"<b>{esc(info.title)}</b>{edited}<br><span>{esc(info.org)} · {esc(group)}</span>"
                + (f"<p style='max-width:320px'>{esc(blurb)}</p>" if blurb else ""))


class TimelineBar(QWidget):
    """Transport buttons (◀ ▶ ⏵), the strip, and the scale switch; Play runs on a QTimer."""

    def __init__(self, model, theme: Theme = LIGHT, parent=None):
        super().__init__(parent)
        self.model = model
        self.strip = TimelineStrip(model, theme, self)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(6, 2, 6, 2)
        self.theme = theme
        self.icons = transport_icons(theme)
        self.prev_btn = self._button(self.icons["prev"], "Previous milestone (←)", lambda: model.step(-1))
        self.next_btn = self._button(self.icons["next"], "Next milestone (→)", lambda: model.step(1))
        self.play_btn = self._button(self.icons["play"], "Play: step through the eras (Ctrl+Space)", self.toggle_play)
        self.play_btn.setCheckable(True)
        for b in (self.prev_btn, self.next_btn, self.play_btn):
            lay.addWidget(b)
        lay.addWidget(self.strip, 1)
        self.scale_box = QComboBox()
        self.scale_box.addItems(["paper", "classroom"])
        self.scale_box.setToolTip("Scale shown on the blocks: the published configuration (paper) or the "
                                  "laptop-trainable one (classroom)")
        self.scale_box.setCurrentText(model.scale)
        self.scale_box.currentTextChanged.connect(model.set_scale)
        model.scale_changed.connect(lambda s: self.scale_box.setCurrentText(s))
        lay.addWidget(self.scale_box)
        self.timer = QTimer(self)
        self.timer.setInterval(1600)
        self.timer.timeout.connect(self._tick)
        model.playing_changed.connect(self._on_playing)

    def _button(self, icon, tip, slot):
        b = QToolButton(self)
        b.setIcon(icon)
        b.setIconSize(QSize(22, 22))
        b.setToolTip(tip)
        b.setAutoRaise(True)
        b.setMinimumWidth(30)
        b.clicked.connect(slot)
        return b

    def toggle_play(self):
        m = self.model
        if not m.playing and m.index >= len(m.milestone_ids) - 1:
            m.first()  # Play at the end starts again from 2017
        m.set_playing(not m.playing)

    def _on_playing(self, on: bool):
        self.play_btn.setChecked(on)
        self.play_btn.setIcon(self.icons["pause" if on else "play"])
        self.play_btn.setToolTip("Pause (Ctrl+Space)" if on else "Play: step through the eras (Ctrl+Space)")
        if on:
            self.timer.start()
        else:
            self.timer.stop()

    def _tick(self):
        self.model.advance_play()

    def set_theme(self, theme: Theme):
        self.theme = theme
        self.strip.theme = theme
        self.strip.update()
        self.icons = transport_icons(theme)  # drawn in the theme's text colour: visible in both
        self.prev_btn.setIcon(self.icons["prev"])
        self.next_btn.setIcon(self.icons["next"])
        self.play_btn.setIcon(self.icons["pause" if self.model.playing else "play"])


def transport_icons(theme: Theme) -> dict:
    from PySide6.QtGui import QIcon, QPixmap, QPolygonF

    def icon(draw):
        pm = QPixmap(44, 44)
        pm.fill(QColor(0, 0, 0, 0))
        p = QPainter(pm)
        p.setRenderHint(QPainter.Antialiasing)
        p.setPen(QPen(QColor(0, 0, 0, 0), 0))
        p.setBrush(QColor(theme.text))
        draw(p)
        p.end()
        return QIcon(pm)

    def tri(p, x0, x1):  # a triangle pointing from x0 to x1
        p.drawPolygon(QPolygonF([QPointF(x0, 8), QPointF(x1, 22), QPointF(x0, 36)]))

    return {"play": icon(lambda p: tri(p, 12, 36)),
            "pause": icon(lambda p: (p.drawRect(11, 8, 8, 28), p.drawRect(25, 8, 8, 28))),
            "next": icon(lambda p: (tri(p, 4, 22), tri(p, 22, 40))),
            "prev": icon(lambda p: (tri(p, 22, 4), tri(p, 40, 22)))}
