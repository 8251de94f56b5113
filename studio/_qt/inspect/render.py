"""attention.png / routing.png with text (titles, token axes, colour bars), painted offscreen with QPainter.

Used by ``archstudio inspect`` (through a dynamic import, so the CLI module stays Qt-free) and by
the inspector's "Save image" actions. Colours come from the core's table, so files and docks agree.
"""
from __future__ import annotations

import os

import numpy as np
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QGuiApplication, QImage, QPainter, QPen

from studio._qt.theme import FAMILY_COLOURS, THEMES
from studio.core.inspect.inspect_render import ATTN_GAMMA, colorize, token_label
from studio.core.files.yamlio import atomic_write_bytes

GROUP_COLOURS = ("#E69F00", "#0072B2", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#999999")
ATTN_TICKS = (0.0, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0)
_APP = None


def ensure_app():
    """An application object for fonts; offscreen when there is no display (CLI, CI).

    A full QApplication, not a bare QGuiApplication: when this runs inside a process that
    later opens windows (the app, a test session), a QGuiApplication would make every
    QWidget abort ("Cannot create a QWidget without QApplication")."""
    global _APP
    app = QGuiApplication.instance()
    if app is None:
        from PySide6.QtWidgets import QApplication
        if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
            os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        _APP = app = QApplication(["archstudio"])
    return app


def to_qimage(rgb: np.ndarray) -> QImage:
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    h, w, _ = rgb.shape
    return QImage(rgb.data, w, h, 3 * w, QImage.Format_RGB888).copy()  # copy: own the pixels


def attention_rgb(a, weights: np.ndarray, theme) -> np.ndarray:
    """Weights on the √ scale; cells the mask forbids drawn in the theme's frame colour, not as 0."""
    v = np.where(a.allowed(), weights, np.nan)
    return colorize(v, 0.0, 1.0, ATTN_GAMMA, nan_rgb=QColor(theme.frame_fill).getRgb()[:3])


class Canvas:
    def __init__(self, w: int, h: int, theme_name: str):
        self.t = THEMES[theme_name]
        self.img = QImage(int(w), int(h), QImage.Format_RGB32)
        self.img.fill(QColor(self.t.base))
        self.p = QPainter(self.img)
        self.p.setRenderHint(QPainter.Antialiasing)
        self.p.setRenderHint(QPainter.TextAntialiasing)
        self.family = self.p.font().family()

    def font(self, px: float, bold: bool = False, mono: bool = False) -> QFontMetrics:
        f = QFont("monospace" if mono else self.family)
        f.setPixelSize(max(6, int(px)))
        f.setBold(bold)
        self.p.setFont(f)
        return QFontMetrics(f)

    def text(self, x, y, w, h, s, px=13, bold=False, align=Qt.AlignLeft | Qt.AlignVCenter, colour=None):
        self.font(px, bold)
        self.p.setPen(QColor(colour or self.t.text))
        self.p.drawText(QRectF(x, y, w, h), int(align), s)

    def heat(self, x, y, w, h, rgb):
        self.p.drawImage(QRectF(x, y, w, h), to_qimage(rgb))  # no smoothing: one cell = one weight
        self.p.setPen(QPen(QColor(self.t.muted), 1))
        self.p.setBrush(Qt.NoBrush)
        self.p.drawRect(QRectF(x, y, w, h))

    def colour_bar(self, x, y, h, ticks, gamma, title, note=""):
        vals = np.linspace(1, 0, max(2, int(h)))[:, None].repeat(18, 1)
        self.heat(x, y, 18, h, colorize(vals, 0, 1, gamma))
        for v in ticks:
            ty = y + h * (1 - v ** gamma)
            self.p.setPen(QPen(QColor(self.t.text), 1))
            self.p.drawLine(QPointF(x + 18, ty), QPointF(x + 23, ty))
            self.text(x + 26, ty - 8, 60, 16, f"{v:g}", 12)
        self.p.save()
        self.p.translate(x - 6, y + h / 2)
        self.p.rotate(-90)
        self.text(-h / 2, -16, h, 16, title, 12, align=Qt.AlignCenter)
        self.p.restore()
        if note:
            self.text(x - 40, y + h + 6, 130, 40, note, 11, align=Qt.AlignLeft | Qt.AlignTop | Qt.TextWordWrap, colour=self.t.muted)

    def tokens_axes(self, x, y, size, q_toks, k_toks, xlabel, ylabel):
        """Token strings along both sides of a square heatmap at (x, y)."""
        for toks, vertical in ((q_toks, True), (k_toks, False)):
            n = max(1, len(toks))
            step = size / n
            px = min(13, step * 0.9)
            every = 1 if px >= 8 else int(np.ceil(8 / max(step, 1e-6)))
            px = max(px, 8)
            fm = self.font(px, mono=True)
            self.p.setPen(QColor(self.t.text))
            for i in range(0, n, every):
                lab = token_label(toks[i])[:10]
                if vertical:
                    self.p.drawText(QRectF(x - 86, y + i * step, 82, step), int(Qt.AlignRight | Qt.AlignVCenter), lab)
                else:
                    self.p.save()
                    self.p.translate(x + (i + 0.5) * step + fm.ascent() / 2 - 1, y + size + 4)
                    self.p.rotate(90)
                    self.p.drawText(QRectF(0, -fm.ascent(), 82, fm.height()), int(Qt.AlignLeft), lab)
                    self.p.restore()
        self.text(x, y + size + 88, size, 18, xlabel, 13, align=Qt.AlignCenter)
        self.p.save()
        self.p.translate(x - 104, y + size / 2)
        self.p.rotate(-90)
        self.text(-size / 2, -9, size, 18, ylabel, 13, align=Qt.AlignCenter)
        self.p.restore()

    def png(self) -> bytes:
        self.p.end()
        data = QByteArray()
        buf = QBuffer(data)
        buf.open(QIODevice.WriteOnly)
        self.img.save(buf, "PNG")
        return bytes(data.data())


def _pick_enlarged(ins):
    """The maps worth a large view with tokens: the last decoder self-attention, and cross-attention."""
    out = []
    selfs = [a for a in ins.attention if a.region == "layer" and a.geometry != "cross"] or list(ins.attention)
    if selfs:
        out.append(selfs[-1])
    cross = [a for a in ins.attention if a.geometry == "cross"]
    if cross:
        out.append(cross[-1])
    return out


def attention_png(ins, theme: str = "light", max_width: int = 1700) -> bytes:
    ensure_app()
    maps = ins.attention
    ncols = max(a.n_heads for a in maps) + 1
    left, right, top = 190, 150, 78
    cell = int(np.clip((max_width - left - right - 20) / ncols - 8, 56, 170))
    row_h = cell + 38
    big = int(np.clip(len(ins.tokens) * 11, 520, 960))  # ~11 px per token keeps every label legible
    width = left + ncols * (cell + 8) + 20 + right
    enl = _pick_enlarged(ins)
    width = max(width, 150 + len(enl) * (big + 170) + right)
    height = top + len(maps) * row_h + 60 + big + 150
    c = Canvas(width, height, theme)
    c.text(16, 10, width - 32, 26, f"Attention — {ins.arch_id} ({ins.label or 'weights'})", 20, bold=True)
    c.text(16, 38, width - 32, 20, f"{len(ins.tokens)} tokens · rows = blocks, columns = heads (bracket = heads sharing "
           f"one key/value head), last column = mean over heads · H = mean entropy per query (bits)", 13, colour=c.t.muted)
    for r, a in enumerate(maps):
        y = top + r * row_h + 14
        c.text(12, y, left - 20, 40, a.label, 14, bold=True, align=Qt.AlignLeft | Qt.AlignTop | Qt.TextWordWrap)
        c.text(12, y + 42, left - 20, cell - 40, a.sharing.replace(": ", ":\n", 1), 11,
               align=Qt.AlignLeft | Qt.AlignTop | Qt.TextWordWrap, colour=c.t.muted)
        for h in range(a.n_heads):
            x = left + h * (cell + 8)
            g = a.group_of[h]
            if a.n_kv_heads < a.n_heads:  # the group bracket, coloured per KV head, with its name
                c.p.fillRect(QRectF(x - 4, y - 12, cell + 8, 6), QColor(GROUP_COLOURS[g % len(GROUP_COLOURS)]))
            c.heat(x, y, cell, cell, attention_rgb(a, a.weights[h], c.t))
            kv = f" kv{g}" if a.n_kv_heads < a.n_heads else ""
            c.text(x, y + cell + 1, cell, 16, f"h{h}{kv}  H {a.entropy[h]:.2f}", 11, align=Qt.AlignCenter)
        x = left + (ncols - 1) * (cell + 8) + 12
        c.heat(x, y, cell, cell, attention_rgb(a, a.mean, c.t))
        c.text(x, y + cell + 1, cell, 16, "mean of heads", 11, bold=True, align=Qt.AlignCenter)
    bar_x = width - right + 40
    c.colour_bar(bar_x, top + 14, min(360, len(maps) * row_h - 40), ATTN_TICKS, ATTN_GAMMA,
                 "attention weight (√ scale)", "grey: masked (future / outside window)")
    y0 = top + len(maps) * row_h + 40
    for i, a in enumerate(enl):
        q_toks, k_toks = ins.axis_tokens(a)
        x0 = 150 + i * (big + 170)
        c.text(x0, y0 - 4, big, 22, f"{a.label}: mean of {a.n_heads} heads", 15, bold=True)
        c.heat(x0, y0 + 22, big, big, attention_rgb(a, a.mean, c.t))
        c.tokens_axes(x0, y0 + 22, big, q_toks, k_toks, "key token (attended to) →",
                      "query token (the one predicting) ↓")
    return c.png()


def routing_png(ins, theme: str = "light", max_width: int = 1700) -> bytes:
    ensure_app()
    layers = ins.routing
    T = len(ins.tokens)
    left, bars = 170, 330
    cw = float(np.clip((max_width - left - bars - 120) / max(T, 1), 8, 26))
    row = 20
    heights = [(m.n_shared > 0) * row + m.n_experts * row + 120 for m in layers]
    width = int(left + cw * T + bars + 120)
    height = 90 + sum(heights) + 20
    c = Canvas(width, height, theme)
    c.text(16, 10, width - 32, 26, f"MoE routing — {ins.arch_id} ({ins.label or 'weights'})", 20, bold=True)
    c.text(16, 38, width - 32, 20, "each column a token, each row an expert: colour = gate weight of a chosen expert, "
           "blank = not chosen · shared experts see every token · bars = tokens per expert", 13, colour=c.t.muted)
    moe_col = QColor(FAMILY_COLOURS["moe"])
    y = 76
    for m, hgt in zip(layers, heights):
        ent_max = np.log2(m.n_experts)
        flag = ", ".join(f"E{e}" for e in m.collapsed) or "none"
        c.text(12, y, width - 24, 22, f"{m.label} — {m.n_experts} routed experts, top-{m.top_k}"
               + (f", {m.n_shared} shared" if m.n_shared else "") + f" · {m.score} router · entropy "
               f"{m.router_entropy:.2f} of {ent_max:.2f} bits · load CV {m.cv:.2f} · never chosen: {flag}", 14, bold=True)
        yy = y + 28
        x0 = left
        if m.n_shared:  # always on: drawn at full weight so it reads as "every token, weight 1"
            c.heat(x0, yy, cw * T, row - 2, colorize(np.ones((1, T)), 0, 1))
            c.text(8, yy, left - 14, row, f"shared ×{m.n_shared} (always on)", 12, align=Qt.AlignRight | Qt.AlignVCenter)
            yy += row
        gm = m.gate_matrix.T  # (E, T)
        vmax = max(1.0, float(gm.max()))
        rgb = colorize(np.where(gm > 0, gm, np.nan), 0, vmax, nan_rgb=QColor(c.t.frame_fill).getRgb()[:3])
        c.heat(x0, yy, cw * T, row * m.n_experts, rgb)
        ideal = T * m.top_k / m.n_experts
        cmax = max(float(m.counts.max()), ideal, 1.0)
        bx = x0 + cw * T + 24
        for e in range(m.n_experts):
            ey = yy + e * row
            dead = e in m.collapsed
            c.text(8, ey, left - 14, row, f"E{e}" + ("  ✕ never chosen" if dead else ""), 12, bold=dead,
                   align=Qt.AlignRight | Qt.AlignVCenter, colour="#D55E00" if dead else None)
            c.p.fillRect(QRectF(bx, ey + 3, (bars - 70) * m.counts[e] / cmax, row - 6), moe_col)
            c.text(bx + (bars - 70) * m.counts[e] / cmax + 4, ey, 60, row, str(int(m.counts[e])), 11)
        ix = bx + (bars - 70) * ideal / cmax
        c.p.setPen(QPen(QColor(c.t.text), 1, Qt.DashLine))
        c.p.drawLine(QPointF(ix, yy - 4), QPointF(ix, yy + row * m.n_experts + 4))
        c.text(bx, yy + row * m.n_experts + 4, bars, 16, f"tokens per expert (dashed: balanced {ideal:.1f})", 11,
               colour=c.t.muted)
        fm = c.font(min(12, cw * 0.9), mono=True)
        c.p.setPen(QColor(c.t.text))
        for t in range(T):
            c.p.save()
            c.p.translate(x0 + (t + 0.5) * cw + fm.ascent() / 2 - 1, yy + row * m.n_experts + 4)
            c.p.rotate(90)
            c.p.drawText(QRectF(0, -fm.ascent(), 80, fm.height()), int(Qt.AlignLeft), token_label(ins.tokens[t])[:9])
            c.p.restore()
        y += hgt
    c.colour_bar(width - 80, 90, 200, (0.0, 0.25, 0.5, 0.75, 1.0), 1.0, "gate weight")
    return c.png()


def render_inspection(ins, out_dir, theme: str = "light") -> list[str]:
    """Write attention.png (and routing.png for MoE models) into out_dir; returns the paths written."""
    written = []
    if ins.attention:
        p = os.path.join(out_dir, "attention.png")
        atomic_write_bytes(p, attention_png(ins, theme))
        written.append(p)
    if ins.routing:
        p = os.path.join(out_dir, "routing.png")
        atomic_write_bytes(p, routing_png(ins, theme))
        written.append(p)
    return written
