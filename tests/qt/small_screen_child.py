"""Run by test_small_screen_window.py in a child process whose only screen is 1366×768 (Qt's
offscreen platform with a screen file): the app's own start-up (``start_window``), then F6 and
View → Panels driven by key presses and menu actions; prints what it measured as JSON."""
import json
import sys
import time

from PySide6.QtCore import QRect, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QDialog

from studio._qt.window.app import create_app, start_window


def settle(app, seconds: float, until=lambda: True) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        if until():
            return
        time.sleep(0.01)


def rect(r: QRect) -> list[int]:
    return [r.x(), r.y(), r.width(), r.height()]


def main() -> int:
    app = create_app()
    win = start_window(None)
    settle(app, 60, lambda: win.training is not None and win.first_run is not None)
    settle(app, 0.5)
    out = {"screen": rect(win.screen().availableGeometry()), "maximized": win.isMaximized(),
           "start": rect(win.frameGeometry())}
    def dialogs():
        return [w for w in QApplication.topLevelWidgets() if isinstance(w, QDialog) and w.isVisible()]
    settle(app, 30, lambda: bool(dialogs()))  # the first-run tour opens once the window is free (a timer)
    for dlg in dialogs():
        dlg.reject()
    settle(app, 0.2)
    started = []
    win.training.panel.start = lambda: started.append(True)  # the key's path, without training torch
    win.activateWindow()
    settle(app, 0.3)
    QTest.keyClick(win, Qt.Key_F6)
    dock = win._docks["Training"]
    settle(app, 30, lambda: bool(started) and dock.isVisible())  # a loaded machine lays the dock out later
    settle(app, 0.5)
    out["f6"] = {"started": bool(started), "visible": dock.isVisible(), "floating": dock.isFloating(),
                 "dock": rect(dock.geometry()), "window": rect(win.frameGeometry()),
                 "stop_right": win.training.panel.stop_btn.mapTo(win, win.training.panel.stop_btn.rect().bottomRight()).x(),
                 "stop_visible": not win.training.panel.stop_btn.visibleRegion().isEmpty()}
    widths = {}
    for action in win._panels.actions():
        if not action.isChecked():
            action.trigger()
            settle(app, 0.2)
        widths[action.text()] = win.frameGeometry().width()
    out["panels"] = widths
    out["floating_any"] = [t for t, d in win._docks.items() if d.isFloating()]
    print(json.dumps(out))
    win.projects.confirm_close = lambda: True
    win.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
