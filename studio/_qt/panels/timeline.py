"""The timeline strip: one tick and short label per milestone, recipes in a "Build your own" group.

Dragging scrubs live (every tick crossed sets the model's index while the mouse moves),
←/→ step, Home/End jump, hovering a tick shows the milestone card. Edited milestones carry a
✎ marker, llama2.c-exportable ones a small "c" (when the exporter exists). The widget keeps
no state of its own beyond geometry: it reads the StudioModel's Timeline (which tick is
selected: none while an edited copy, a project or an imported run is on screen), the
Document's list of edited copies and the Figures' llama2.c markers, and repaints on their events.
"""
from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor, QFontMetricsF, QPainter, QPen, QPolygonF
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QSizePolicy, QToolButton, QToolTip, QWidget

from studio._qt.text import esc
from studio._qt.theme import DIFF, LIGHT, Theme, theme_of, ui_font

GROUP_GAP = 72.0


def short_title(title: str) -> str:
    """Tick label: the title without its parenthesised note ("InstructGPT (RLHF)" → "InstructGPT")."""
    return title.split(" (")[0].strip() or title


class TimelineStrip(QWidget):
    hovered_index = Signal(int)

    def __init__(self, model, theme: Theme = LIGHT, parent=None):
        super().__init__(parent)
        self.model, self.timeline, self.theme = model, model.timeline, theme
        self.font_pt = 9.0
        self.llama2c: dict[str, bool] = {}
        self.prepared: set[str] = set()  # milestones with a lesson's prepared run (set by studio._qt.classroom.lesson_dialog)
        self._dragging = False
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.StrongFocus)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)
        self.setToolTip("")
        self.setAccessibleName("Timeline")
        self.setStatusTip("Drag or use ←/→ Home/End to move through the milestones; ✎ edited, ·c exports to llama2.c, "
                         "▲ a prepared run (Help → Prepare the lesson…), ◆ added by you (File → Add to timeline…)")
        self.timeline.index_changed.connect(lambda _i: self.update())
        self.timeline.entries_changed.connect(lambda: self.update())
        model.document.listed.connect(lambda: self.update())
        model.figures.series_changed.connect(self._markers)
        self._refresh_height()

    def _markers(self):
        self.llama2c = self.model.figures.llama2c_markers()
        self.update()

    def is_edited(self, preset_id: str) -> bool:
        """An edited copy of this milestone exists (the tick itself stays the published one)."""
        return bool(self.model.document.edited_copies(preset_id))

    # ------------------------------------------------------------------ geometry
    presenting = False

    def fonts(self):
        """(other labels, the current milestone's full name) fonts."""
        k = 1.25 if self.presenting else 1.1
        return ui_font(self.font_pt), ui_font(self.font_pt * k, bold=True)

    def _rows(self):
        """y of: the current name row, the short labels above the axis, the axis, the labels
        below, the years (normal mode only), and the total height."""
        other, cur = (QFontMetricsF(f).height() for f in self.fonts())
        y_cur = 4.0
        y_above = y_cur + cur + 2
        axis = y_above + other + 10
        y_below = axis + 10
        y_years = y_below + other + 4
        bottom = (y_below + other + 6) if self.presenting else (y_years + other + 6)
        return y_cur, y_above, axis, y_below, y_years, bottom

    def _refresh_height(self):
        self.setFixedHeight(int(self._rows()[-1]) + 2)

    def set_font_pt(self, pt: float):
        self.font_pt = pt
        self._refresh_height()
        self.update()

    def set_presenting(self, on: bool, scale: float = 1.0):
        """Presentation: larger labels (``scale``: bigger screens), no year row (the card gives the date)."""
        self.presenting = on
        self.set_font_pt(10.5 * scale if on else 9.0)

    def label(self, i: int) -> str:
        """The short, unambiguous tick label (the preset's ``short_label``), never elided."""
        info = self.timeline.infos[i]
        return getattr(info, "short_label", "") or short_title(info.title)

    def sizeHint(self):
        return QSize(900, self.height())

    def positions(self) -> list[float]:
        """x of every entry: milestones evenly over the left part, recipes after a gap."""
        n_m, n_r = len(self.timeline.milestone_ids), len(self.timeline.recipe_ids)
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
        return self._rows()[2]

    def index_at(self, x: float) -> int:
        xs = self.positions()
        if not xs:
            return -1
        return min(range(len(xs)), key=lambda i: abs(xs[i] - x))

    # ------------------------------------------------------------------ painting
    def paintEvent(self, _event):
        m, t = self.timeline, self.theme
        p = QPainter(self)
        p.setRenderHint(QPainter.Antialiasing)
        p.fillRect(self.rect(), QColor(t.window))
        xs = self.positions()
        if not xs:
            return
        font, cur_font = self.fonts()
        fm = QFontMetricsF(font)
        y_cur, y_above, ay, y_below, y_years, _h = self._rows()
        n_m = len(m.milestone_ids)
        axis_pen = QPen(QColor(t.muted), 3)
        axis_pen.setCapStyle(Qt.RoundCap)
        p.setPen(axis_pen)
        if n_m:
            p.drawLine(QPointF(xs[0], ay), QPointF(xs[n_m - 1], ay))
        if len(xs) > n_m:
            p.drawLine(QPointF(xs[n_m], ay), QPointF(xs[-1], ay))
        if not self.presenting:  # years under the axis: one label at the first milestone of each year
            p.setFont(font)
            last_year, last_end = None, -1e9
            for i in range(n_m):
                year = m.infos[i].date[:4]
                if year and year != last_year and xs[i] > last_end:  # skip a year whose label would collide
                    last_end = xs[i] + fm.horizontalAdvance(year) + 8
                    p.setPen(QPen(QColor(t.muted), 1, Qt.DotLine))
                    p.drawLine(QPointF(xs[i], ay + 6), QPointF(xs[i], y_years))
                    p.setPen(QColor(t.muted))
                    p.drawText(QRectF(xs[i] + 3, y_years, 60, fm.height()), Qt.AlignLeft, year)
                    last_year = year
        # the current milestone's full name on a row of its own (never elided, never crowded)
        cur_span = None
        if m.index is not None and 0 <= m.index < len(xs):
            info = m.infos[m.index]
            name = info.title + (" ✎" if self.is_edited(info.id) else "") + (" ◆ added by you" if m.is_user(info.id) else "")
            cfm = QFontMetricsF(cur_font)
            tw = cfm.horizontalAdvance(name)
            tx = min(max(2.0, xs[m.index] - tw / 2), self.width() - tw - 2)
            p.setFont(cur_font)
            p.setPen(QColor(t.selection))
            p.drawText(QRectF(tx, y_cur, tw + 2, cfm.height()), Qt.AlignLeft, name)
            cur_span = (tx, tx + tw)
        if len(xs) > n_m:
            bf = ui_font(self.font_pt, bold=True)
            bw = QFontMetricsF(bf).horizontalAdvance("Build your own")
            bx = xs[n_m] - 4
            if cur_span is None or bx > cur_span[1] + 12 or bx + bw < cur_span[0] - 12:
                p.setFont(bf)
                p.setPen(QColor(t.muted))
                p.drawText(QRectF(bx, y_cur, bw + 4, fm.height()), Qt.AlignLeft, "Build your own")
        # ticks and short labels, alternating above / below so neighbours never collide
        for i, x in enumerate(xs):
            info = m.infos[i]
            cur = i == m.index and cur_span is not None
            edited = self.is_edited(info.id)
            p.setPen(QPen(QColor(0, 0, 0, 0), 0))
            p.setBrush(QColor(t.selection) if cur else QColor(t.muted))
            r = 9.0 if cur else 5.0
            if m.is_user(info.id):  # the user's own milestone: a larger, darker diamond (a shape; diff colours mean change)
                p.setBrush(QColor(t.selection) if cur else QColor(t.text))
                p.drawPolygon(QPolygonF([QPointF(x, ay - r - 2), QPointF(x + r + 2, ay), QPointF(x, ay + r + 2),
                                         QPointF(x - r - 2, ay)]))
            else:
                p.drawEllipse(QPointF(x, ay), r, r)
            if edited:  # shape + word cue, not colour alone
                p.setPen(QPen(QColor(DIFF["changed"]), 2.5))
                p.setBrush(QBrush(QColor(0, 0, 0, 0)))
                p.drawEllipse(QPointF(x, ay), r + 4, r + 4)
            if cur:
                continue  # its full name is on the row above
            f = ui_font(self.font_pt, bold=cur)
            marks = (" ✎" if edited else "") + (" ·c" if self.llama2c.get(info.id) else "") \
                + (" ▲" if info.id in self.prepared else "")
            name = self.label(i)
            if m.is_user(info.id):  # a user's title has no curated short label: it keeps to its own room
                step = min(abs(xs[j] - x) for j in (i - 1, i + 1) if 0 <= j < len(xs))
                room = 2 * step - 12 - QFontMetricsF(f).horizontalAdvance(marks)
                name = QFontMetricsF(f).elidedText(name, Qt.ElideRight, max(24.0, room))
            text = name + marks
            tw = QFontMetricsF(f).horizontalAdvance(text)
            tx = min(max(2.0, x - tw / 2), self.width() - tw - 2)
            p.setFont(f)
            p.setPen(QColor(t.selection) if cur else QColor(t.text))
            p.drawText(QRectF(tx, y_above if i % 2 == 0 else y_below, tw + 2, fm.height()), Qt.AlignLeft, text)
        p.end()

    # ------------------------------------------------------------------ interaction
    def mousePressEvent(self, event):
        if event.button() == Qt.LeftButton:
            self._dragging = True
            self.timeline.set_playing(False)
            self._select(self.index_at(event.position().x()))

    def mouseMoveEvent(self, event):
        x = event.position().x()
        if self._dragging:  # live scrubbing: the graph re-assembles while the handle moves
            self.timeline.set_index(self.index_at(x))
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

    def _select(self, i: int):
        """A click shows the published milestone, also when its edited copy is on screen."""
        if 0 <= i < len(self.timeline.ids):
            self.model.show_milestone(self.timeline.ids[i])

    def keyPressEvent(self, event):
        k = event.key()
        if k in (Qt.Key_Left, Qt.Key_Right):
            self.timeline.step(-1 if k == Qt.Key_Left else 1)
        elif k == Qt.Key_Home:
            self.timeline.first()
        elif k == Qt.Key_End:
            self.timeline.last()
        else:
            super().keyPressEvent(event)

    def card_html(self, i: int) -> str:
        info = self.timeline.infos[i]
        arch = self.timeline.canonical(info.id)
        meta = arch.meta
        blurb = meta.get("short") or meta.get("summary") or meta.get("explanation") or ""
        if isinstance(blurb, str) and len(blurb) > 220:
            blurb = blurb[:217].rsplit(" ", 1)[0] + "…"
        group = "Build your own" if info.group == "recipe" else info.date
        edited = " <i>(an edited copy is open: File → Edited models)</i>" if self.is_edited(info.id) else ""
        if self.timeline.is_user(info.id):
            edited += "<br><b>◆ Added by you</b> <i>(File → Remove from timeline takes it off)</i>"
        if self.llama2c.get(info.id):
            blurb = f"{blurb} [·c: exports to llama2.c as is]".strip()
        return (f"<b>{esc(info.title)}</b>{edited}<br><span>{esc(info.org)} · {esc(group)}</span>"
                + (f"<p style='max-width:320px'>{esc(blurb)}</p>" if blurb else ""))


