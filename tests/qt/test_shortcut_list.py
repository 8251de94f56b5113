"""Issue 22 L10: F1 lists every key the menus offer (Ctrl+Y, F6, Ctrl+Shift+R, Ctrl+Shift+P were
missing from a hand-written list), read from the menus themselves."""
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence


def test_f1_lists_every_menu_key(window, qtbot, dialogs):
    window.activateWindow()
    qtbot.waitActive(window)
    qtbot.keyClick(window.graph_view, Qt.Key_F1)
    shown = [text for kind, title, text in dialogs if title == "Keyboard shortcuts"]
    assert shown, dialogs
    text = shown[-1]
    for key in ("Ctrl+Y", "Ctrl+Shift+Z", "F6", "Shift+F6", "Ctrl+Shift+R", "Ctrl+Shift+P", "Ctrl+0", "Ctrl+1",
                "F5", "Ctrl+K", "Ctrl+S"):
        assert key in text, f"{key} missing from the F1 list"
    in_menus = {k.toString(QKeySequence.NativeText) for a in window.findChildren(QAction)
                if a.associatedObjects() and any(m.inherits("QMenu") for m in a.associatedObjects())
                for k in a.shortcuts()}
    assert in_menus and all(k in text for k in in_menus), in_menus - {k for k in in_menus if k in text}
