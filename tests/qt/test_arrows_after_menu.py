"""Issue 22 L4: after Escape closes a menu, ←/→ step the timeline again (they walked the menu
bar: Qt leaves the bar in keyboard mode with its title highlighted)."""
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication


def test_arrows_step_the_timeline_after_escape_closes_a_menu(window, qtbot):
    window.activateWindow()
    qtbot.waitActive(window)
    tl = window.model.timeline
    tl.set_current("2023-07-llama-2")
    window.graph_view.setFocus()
    start = tl.index
    bar = window.menuBar()
    qtbot.keyClick(window, Qt.Key_V, Qt.AltModifier)  # Alt+V opens View
    qtbot.waitUntil(lambda: QApplication.activePopupWidget() is not None, timeout=2000)
    qtbot.keyClick(QApplication.activePopupWidget(), Qt.Key_Escape)
    qtbot.waitUntil(lambda: QApplication.activePopupWidget() is None, timeout=2000)
    window.activateWindow()  # what the window manager does as the popup goes (offscreen Qt does not)
    qtbot.waitActive(window)
    qtbot.wait(50)
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key_Right)
    qtbot.wait(50)
    assert QApplication.activePopupWidget() is None and bar.activeAction() is None
    assert tl.index == start + 1
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key_Left)
    assert tl.index == start
