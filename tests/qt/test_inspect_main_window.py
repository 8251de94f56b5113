"""The inspector inside the real main window: graph click opens it; the run of the model on screen feeds it."""
import pytest
import torch

from studio.core.model.compiler import compile_architecture
from studio.core.state.run import Snapshot
from studio.core.tokenizers.byte_level import ByteTokenizer

WAIT = 60_000


@pytest.fixture
def ready(window, qtbot):
    if getattr(window, "inspect", None) is None:
        pytest.skip("the main window did not build the inspection docks")
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield window
    window.inspect.shutdown()
    torch.set_num_threads(n)


def test_graph_click_opens_inspector_on_that_block(ready, qtbot):
    w = ready
    w.model.show_milestone("2023-07-llama-2")
    assert {"Attention", "Routing"} <= set(w._docks)
    ctl = w.inspect.controller
    with qtbot.waitSignal(ctl.inspected, timeout=WAIT) as blocker:
        w.graph_view.block_activated.emit("attention")
    qtbot.waitUntil(lambda: not ctl.busy(), timeout=WAIT)
    ins = blocker.args[0]
    assert ins.arch_id == "2023-07-llama-2" and "untrained" in ins.label
    view = w.inspect.attention
    qtbot.waitUntil(lambda: view.ins is ins)
    assert view.sel == (0, -1) and ins.attention[0].node == "attention"
    assert w._docks["Attention"].isVisible()
    # switching heads and blocks through the combo boxes
    view.head_box.setCurrentIndex(5)
    view.block_box.setCurrentIndex(3)
    assert view.sel == (3, 4)


def test_the_run_of_the_model_on_screen_reaches_the_inspector(ready, qtbot):
    w = ready
    w.model.show_milestone("2023-07-llama-2")
    ctl = w.inspect.controller
    with qtbot.waitSignal(ctl.inspected, timeout=WAIT):
        w.inspect.inspect_on_screen()
    qtbot.waitUntil(lambda: not ctl.busy(), timeout=WAIT)
    arch = w.model.document.architecture.copy()
    arch.scales["classroom"]["vocab_size"] = 259
    run = w.model.run
    run.start_live(w.model.document.key)  # what the training session does when training starts here
    with qtbot.waitSignal(ctl.inspected, timeout=WAIT) as blocker:
        run.set_snapshot(Snapshot(arch, compile_architecture(arch).state_dict(), 42, ByteTokenizer()))
    qtbot.waitUntil(lambda: not ctl.busy(), timeout=WAIT)
    assert "step 42" in blocker.args[0].label
    assert "step 42" in w.inspect.attention.source_label.text()
    with qtbot.waitSignal(ctl.inspected, timeout=WAIT) as other:  # another milestone: not that run's weights
        w.model.show_milestone("2019-02-gpt-2")
    qtbot.waitUntil(lambda: not ctl.busy(), timeout=WAIT)
    assert "untrained" in other.args[0].label and other.args[0].arch_id == "2019-02-gpt-2"


def _click_block(qtbot, w, node_id, double=False):
    """A click, or a real double-click: press, release, double-click press, a move with the
    button held (where the re-fitted view used to drag the block), release. (QTest's
    mouseDClick sends a lone DblClick event, which no mouse produces.)"""
    from PySide6.QtCore import QEvent, QPointF, Qt
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication
    view = w.graph_view
    item = view.graph_scene.nodes[node_id]
    view.centerOn(item)
    pos = view.mapFromScene(item.sceneBoundingRect().center())
    vp = view.viewport()
    qtbot.mouseClick(vp, Qt.LeftButton, pos=pos)
    if double:
        local = QPointF(pos)
        for kind, buttons in ((QEvent.MouseButtonDblClick, Qt.LeftButton), (QEvent.MouseMove, Qt.LeftButton)):
            QApplication.sendEvent(vp, QMouseEvent(kind, local, vp.mapToGlobal(local), Qt.LeftButton if
                                                   kind != QEvent.MouseMove else Qt.NoButton, buttons, Qt.NoModifier))
            QApplication.processEvents()  # the dock a double-click press opened re-fits the view here
        qtbot.mouseRelease(vp, Qt.LeftButton, pos=pos)
    return item


def test_a_single_click_on_a_block_selects_and_inspects_it_without_moving_it(ready, qtbot):
    w = ready
    w.model.show_milestone("2023-07-llama-2")
    ctl = w.inspect.controller
    from PySide6.QtCore import QAbstractAnimation
    from PySide6.QtWidgets import QApplication
    scene = w.graph_view.graph_scene
    qtbot.waitUntil(lambda: scene._anim.state() == QAbstractAnimation.Stopped)  # the milestone change's motion
    item = scene.nodes["attention"]
    before, moves = item.pos(), []
    w.graph_view.graph_scene.node_dragged.connect(lambda *a: moves.append(a))
    with qtbot.waitSignal(ctl.inspected, timeout=WAIT):
        _click_block(qtbot, w, "attention")
    qtbot.waitUntil(lambda: not ctl.busy(), timeout=WAIT)
    assert item.isSelected() and item.pos() == before
    assert w._docks["Attention"].isVisible() and w.inspect.attention.sel == (0, -1)
    # a double-click no longer drags the block under the re-fitted view, and still inspects
    w._docks["Attention"].hide()  # so that inspecting opens it again and the graph view re-fits
    QApplication.processEvents()
    _click_block(qtbot, w, "attention", double=True)
    assert w._docks["Attention"].isVisible()
    qtbot.waitUntil(lambda: not ctl.busy(), timeout=WAIT)
    assert item.pos() == before and moves == []  # no move was recorded


def test_look_inside_from_the_inspect_menu(ready, qtbot):
    w = ready
    w.model.show_milestone("2023-12-mixtral")
    action = next(a for a in w.menu("Inspect").actions() if a.text().replace("&", "").startswith("Look inside"))
    assert action.shortcut().toString() == "Ctrl+L"
    action.trigger()
    look = w.inspect.look_inside
    assert look.window is not None and w.inspect.routing.window() is look.window
    assert not w.inspect.routing.empty.isVisibleTo(w.inspect.routing)  # Mixtral routes, before any run
    action.trigger()
    qtbot.waitUntil(lambda: look.window is None)
    assert w.inspect.routing.window() is w


def test_a_click_while_presenting_starts_no_hidden_inspection(ready, qtbot):
    w = ready
    w.model.show_milestone("2023-07-llama-2")
    w.presentation.toggle()
    try:
        w.graph_view.block_activated.emit("attention")
        assert not w.inspect.controller.active and not w.inspect.controller.busy()
        assert not w._docks["Attention"].isVisible()
        w.inspect.look_inside.open()  # with Look inside open (a second screen), the click inspects there
        with qtbot.waitSignal(w.inspect.controller.inspected, timeout=WAIT):
            w.graph_view.block_activated.emit("attention")
        qtbot.waitUntil(lambda: not w.inspect.controller.busy(), timeout=WAIT)
        assert w.inspect.attention.window() is w.inspect.look_inside.window
    finally:
        w.inspect.look_inside.close()
        w.presentation.toggle()
