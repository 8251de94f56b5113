"""Presentation mode (F5 / Esc): full screen, only the graph, a title card per milestone and
the timeline. The graph is laid out for a projector (studio._qt.present.present_geometry): node titles
≥ 24 px and every other graph text ≥ 16 px on a 1366×768 screen, detail dropped level by level
where a graph would not fit. ←/→ step the milestones, Space plays, Esc leaves."""
from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence

from studio._qt.text import esc, training_stages

CARD_PT, TITLE_PT = 16, 26


class Presentation:
    def __init__(self, win):
        self.win = win
        self.active = False
        self._state = None
        self._was_maximized = False
        self._hidden: list = []
        self.leave_action = self._key_action("Leave presentation mode", Qt.Key_Escape, self.toggle)
        self._keys = [self.leave_action,
                      self._key_action("Previous milestone", Qt.Key_Left, lambda: win.model.timeline.step(-1)),
                      self._key_action("Next milestone", Qt.Key_Right, lambda: win.model.timeline.step(1)),
                      self._key_action("Play / pause", Qt.Key_Space, lambda: win.timeline_bar.toggle_play())]
        win.info_panel.updated.connect(self.refresh_card)  # after the words for this change exist
        win.graph_view.graph_scene.changed_diff.connect(lambda _d: self.refresh_card())

    def _key_action(self, text, key, slot) -> QAction:
        """A window-wide key that works only while presenting (whatever has the focus)."""
        a = QAction(text, self.win)
        a.setShortcut(QKeySequence(key))
        a.setShortcutContext(Qt.WindowShortcut)
        a.setEnabled(False)
        a.triggered.connect(slot)
        self.win.addAction(a)
        return a

    def toggle(self) -> None:
        (self._leave if self.active else self._enter)()
        self.win.present_action.setChecked(self.active)

    def enter(self, full_screen: bool = True) -> None:
        """Start presenting; ``full_screen=False`` keeps the window's size (archstudio render)."""
        if not self.active:
            self._enter(full_screen)
            self.win.present_action.setChecked(True)

    def _enter(self, full_screen: bool = True):
        w = self.win
        self.active = True
        self._state = w.saveState()
        self._was_maximized = w.isMaximized()
        # not isHidden(): also the docks behind a tab (else their tab bar stays on screen)
        self._hidden = [d for d in w.findChildren(type(w.timeline_dock)) if d is not w.timeline_dock and not d.isHidden()]
        for d in self._hidden:
            d.hide()
        from PySide6.QtWidgets import QTabBar
        # the dock areas' own tab bars (tabbed docks) would stay over the timeline
        self._tabbars = [tb for tb in w.findChildren(QTabBar) if tb.parent() is w and tb.isVisible()]
        for tb in self._tabbars:
            tb.hide()
        w.menuBar().hide()
        w.statusBar().hide()
        w.timeline_bar.set_presenting(True, self.text_scale())
        w.fix_timeline_height()
        for a in self._keys:
            a.setEnabled(True)
        if full_screen:
            w.showFullScreen()
        w.graph_view.set_presenting(True)
        self.refresh_card()
        w.graph_view.auto_fit = True
        w.graph_view.fit_all()
        w.graph_view.setFocus()

    def _leave(self):
        w = self.win
        self.active = False
        for a in self._keys:
            a.setEnabled(False)
        w.graph_view.set_card(None)
        w.graph_view.set_presenting(False)
        w.timeline_bar.set_presenting(False)
        w.fix_timeline_height()
        w.menuBar().show()
        w.statusBar().show()
        for d in self._hidden:
            d.show()
        import shiboken6
        for tb in getattr(self, "_tabbars", []):
            if shiboken6.isValid(tb):  # the window recreates dock tab bars as docks come back
                tb.show()
        if self._state is not None:
            w.restoreState(self._state)
        w.showMaximized() if self._was_maximized else w.showNormal()
        if hasattr(w, "hide_stale_tab_bars"):  # restoreState can bring Qt's stale dock tab bars back
            w.hide_stale_tab_bars()
            QTimer.singleShot(0, w, w.hide_stale_tab_bars)  # identical copies: once laid out again
        w.graph_view.auto_fit = True
        w.graph_view.fit_all()

    def card_html(self) -> str:
        doc = self.win.model.document
        arch = doc.architecture
        if arch is None:
            return ""
        meta = arch.meta
        sub = " · ".join(str(x) for x in (meta.get("org"), meta.get("date")) if x)
        if meta.get("user_milestone") and doc.is_milestone:  # one the user added to the timeline
            sub += " · ◆ added by you"
        short = meta.get("short") or ""
        changes = self.win.info_panel.transition_text()[:3]
        k = self.text_scale()
        card, title = round(CARD_PT * k, 1), round(TITLE_PT * k, 1)
        ch = "".join(f"<div style='font-size:{card}pt; margin-top:4px'>• {esc(c)}</div>" for c in changes)
        since = self.win.info_panel.compared_with() if changes else ""  # headline first, and against what
        ch = (f"<div style='font-size:{card}pt; margin-top:6px'><i>{esc(since)}:</i></div>" if since else "") + ch
        html = (f"<div style='font-size:{title}pt; font-weight:bold'>{esc(doc.title)}</div>"
                f"<div style='font-size:{card}pt'>{esc(sub)}</div>"
                f"<div style='font-size:{card}pt; margin-top:6px'>{esc(short)}</div>{ch}")
        plan = self.win.graph_view.graph_scene.plan
        stages = training_stages(arch.training or {})
        if stages and plan is not None and plan.present.stages_one_line:  # the strip had no room in the graph
            line = " → ".join(f"{i + 1}. {esc(t)}" for i, (t, _d) in enumerate(stages))
            html += f"<div style='font-size:{card}pt; margin-top:8px'><b>Training:</b> {line}</div>"
        return html

    def text_scale(self) -> float:
        """Card and timeline text grow with the screen (sized for 768 pixels of height)."""
        return max(1.0, min(2.0, self.win.height() / 768))

    def refresh_card(self):
        if not self.active:
            return
        t = self.win.theme
        style = (f"QLabel {{ background: {t.window}; color: {t.text}; border: 2px solid {t.frame};"
                 f" border-radius: 12px; padding: 10px 16px; }}")
        self.win.graph_view.set_card(self.card_html(), style)
