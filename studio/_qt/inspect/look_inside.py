"""Look inside: the attention and routing views together in a window of their own.

On a 1366×768 laptop the bottom docks get a third of the screen; the maps need more. Look inside
(Inspect menu, Ctrl+L) moves the two views out of their docks into one window that covers the
main window, or fills a second screen when there is one (a projector beside the laptop); the
docks say where the views went. Closing it (Ctrl+L again, Esc, "Back to the docks") puts both
views back. Nothing is rebuilt: the same view objects move, so their state and the inspection
they show move with them.

    look = LookInside(inspect_docks, window)
    menu.addAction(look.action)
"""
from __future__ import annotations

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (QButtonGroup, QHBoxLayout, QLabel, QPushButton, QSplitter, QVBoxLayout, QWidget)

SHORTCUT = "Ctrl+L"
VIEWS = ("Both", "Attention", "Routing")


class LookInsideWindow(QWidget):
    """The window itself: a bar of controls over a vertical splitter (attention above routing)."""
    closing = Signal()

    def __init__(self, parent=None):
        super().__init__(parent, Qt.Window)
        self.setWindowTitle("Look inside — LLM Architecture Studio")
        self.title = QLabel("<b>Look inside</b> · drag the bar between the views to give one of them more room")
        self.view_buttons = QButtonGroup(self)
        bar = QHBoxLayout()
        bar.setContentsMargins(6, 4, 6, 0)
        bar.addWidget(self.title, 1)
        for i, name in enumerate(VIEWS):
            b = QPushButton(name)
            b.setCheckable(True)
            b.setToolTip({"Both": "Attention above, routing below (drag the bar between them)",
                          "Attention": "Only the attention maps, with all the room",
                          "Routing": "Only the mixture-of-experts routing, with all the room"}[name])
            self.view_buttons.addButton(b, i)
            bar.addWidget(b)
        self.view_buttons.button(0).setChecked(True)
        self.view_buttons.idClicked.connect(lambda i: self.show_view(VIEWS[i]))
        self.screen_btn = QPushButton("Other screen")
        self.screen_btn.setToolTip("Move this window to the next screen (a projector), maximised")
        self.full_btn = QPushButton("Full screen")
        self.full_btn.setCheckable(True)
        self.full_btn.setToolTip("Full screen (F11); Esc leaves")
        self.back_btn = QPushButton("Back to the docks")
        self.back_btn.setToolTip(f"Close this window; attention and routing return to their docks ({SHORTCUT})")
        for b in (self.screen_btn, self.full_btn, self.back_btn):
            bar.addWidget(b)
        self.split = QSplitter(Qt.Vertical)
        self.split.setChildrenCollapsible(False)
        self.split.setHandleWidth(8)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(bar)
        lay.addWidget(self.split, 1)
        self.full_btn.toggled.connect(self.set_full_screen)
        full = QAction("Full screen", self)
        full.setShortcut(QKeySequence("F11"))
        full.triggered.connect(lambda: self.full_btn.toggle())
        self.addAction(full)

    def show_view(self, name: str) -> None:
        self.view_buttons.button(VIEWS.index(name)).setChecked(True)
        for i in range(self.split.count()):
            w = self.split.widget(i)
            w.setVisible(name == "Both" or w.objectName() == name)

    def set_full_screen(self, on: bool) -> None:
        if on and not self.isFullScreen():
            self.showFullScreen()
        elif not on and self.isFullScreen():
            self.showMaximized()
        self.full_btn.blockSignals(True)
        self.full_btn.setChecked(on)
        self.full_btn.blockSignals(False)

    def keyPressEvent(self, event):
        if event.key() == Qt.Key_Escape:
            if self.isFullScreen():
                self.set_full_screen(False)
            else:
                self.close()
            return
        super().keyPressEvent(event)

    def closeEvent(self, event):
        self.closing.emit()
        super().closeEvent(event)


