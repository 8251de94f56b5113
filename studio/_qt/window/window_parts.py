"""Small pieces of the main window: the About and shortcut texts, and the first-paint hook."""
from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QRect, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence, QPainter
from PySide6.QtWidgets import QAbstractScrollArea, QDockWidget, QFrame, QMenu, QScrollArea, QStatusBar, QWidget

MENU_ORDER = ("File", "Edit", "View", "Train", "Inspect", "Help")

ABOUT = """<h3>LLM Architecture Studio {version}</h3>
<p>Scrub from the 2017 Transformer to 2026 trillion-parameter mixtures of experts; edit, train,
inspect and export the models.</p>
<p><b>Data.</b> TinyStories (Eldan &amp; Li, 2023), licensed under the Community Data License
Agreement – Sharing, Version 1.0 (CDLA-Sharing-1.0); stories you download are used under that
licence and are not bundled with the app.</p>
<p><b>Colours.</b> Block families use the Okabe–Ito colour-blind-safe palette; changes are
shown with a word and an outline style as well as colour.</p>
<p>Figures carry their provenance: ◆ published · ● computed · ▲ measured · ◇ reported ·
○ undisclosed · ◌ stand-in.</p>"""

# keys that are no menu item (the menus' own keys are listed from the menus themselves)
OTHER_KEYS = (
    "←/→  previous / next milestone (graph or timeline focused) · Home / End  first / last",
    "Ctrl+wheel  zoom · middle-drag  pan · F  frame the selection",
    "Click an attention block  inspect it · Enter  open the selected block",
    "Presenting: ←/→ step · Space play / pause · Esc leave")


def shortcut_lines(window) -> list[str]:
    """Every menu item that has a key, as "key  Menu → item", then the keys without an item:
    read from the menus, so a new action's key is listed without anyone remembering to."""
    out = []

    def walk(menu, path):
        for a in menu.actions():
            name = a.text().replace("&", "")
            if a.menu() is not None:
                walk(a.menu(), f"{path} → {name}")
            elif a.shortcuts():
                keys = " / ".join(k.toString(QKeySequence.NativeText) for k in a.shortcuts())
                out.append(f"{keys}  {path} → {name}")
    for top in window.menuBar().actions():
        if top.menu() is not None:
            walk(top.menu(), top.text().replace("&", ""))
    return out + list(OTHER_KEYS)


class StatusBar(QStatusBar):
    """The status bar whose message stops short of the labels on its right (the model's title,
    the training data): a long message is cut with "…" there, its whole text in the tooltip,
    instead of running under them."""
    GAP = 16

    def message_rect(self) -> QRect:
        right = self.width()
        for w in self.findChildren(QWidget, options=Qt.FindDirectChildrenOnly):
            if w.isVisible() and w.x() > 0:  # the permanent labels and the size grip
                right = min(right, w.x())
        return QRect(6, 0, max(0, right - self.GAP - 6), self.height())

    def paintEvent(self, event):
        msg = self.currentMessage()
        if not msg:
            self.setToolTip("")
            return super().paintEvent(event)
        rect = self.message_rect()
        shown = self.fontMetrics().elidedText(msg, Qt.ElideRight, rect.width())
        self.setToolTip(msg if shown != msg else "")
        p = QPainter(self)
        p.setPen(self.palette().windowText().color())
        p.drawText(rect, Qt.AlignLeft | Qt.AlignVCenter, shown)
        p.end()

    def shown_message(self) -> str:
        """The message as drawn (elided to the room left of the labels)."""
        return self.fontMetrics().elidedText(self.currentMessage(), Qt.ElideRight, self.message_rect().width())


class FirstPaint(QObject):
    """Calls back once, right after the first paint of a widget (start-up work waits for it)."""

    def __init__(self, widget, callback):
        super().__init__(widget)
        self.callback, self.widget = callback, widget
        widget.installEventFilter(self)

    def eventFilter(self, obj, event):
        if event.type() == QEvent.Paint:
            self.widget.removeEventFilter(self)
            QTimer.singleShot(0, self, self.callback)  # context: cancelled if we are deleted first
        return False


def small_screen(screen) -> bool:
    """A laptop or projector screen (1366×768, 1280×800, 1440×900): the window opens maximised
    there; a 90 % window would waste the pixels the graph and the docks need."""
    if screen is None:
        return False
    free = screen.availableGeometry()
    return free.width() < 1600 or free.height() < 950


def _scroll_when_narrow(widget) -> QScrollArea:
    """A bottom panel in a scroll area: a panel wider than the window (Training needs 1350 px)
    scrolls sideways inside its dock instead of widening the window past a 1366-px screen."""
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.NoFrame)
    area.setWidget(widget)
    area.setObjectName(f"scroll-{type(widget).__name__}")
    return area


def reveal_docked(window, dock) -> None:
    """Show a bottom dock in its place under the timeline with about half the window's height
    (the graph keeps the rest), raised over its tab group. Never floating: a floating panel
    opened over the timeline with its buttons off a 1366×768 screen (issue 22 H4)."""
    if dock.isFloating() and not window.isVisible():
        return
    dock.show()
    dock.raise_()
    if window.isVisible() and not dock.isFloating():
        def give_room():
            window.resizeDocks([dock], [int(window.height() * 0.5)], Qt.Vertical)
        give_room()
        QTimer.singleShot(0, dock, give_room)  # a raised tab is laid out only on the next turn


