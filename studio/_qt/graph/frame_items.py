"""Scene decoration items: the "× N layers" region frames, the training stages and the strip's
label (a click folds the strip to one line). Each reports the texts it draws (``texts()``),
so tests measure exactly what is painted."""
from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPen, QPolygonF
from PySide6.QtWidgets import QApplication, QGraphicsItem, QGraphicsSimpleTextItem

from studio._qt.present.present_geometry import Present, STAGE_ARROW, stage_title
from studio._qt.theme import DIFF, Theme


def _font(size: float, bold: bool = False) -> QFont:
    f = QFont(QApplication.font())
    f.setPointSizeF(size)
    f.setBold(bold)
    return f


class FrameItem(QGraphicsItem):
    """The repeated region drawn once, framed, with "× N layers" (and Encoder/Decoder for 2017)."""

    def __init__(self, theme: Theme):
        super().__init__()
        self.theme = theme
        self.rect = QRectF()
        self.label = ""
        self.title = ""
        self.font_scale = 1.0
        self.present: Present | None = None
        self.setZValue(-2)

    def set(self, rect: QRectF, title: str, label: str):
        self.prepareGeometryChange()
        self.rect, self.title, self.label = rect, title, label
        self.update()

    def boundingRect(self) -> QRectF:
        return self.rect.adjusted(-4, -4, 4, 4)

    def label_font(self) -> QFont:
        return self.present.text_font(bold=True) if self.present else _font(14 * self.font_scale, bold=True)

    def texts(self) -> list[tuple[str, QFont, str]]:
        text = f"{self.title}  {self.label}" if self.title else self.label
        return [("frame", self.label_font(), text)]

    def paint(self, painter: QPainter, option, widget=None):
        t = self.theme
        painter.setRenderHint(QPainter.Antialiasing)
        painter.setPen(QPen(QColor(t.frame), 2, Qt.DashLine))
        painter.setBrush(QColor(t.frame_fill))
        painter.drawRoundedRect(self.rect, 16, 16)
        (_, f, text), = self.texts()
        painter.setFont(f)
        painter.setPen(QColor(t.text))
        painter.drawText(self.rect.adjusted(16, 6, -16, 0), Qt.AlignLeft | Qt.AlignTop, text)


class StageItem(QGraphicsItem):
    """One training stage (pretraining, SFT, reward model, PPO, GRPO...) shown above the graph.
    Full: a box with the stage's title and detail. ``compact``: one pill with "n. title" (the
    strip folded to one line); the detail stays in the tooltip."""

    W, H = 270.0, 112.0

    def __init__(self, theme: Theme, title: str, detail: str, index: int, last: bool):
        super().__init__()
        self.theme, self.title, self.detail, self.index, self.last = theme, title, detail, index, last
        self.font_scale = 1.0
        self.present: Present | None = None
        self.compact = False
        self.w, self.h = self.W, self.H
        self.diff: str | None = None
        self.setToolTip(f"Training stage {index + 1}: {title}" + (f"\n{detail}" if detail else ""))
        self.setZValue(1)

    def set_size(self, w: float, h: float, compact: bool) -> None:
        self.prepareGeometryChange()
        self.w, self.h, self.compact = w, h, compact
        self.update()

    def title_font(self) -> QFont:
        if self.present:
            return self.present.text_font(bold=True)
        return _font((9.5 if self.compact else 11) * self.font_scale, bold=True)

    def detail_font(self) -> QFont:
        return self.present.text_font() if self.present else _font(9.5 * self.font_scale)

    def texts(self) -> list[tuple[str, QFont, str]]:
        out = [("stage", self.title_font(), stage_title(self.index, self.title))]
        if not self.compact and self.detail:
            out.append(("stage detail", self.detail_font(), self.detail))
        return out

    def boundingRect(self) -> QRectF:
        return QRectF(-4, -4, self.w + STAGE_ARROW + 8, self.h + 8)

    def paint(self, painter: QPainter, option, widget=None):
        t = self.theme
        painter.setRenderHint(QPainter.Antialiasing)
        r = QRectF(0, 0, self.w, self.h)
        painter.setPen(QPen(QColor(DIFF["added"]) if self.diff == "added" else t.family("training"), 2.5))
        painter.setBrush(t.tint("training"))
        painter.drawRoundedRect(r, min(10, self.h / 2), min(10, self.h / 2))
        texts = self.texts()
        painter.setPen(QColor(t.text))
        painter.setFont(texts[0][1])
        fm = QFontMetricsF(texts[0][1])
        if self.compact:
            painter.drawText(r, Qt.AlignCenter, texts[0][2])
        else:
            flags = Qt.TextWordWrap | Qt.AlignLeft | Qt.AlignTop
            title_r = fm.boundingRect(QRectF(10, 6, self.w - 20, 1e4), int(flags), texts[0][2])
            painter.drawText(QRectF(10, 6, self.w - 20, title_r.height()), flags, texts[0][2])
            if len(texts) > 1:
                painter.setFont(texts[1][1])
                painter.setPen(QColor(t.muted))
                painter.drawText(QRectF(10, 8 + title_r.height(), self.w - 20, self.h - 10 - title_r.height()),
                                 flags, texts[1][2])
        if not self.last:
            painter.setPen(QPen(t.family("training"), 3))
            y = self.h / 2
            a0, a1 = self.w + 8, self.w + STAGE_ARROW - 8
            painter.drawLine(QPointF(a0, y), QPointF(a1 - 6, y))
            painter.setBrush(t.family("training"))
            painter.drawPolygon(QPolygonF([QPointF(a1, y), QPointF(a1 - 10, y - 7), QPointF(a1 - 10, y + 7)]))


class StripLabel(QGraphicsSimpleTextItem):
    """"Training pipeline …" above the stages; a click folds the strip to one line and back."""

    def __init__(self, text: str, toggle):
        super().__init__(text)
        self._toggle = toggle
        self.setCursor(Qt.PointingHandCursor)
        self.setToolTip("Click to fold the training pipeline to one line, or to unfold it")
        self.setAcceptedMouseButtons(Qt.LeftButton)

    def texts(self) -> list[tuple[str, QFont, str]]:
        return [("strip label", self.font(), self.text())]

    def mousePressEvent(self, event):
        event.accept()

    def mouseReleaseEvent(self, event):
        if self._toggle is not None:
            self._toggle()
