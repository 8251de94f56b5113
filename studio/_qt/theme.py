"""Light and dark palettes, family colours (Okabe–Ito, colour-blind safe) and diff colours.

Family colours come from one table so the graph, palette, legends and accounting bars agree.
Diff colours are used only for change and always come with a shape and a word (see
graph_items), never colour alone.
"""
from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication

# Okabe & Ito (2008) colour-blind-safe palette, one colour per block family (blocks.registry.FAMILIES).
FAMILY_COLOURS = {
    "input": "#999999",
    "embedding": "#56B4E9",  # sky blue
    "norm": "#F0E442",  # yellow
    "attention": "#0072B2",  # blue
    "ffn": "#009E73",  # bluish green
    "moe": "#CC79A7",  # reddish purple
    "structure": "#BBBBBB",
    "head": "#E69F00",  # orange
    "training": "#D55E00",  # vermillion
}
DIFF = {"added": "#009E73", "removed": "#D55E00", "changed": "#E69F00"}
DIFF_WORD = {"added": "+ new", "removed": "− removed", "changed": "~ changed"}
PORT_COLOURS = {"tokens": "#999999", "hidden": "#0072B2", "rotary": "#56B4E9", "logits": "#E69F00",
                "streams": "#003F66"}  # mHC's hc_mult residual streams: a deeper blue than the one stream


@dataclass(frozen=True)
class Theme:
    name: str
    window: str
    base: str
    text: str
    muted: str
    node_body: str
    node_border: str
    edge: str
    residual: str
    frame: str
    frame_fill: str
    selection: str
    invalid: str = "#D55E00"

    def c(self, attr: str) -> QColor:
        return QColor(getattr(self, attr))

    def family(self, family: str) -> QColor:
        return QColor(FAMILY_COLOURS.get(family, "#999999"))

    def tint(self, family: str, amount: float | None = None) -> QColor:
        """Node body: the family colour mixed into the body colour (readable text either way)."""
        a = (0.22 if self.name == "light" else 0.30) if amount is None else amount
        f, b = self.family(family), QColor(self.node_body)
        return QColor(int(b.red() + (f.red() - b.red()) * a), int(b.green() + (f.green() - b.green()) * a),
                      int(b.blue() + (f.blue() - b.blue()) * a))


LIGHT = Theme("light", window="#f3f4f6", base="#ffffff", text="#1b1f24", muted="#5b6470", node_body="#ffffff",
              node_border="#5b6470", edge="#4a5360", residual="#8a6d00", frame="#7a8594", frame_fill="#e9edf2",
              selection="#0072B2", invalid="#C8102E")
DARK = Theme("dark", window="#1e2227", base="#16191d", text="#e8eaed", muted="#a3abb5", node_body="#272c33",
             node_border="#8b95a1", edge="#b9c1cb", residual="#f0d264", frame="#7d8896", frame_fill="#22272d",
             selection="#56B4E9", invalid="#FF5A5F")
THEMES = {"light": LIGHT, "dark": DARK}


def apply_theme(app: QApplication, theme: Theme) -> None:
    """Set the Fusion style and a palette so every widget (not only the scene) follows the theme."""
    app.setStyle("Fusion")
    p = QPalette()
    win, base, text, muted = (QColor(theme.window), QColor(theme.base), QColor(theme.text), QColor(theme.muted))
    p.setColor(QPalette.Window, win)
    p.setColor(QPalette.WindowText, text)
    p.setColor(QPalette.Base, base)
    p.setColor(QPalette.AlternateBase, win)
    p.setColor(QPalette.Text, text)
    p.setColor(QPalette.Button, win)
    p.setColor(QPalette.ButtonText, text)
    p.setColor(QPalette.ToolTipBase, base)
    p.setColor(QPalette.ToolTipText, text)
    p.setColor(QPalette.PlaceholderText, muted)
    p.setColor(QPalette.Highlight, QColor(theme.selection))
    p.setColor(QPalette.HighlightedText, QColor("#ffffff"))
    p.setColor(QPalette.Link, QColor("#0072B2" if theme.name == "light" else "#56B4E9"))
    p.setColor(QPalette.BrightText, QColor(theme.invalid))
    for role in (QPalette.WindowText, QPalette.Text, QPalette.ButtonText):
        p.setColor(QPalette.Disabled, role, muted)
    app.setPalette(p)


def ui_font(point_size: float, bold: bool = False) -> QFont:
    f = QFont(QApplication.font())
    f.setPointSizeF(point_size)
    f.setBold(bold)
    return f


def theme_of(model) -> "Theme | None":
    """The palette a model's view settings name (None for a bare Document: Compare, rendering)."""
    view = getattr(model, "view", None)
    return None if view is None else THEMES[view.theme]
