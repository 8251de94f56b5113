"""Presentation mode (F5 / Esc): full screen, large fonts, only the graph, a title card per
milestone and the timeline; arrow keys keep stepping the milestones."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence

from studio._qt.text import esc

CARD_PT, TITLE_PT, TIMELINE_PT = 18, 30, 16


class Presentation:
    def __init__(self, win):
        self.win = win
        self.active = False
        self._state = None
        self._was_maximized = False
        self._hidden: list = []
        self.leave_action = QAction("Leave presentation mode", win)
        self.leave_action.setShortcut(QKeySequence(Qt.Key_Escape))
        self.leave_action.setEnabled(False)
        self.leave_action.triggered.connect(self.toggle)
        win.addAction(self.leave_action)
        win.info_panel.updated.connect(self.refresh_card)  # after the words for this change exist

    def toggle(self) -> None:
        (self._leave if self.active else self._enter)()
        self.win.present_action.setChecked(self.active)

    def _enter(self):
        w = self.win
        self.active = True
        self._state = w.saveState()
        self._was_maximized = w.isMaximized()
        self._hidden = [d for d in w.findChildren(type(w.timeline_dock)) if d is not w.timeline_dock and d.isVisible()]
        for d in self._hidden:
            d.hide()
        w.menuBar().hide()
        w.statusBar().hide()
        w.timeline_bar.strip.set_font_pt(TIMELINE_PT)
        w.fix_timeline_height()
        w.timeline_bar.scale_box.hide()
        w.graph_view.graph_scene.set_font_scale(1.2)
        self.leave_action.setEnabled(True)
        w.showFullScreen()
        self.refresh_card()
        w.graph_view.auto_fit = True
        w.graph_view.fit_all()
        w.graph_view.setFocus()

    def _leave(self):
        w = self.win
        self.active = False
        self.leave_action.setEnabled(False)
        w.graph_view.set_card(None)
        w.graph_view.graph_scene.set_font_scale(1.0)
        w.timeline_bar.strip.set_font_pt(9.0)
        w.fix_timeline_height()
        w.timeline_bar.scale_box.show()
        w.menuBar().show()
        w.statusBar().show()
        for d in self._hidden:
            d.show()
        if self._state is not None:
            w.restoreState(self._state)
        w.showMaximized() if self._was_maximized else w.showNormal()
        w.graph_view.auto_fit = True
        w.graph_view.fit_all()

    def card_html(self) -> str:
        m = self.win.timeline_model
        arch = m.arch
        if arch is None:
            return ""
        meta = arch.meta
        sub = " · ".join(str(x) for x in (meta.get("org"), meta.get("date")) if x)
        short = meta.get("short") or ""
        changes = self.win.info_panel.transition_text()[:3]
        ch = "".join(f"<div style='font-size:{CARD_PT - 2}pt'>• {esc(c)}</div>" for c in changes)
        return (f"<div style='font-size:{TITLE_PT}pt; font-weight:bold'>{esc(m.title())}</div>"
                f"<div style='font-size:{CARD_PT}pt'>{esc(sub)}</div>"
                f"<div style='font-size:{CARD_PT}pt; margin-top:6px'>{esc(short)}</div>{ch}")

    def refresh_card(self):
        if not self.active:
            return
        t = self.win.theme
        style = (f"QLabel {{ background: {t.window}; color: {t.text}; border: 2px solid {t.frame};"
                 f" border-radius: 12px; padding: 10px 16px; }}")
        self.win.graph_view.set_card(self.card_html(), style)
