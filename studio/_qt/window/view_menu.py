"""The main window's View menu: the two fits, zoom, presentation, Compare, the timeline's play,
the scale and the theme (each an action with its shortcut and a tip that says what it does)."""
from __future__ import annotations

from PySide6.QtGui import QActionGroup, QKeySequence

from studio._qt.theme import THEMES


def build_view_menu(win, v) -> None:
    """Fill ``v`` (View) for ``win``; the scale and theme actions stay on the window
    (``win.scale_actions``, ``win.theme_actions``) so the window can check the current one."""
    win._action(v, "&Fit whole graph", win.fit, "Ctrl+0",
                 "The whole graph in view, however small (an overview); kept while scrubbing")
    win._action(v, "Fit &readable", lambda: win.graph_view.fit_to("readable"), "Ctrl+1",
                 "As large as fits with every block title at least 12 px; scroll for the rest (kept while scrubbing)")
    win._action(v, "Zoom &in", lambda: win.graph_view.zoom(1.2), QKeySequence.ZoomIn)
    win._action(v, "Zoom &out", lambda: win.graph_view.zoom(1 / 1.2), QKeySequence.ZoomOut)
    v.addSeparator()
    win.present_action = win._action(v, "&Presentation mode", lambda: win.presentation.toggle(), "F5",
                                       "Full screen, large fonts, only graph, card and timeline (Esc leaves)",
                                       checkable=True)
    win._action(v, "&Compare milestones…", win.open_compare, "Ctrl+K", "Two milestones side by side with their diff")
    win._action(v, "&Play / pause timeline", win.timeline_bar.toggle_play, "Ctrl+Space")
    v.addSeparator()
    scale_menu, group = v.addMenu("&Scale"), QActionGroup(win)
    win.scale_actions = {}
    for s in ("paper", "classroom"):
        a = win._action(scale_menu, s.title(), lambda _c=False, s=s: win.model.document.set_scale(s),
                         tip=f"Show {s}-scale numbers on the blocks", checkable=True)
        a.setChecked(win.model.document.scale == s)
        group.addAction(a)
        win.scale_actions[s] = a
    win.model.document.scale_changed.connect(lambda s: win.scale_actions[s].setChecked(True))
    theme_menu, tgroup = v.addMenu("&Theme"), QActionGroup(win)
    win.theme_actions = {}
    for name in THEMES:
        a = win._action(theme_menu, name.title(), lambda _c=False, n=name: win.set_theme(n),
                         tip=f"{name.title()} palette", checkable=True)
        a.setChecked(win.theme.name == name)
        tgroup.addAction(a)
        win.theme_actions[name] = a
