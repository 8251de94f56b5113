"""A graph scene as an image: PNG or SVG of what the window shows, with the model's title,
without the era diff's marks (File → Export diagram, ``archstudio render``)."""
from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

from studio.core.errors import StudioError
from studio.core.model import provenance


def title_lines(arch, scale: str) -> tuple[str, str]:
    m = arch.meta
    sub = " · ".join(str(x) for x in (m.get("org"), m.get("date"), f"{scale} scale") if x)
    if provenance.is_stand_in(arch):  # the slide must say so too: the graph is not the model's
        sub += " · ILLUSTRATIVE STAND-IN: structure only" + (", no figures" if scale == "paper" else "")
    return str(m.get("title", arch.id)), sub


def paint_scene(painter, scene, width: int, height: int, theme, title: tuple[str, str] | None = None):
    from PySide6.QtCore import QRectF, Qt
    from PySide6.QtGui import QColor

    from studio._qt.theme import ui_font
    painter.setRenderHint(painter.RenderHint.Antialiasing)
    painter.fillRect(QRectF(0, 0, width, height), QColor(theme.base))
    top = 20.0
    if title:
        big = max(14.0, height / 38)
        painter.setPen(QColor(theme.text))
        painter.setFont(ui_font(big, bold=True))
        painter.drawText(QRectF(24, 12, width - 48, big * 1.9), Qt.AlignLeft | Qt.AlignVCenter, title[0])
        painter.setPen(QColor(theme.muted))
        painter.setFont(ui_font(big * 0.6))
        painter.drawText(QRectF(24, 12 + big * 1.8, width - 48, big * 1.2), Qt.AlignLeft | Qt.AlignVCenter, title[1])
        top = 24 + big * 3.2
    src = scene.content_rect().adjusted(-20, -20, 20, 20)
    box = QRectF(20, top, width - 40, height - top - 20)
    k = min(box.width() / max(src.width(), 1), box.height() / max(src.height(), 1))
    w, h = src.width() * k, src.height() * k  # centred in the free area, aspect kept
    target = QRectF(box.x() + (box.width() - w) / 2, box.y() + (box.height() - h) / 2, w, h)
    scene.render(painter, target, src, Qt.KeepAspectRatio)


@contextmanager
def without_marks(scene):
    """The scene as a handout shows it: no "+ new / ~ changed" diff marks, no selection, no
    fading ghosts of removed blocks (they belong to the live transition, not to the diagram)."""
    nodes = list(getattr(scene, "nodes", {}).values())
    edges = list(getattr(scene, "edges", {}).values())
    ghosts = [g for g in getattr(scene, "ghosts", []) if g.isVisible()]
    saved = [(n, n.diff, n.flash, n.isSelected()) for n in nodes]
    saved_edges = [(e, e.diff) for e in edges]
    try:
        for n in nodes:
            n.diff, n.flash = None, 0.0
            n.setSelected(False)
            n.update()
        for e in edges:
            if e.diff:
                e.diff = None
                e.restyle()
        for g in ghosts:
            g.hide()
        yield scene
    finally:
        for n, diff, flash, sel in saved:
            n.diff, n.flash = diff, flash
            n.setSelected(sel)
            n.update()
        for e, diff in saved_edges:
            if e.diff != diff:
                e.diff = diff
                e.restyle()
        for g in ghosts:
            g.show()


def save_scene(scene, path, size: tuple[int, int] | None = None, title=None) -> Path:
    """Write the scene as PNG or SVG (the suffix decides); size defaults to the content's size."""
    from PySide6.QtCore import QRect, QSize
    from PySide6.QtGui import QImage, QPainter
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in (".png", ".svg"):
        raise StudioError(f"{p}: the file must end in .png or .svg")
    if size is None:
        r = scene.content_rect()
        size = (max(400, int(r.width()) + 80), max(300, int(r.height()) + 80))
    w, h = size
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(f".{p.name}.tmp{suffix}")
    try:
        if suffix == ".png":
            img = QImage(w, h, QImage.Format_ARGB32)
            painter = QPainter(img)
            with without_marks(scene):
                paint_scene(painter, scene, w, h, scene.theme, title)
            painter.end()
            if not img.save(str(tmp), "PNG"):
                raise StudioError(f"{p}: could not write the image")
        else:
            from PySide6.QtSvg import QSvgGenerator
            gen = QSvgGenerator()
            gen.setFileName(str(tmp))
            gen.setSize(QSize(w, h))
            gen.setViewBox(QRect(0, 0, w, h))
            gen.setTitle(title[0] if title else "LLM Architecture Studio diagram")
            painter = QPainter(gen)
            with without_marks(scene):
                paint_scene(painter, scene, w, h, scene.theme, title)
            painter.end()
        os.replace(tmp, p)  # atomic: never a half-written image under the real name
    finally:
        if tmp.exists():
            tmp.unlink()
    return p
