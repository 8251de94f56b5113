"""Small pieces the llama2.c export and import dialogs share."""
from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLineEdit, QWidget

OK_COLOUR, BAD_COLOUR = "#009E73", "#D55E00"  # Okabe–Ito green / vermillion, always with ✓ / ✗ and words


def row(*widgets) -> QHBoxLayout:
    h = QHBoxLayout()
    for w in widgets:
        if isinstance(w, QWidget):
            h.addWidget(w, 1 if isinstance(w, QLineEdit) else 0)
        else:
            h.addLayout(w)
    return h


def html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
