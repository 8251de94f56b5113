"""Issue 22 M1: two fits, each kept while scrubbing — Ctrl+0 the whole graph however small (every
milestone's LM head on screen at 1366×768 with a bottom dock open), Ctrl+1 the readable zoom
(every block title ≥ 12 px, scroll bars for the rest)."""
from PySide6.QtCore import QRectF, Qt


def _open_bottom_dock(window):
    window.reveal_dock("Plots")  # as the app opens a panel: docked, half the window high


def _outside(view) -> list[str]:
    scene = view.graph_scene
    vp = QRectF(view.viewport().rect())
    return [nid for nid, it in scene.nodes.items() if not vp.contains(QRectF(view.mapFromScene(it.sceneBoundingRect()).boundingRect()))]


def _titles(view) -> float:
    return min(px for role, _t, px in view.graph_scene.text_px_on_screen(view) if role == "title")


def _settle(qtbot, view):
    qtbot.waitUntil(lambda: not view.graph_scene.animating, timeout=3000)


def test_ctrl0_shows_the_whole_graph_and_ctrl1_the_readable_zoom(window, qtbot):
    window.activateWindow()
    qtbot.waitActive(window)
    _open_bottom_dock(window)
    view = window.graph_view
    window.model.timeline.set_current("2023-07-llama-2")
    _settle(qtbot, view)
    qtbot.waitUntil(lambda: view.viewport().height() < 300, timeout=3000)  # the cramped case of the issue
    view.setFocus()
    qtbot.keyClick(view, Qt.Key_0, Qt.ControlModifier)
    assert _outside(view) == [], "Ctrl+0 left blocks outside the view"
    qtbot.wait(20)
    assert not view.horizontalScrollBar().isVisible() and not view.verticalScrollBar().isVisible()
    for _ in range(3):  # the overview is kept while stepping
        qtbot.keyClick(view, Qt.Key_Right)
        _settle(qtbot, view)
        assert _outside(view) == [], window.model.timeline.current_id
    qtbot.keyClick(view, Qt.Key_1, Qt.ControlModifier)
    assert _titles(view) >= 12.0 - 0.05
    assert _outside(view)  # readable: the graph is taller than the cramped view, it scrolls
    qtbot.keyClick(view, Qt.Key_Left)
    _settle(qtbot, view)
    assert _titles(view) >= 12.0 - 0.05


def test_view_menu_names_both_fits(window):
    names = {a.text().replace("&", ""): a.shortcut().toString() for a in window.menu("View").actions()}
    assert names.get("Fit whole graph") == "Ctrl+0" and names.get("Fit readable") == "Ctrl+1"