class TimelineBar(QWidget):
    """Transport buttons (◀ ▶ ⏵), the strip, and the scale switch; Play runs on a QTimer."""

    def __init__(self, model, theme: Theme = LIGHT, parent=None):
        super().__init__(parent)
        self.model, tl = model, model.timeline
        self.strip = TimelineStrip(model, theme, self)
        if getattr(model, "view", None) is not None:
            model.view.theme_changed.connect(self._on_theme)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(6, 2, 6, 2)
        self.theme = theme
        self.icons = transport_icons(theme)
        self.prev_btn = self._button(self.icons["prev"], "Previous milestone (←)", lambda: tl.step(-1))
        self.next_btn = self._button(self.icons["next"], "Next milestone (→)", lambda: tl.step(1))
        self.play_btn = self._button(self.icons["play"], "Play: step through the eras (Ctrl+Space)", self.toggle_play)
        self.play_btn.setCheckable(True)
        for b in (self.prev_btn, self.next_btn, self.play_btn):
            lay.addWidget(b)
        lay.addWidget(self.strip, 1)
        self.scale_box = QComboBox()
        self.scale_box.addItems(["paper", "classroom"])
        self.scale_box.setToolTip("Scale shown on the blocks: the published configuration (paper) or the "
                                  "laptop-trainable one (classroom)")
        self.scale_box.setCurrentText(model.document.scale)
        self.scale_box.currentTextChanged.connect(model.document.set_scale)
        model.document.scale_changed.connect(lambda s: self.scale_box.setCurrentText(s))
        lay.addWidget(self.scale_box)
        self.timer = QTimer(self)
        self.timer.setInterval(1600)
        self.timer.timeout.connect(self._tick)
        tl.playing_changed.connect(self._on_playing)

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
        tl = self.model.timeline
        if not tl.playing and tl.index is not None and tl.index >= len(tl.milestone_ids) - 1:
            tl.first()  # Play at the end starts again from 2017
        tl.set_playing(not tl.playing)

    def _on_playing(self, on: bool):
        self.play_btn.setChecked(on)
        self.play_btn.setIcon(self.icons["pause" if on else "play"])
        self.play_btn.setToolTip("Pause (Ctrl+Space)" if on else "Play: step through the eras (Ctrl+Space)")
        if on:
            self.timer.start()
        else:
            self.timer.stop()

    def _tick(self):
        self.model.timeline.advance_play()

    def set_presenting(self, on: bool, scale: float = 1.0):
        self.strip.set_presenting(on, scale)
        self.scale_box.setVisible(not on)

    def _on_theme(self, _name: str) -> None:
        self.set_theme(theme_of(self.model))

    def set_theme(self, theme: Theme):
        self.theme = theme
        self.strip.theme = theme
        self.strip.update()
        self.icons = transport_icons(theme)  # drawn in the theme's text colour: visible in both
        self.prev_btn.setIcon(self.icons["prev"])
        self.next_btn.setIcon(self.icons["next"])
        self.play_btn.setIcon(self.icons["pause" if self.model.timeline.playing else "play"])


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