class DockHost:
    """Mixed into the main window: its menus in a fixed order, its docks (right: stacked;
    left; bottom: tabbed under the timeline, each listed in View → Panels) and actions."""

    def menu(self, name: str) -> QMenu:
        if name not in self._menus:
            menu = QMenu(name.replace("&", ""), self)
            menu.setTitle(f"&{name}")
            later = [n for n in MENU_ORDER[MENU_ORDER.index(name) + 1:] if n in self._menus] if name in MENU_ORDER else []
            if later:
                self.menuBar().insertMenu(self._menus[later[0]].menuAction(), menu)
            else:
                self.menuBar().addMenu(menu)
            menu.aboutToHide.connect(lambda: QTimer.singleShot(0, self, self._leave_menu_bar))
            self._menus[name] = menu
        return self._menus[name]

    def _leave_menu_bar(self) -> None:
        """A menu closed with Escape leaves Qt's menu bar in keyboard mode, holding the focus, and
        ←/→ then walked the menus instead of the timeline: leave that mode (as a second Escape
        would), which gives the focus back to where it was, or to the graph when nothing has it.
        Another menu open (the user moved along the bar) is left alone."""
        from PySide6.QtGui import QKeyEvent
        from PySide6.QtWidgets import QApplication
        bar = self.menuBar()
        if QApplication.activePopupWidget() is not None:
            return
        if bar.hasFocus():
            QApplication.sendEvent(bar, QKeyEvent(QEvent.KeyPress, Qt.Key_Escape, Qt.NoModifier))
        if (bar.hasFocus() or QApplication.focusWidget() is None) and self.centralWidget() is not None:
            self.centralWidget().setFocus()  # no widget had the focus back: the graph (its keys step)

    def add_dock(self, title: str, widget, area: str = "bottom") -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock-{title.lower().replace(' ', '-')}")
        if area == "bottom" and not isinstance(widget, QAbstractScrollArea):
            widget = _scroll_when_narrow(widget)
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetClosable | QDockWidget.DockWidgetMovable | QDockWidget.DockWidgetFloatable)
        if area == "right":
            self.addDockWidget(Qt.RightDockWidgetArea, dock)
            if self._right_docks:
                self.splitDockWidget(self._right_docks[-1], dock, Qt.Vertical)
            self._right_docks.append(dock)
        elif area == "left":
            self.addDockWidget(Qt.LeftDockWidgetArea, dock)
        else:  # tabbed, under the timeline
            self.addDockWidget(Qt.BottomDockWidgetArea, dock)
            if self._bottom_docks:
                self.tabifyDockWidget(self._bottom_docks[0], dock)
            else:
                self.splitDockWidget(self.timeline_dock, dock, Qt.Vertical)
            self._bottom_docks.append(dock)
        self._docks[title] = dock
        self._panels.addAction(dock.toggleViewAction())
        dock.toggleViewAction().setToolTip(f"Show or hide the {title} panel")
        # shown from the menu, a panel comes to the front of its tab group (it was added behind)
        dock.toggleViewAction().triggered.connect(lambda on, d=dock: on and d.raise_())
        return dock

    def _action(self, menu: QMenu, text: str, slot, shortcut=None, tip: str = "", checkable=False) -> QAction:
        a = QAction(text, self)
        if shortcut:
            a.setShortcut(QKeySequence(shortcut))
        a.setToolTip(tip or text.replace("&", ""))
        a.setStatusTip(tip or text.replace("&", ""))
        a.setCheckable(checkable)
        a.triggered.connect(slot)
        menu.addAction(a)
        return a

    def hide_stale_tab_bars(self):
        """Qt 6.11 leaves a second, stale tab bar ("Training | Plots") drawn over the bottom docks
        once another area already has a tab group; hide a window-level tab bar whose tabs are only
        the first few of another visible one (the real bar lists them all)."""
        from PySide6.QtWidgets import QTabBar
        bars = [tb for tb in self.findChildren(QTabBar) if tb.parent() is self and not tb.isHidden()]
        names = {tb: [tb.tabText(i) for i in range(tb.count())] for tb in bars}
        for tb in bars:
            mine = names[tb]
            if any(o is not tb and len(names[o]) > len(mine) and names[o][:len(mine)] == mine for o in bars):
                tb.hide()  # a shorter copy
        if not self.isVisible():
            return  # identical copies (after restoreState) are told apart only once laid out
        from PySide6.QtWidgets import QDockWidget
        docks = [d.geometry() for d in self.findChildren(QDockWidget) if d.isVisible() and not d.isFloating()]
        shown = [tb for tb in bars if not tb.isHidden()]
        for tb in shown:
            over = any(g.intersects(tb.geometry()) for g in docks)  # a real tab bar sits beside its docks
            twin = [o for o in shown if o is not tb and not o.isHidden() and names[o] == names[tb]]
            if over and twin and not all(any(g.intersects(o.geometry()) for g in docks) for o in twin):
                tb.hide()

    def _quit_last(self):
        """Quit at the bottom of File, below the Export / Import menus added later."""
        f = self.menu("File")
        f.removeAction(self.quit_action)
        if f.actions() and not f.actions()[-1].isSeparator():
            f.addSeparator()
        f.addAction(self.quit_action)


def size_to_screen(win, screen=None) -> tuple[int, int]:
    """Open at 90 % of the screen's free area, centred (not a fixed 1366×768 on a 1080p screen);
    never smaller than 1024×640 nor larger than the screen."""
    from PySide6.QtGui import QGuiApplication
    screen = screen or QGuiApplication.primaryScreen()
    if screen is None:
        win.resize(1366, 768)
        return 1366, 768
    free = screen.availableGeometry()
    w = min(free.width(), max(1024, int(free.width() * 0.9)))
    h = min(free.height(), max(640, int(free.height() * 0.9)))
    win.resize(w, h)
    win.move(free.x() + (free.width() - w) // 2, free.y() + (free.height() - h) // 2)
    return w, h