class LookInside(QObject):
    """Moves the inspection views between their docks and the Look inside window."""
    toggled = Signal(bool)  # open / closed

    def __init__(self, docks, parent_window=None):
        """``docks``: the InspectDocks (its ``attention`` / ``routing`` views and their dock areas)."""
        super().__init__(parent_window)
        self.inspect = docks
        self.main = parent_window
        self.window: LookInsideWindow | None = None
        self._placeholders: dict[str, QWidget] = {}
        self.action = QAction("&Look inside (attention + routing)", self)
        self.action.setShortcut(QKeySequence(SHORTCUT))
        self.action.setCheckable(True)
        self.action.setToolTip("Attention and routing in a window of their own: the whole window, or a second "
                               f"screen when there is one ({SHORTCUT} again, or Esc, brings them back)")
        self.action.triggered.connect(lambda on: self.open() if on else self.close())

    @property
    def is_open(self) -> bool:
        return self.window is not None

    # ------------------------------------------------------------------ moving the views
    def _placeholder(self, title: str) -> QWidget:
        page = QWidget()
        lay = QVBoxLayout(page)
        lay.addStretch(1)
        note = QLabel(f"{title} is shown in the Look inside window.")
        note.setAlignment(Qt.AlignCenter)
        lay.addWidget(note)
        back = QPushButton("Bring it back here")
        back.setToolTip(f"Close the Look inside window ({SHORTCUT})")
        back.clicked.connect(self.close)
        lay.addWidget(back, 0, Qt.AlignHCenter)
        lay.addStretch(1)
        return page

    def _views(self):
        return (("Attention", self.inspect.attention), ("Routing", self.inspect.routing))

    def open(self, screen=None) -> LookInsideWindow:
        """Show the views in their own window: on ``screen``, else a second screen, else over the main window."""
        if self.window is not None:
            self.window.raise_()
            self.window.activateWindow()
            return self.window
        win = LookInsideWindow(self.main)
        win.addAction(self.action)  # Ctrl+L in this window closes it
        win.screen_btn.clicked.connect(self.next_screen)
        win.back_btn.clicked.connect(win.close)
        win.closing.connect(self._return_views)
        for title, view in self._views():
            area = self.inspect.docks[title]
            area.takeWidget()
            placeholder = self._placeholder(title)
            area.setWidget(placeholder)
            self._placeholders[title] = placeholder
            view.setObjectName(title)
            win.split.addWidget(view)
            view.show()
        self.window = win
        self._fit_split()
        self.update_title()
        win.screen_btn.setVisible(len(QGuiApplication.screens()) > 1)
        self._place(screen)
        self.action.setChecked(True)
        self.toggled.emit(True)
        return win

    def _fit_split(self) -> None:
        """A dense model's routing pane is one sentence: attention gets the room."""
        win = self.window
        routing = self.inspect.routing
        h = max(win.height(), 600)
        if routing.moe[0]:
            win.split.setSizes([int(h * 0.55), int(h * 0.45)])
        else:
            win.split.setSizes([h - 90, 90])

    def update_title(self) -> None:
        import shiboken6
        if self.window is None or not shiboken6.isValid(self.window):  # RunState (psygnal) may outlive it
            return
        src = self.inspect.controller.source
        doc = self.inspect.run_state.document
        what = (doc.title if doc is not None else "") or (src.label if src is not None else "")
        self.window.setWindowTitle(f"Look inside: {what} — LLM Architecture Studio" if what else
                                   "Look inside — LLM Architecture Studio")

    def _place(self, screen=None) -> None:
        win = self.window
        here = self.main.screen() if self.main is not None else QGuiApplication.primaryScreen()
        if screen is None:
            others = [s for s in QGuiApplication.screens() if s is not here]
            screen = others[0] if others else None
        if screen is not None:  # a second screen: the whole of it
            win.setGeometry(screen.availableGeometry())
            win.showMaximized()
        else:  # one screen: the whole main window
            if self.main is not None and self.main.isVisible():
                win.setGeometry(self.main.geometry())
            else:
                win.resize(1280, 720)
            win.show()
        win.raise_()
        win.activateWindow()

    def next_screen(self) -> None:
        screens = QGuiApplication.screens()
        if self.window is None or len(screens) < 2:
            return
        cur = self.window.screen()
        nxt = screens[(screens.index(cur) + 1) % len(screens)] if cur in screens else screens[0]
        self.window.set_full_screen(False)
        self.window.showNormal()
        self.window.setGeometry(nxt.availableGeometry())
        self.window.showMaximized()

    def close(self) -> None:
        if self.window is not None:
            self.window.close()  # closeEvent → _return_views

    def _return_views(self) -> None:
        win, self.window = self.window, None
        if win is None:
            return
        for title, view in self._views():
            area = self.inspect.docks[title]
            placeholder = area.takeWidget()
            if placeholder is not None:
                placeholder.deleteLater()
            self._placeholders.pop(title, None)
            area.setWidget(view)  # reparents the view out of the window
            view.show()
        win.deleteLater()
        self.action.setChecked(False)
        self.toggled.emit(False)
