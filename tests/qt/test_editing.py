"""Editing through the real widgets: palette, port dragging, Delete, property editor, undo/redo,
custom models across scrubbing, validation marks, copy/paste."""
import copy

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QSpinBox

from studio.core.model.graph import Edge


@pytest.fixture
def llama(window):
    window.model.show_milestone("2023-07-llama-2")
    window.graph_view.graph_scene._end_animation()
    return window


def _vp(window, item_or_point):
    v = window.graph_view
    pt = item_or_point.scenePos() if hasattr(item_or_point, "scenePos") else item_or_point
    return v.mapFromScene(pt)


def _drag(qtbot, window, a, b):
    vp = window.graph_view.viewport()
    qtbot.mousePress(vp, Qt.LeftButton, pos=a)
    qtbot.mouseMove(vp, QPoint((a.x() + b.x()) // 2, (a.y() + b.y()) // 2))
    qtbot.mouseMove(vp, b)
    qtbot.mouseRelease(vp, Qt.LeftButton, pos=b)


def test_palette_double_click_adds_and_undo_redo(llama, qtbot):
    w = llama
    g = w.model.document.graph
    before = g.copy()
    w.block_palette.search.setText("rmsnorm")
    assert w.block_palette.visible_kinds() == ["rmsnorm"]
    tree = w.block_palette.tree
    item = next(tree.topLevelItem(i).child(j) for i in range(tree.topLevelItemCount())
                for j in range(tree.topLevelItem(i).childCount()) if tree.topLevelItem(i).child(j).data(0, Qt.UserRole) == "rmsnorm")
    tree.itemDoubleClicked.emit(item, 0)
    assert "rmsnorm" in g.nodes and "rmsnorm" in w.graph_view.graph_scene.nodes
    assert w.editor.undo_action.text() == "Undo Add RMSNorm"
    w.editor.undo_action.trigger()
    assert g == before and "rmsnorm" not in w.graph_view.graph_scene.nodes
    w.editor.redo_action.trigger()
    assert "rmsnorm" in g.nodes


def test_connect_by_dragging_ports_and_refusal(llama, qtbot):
    w = llama
    ed, scene = w.editor, w.graph_view.graph_scene
    g = w.model.document.graph
    ed.add_block("rmsnorm", region="head")
    nid = "rmsnorm"
    w.fit()
    out_port = scene.nodes["output"].port("logits", False)
    new_in = scene.nodes[nid].port("x", True)
    # refused: logits output into a hidden input; the core's reason is shown, nothing changes
    before = g.copy()
    _drag(qtbot, w, _vp(w, out_port), _vp(w, new_in))
    assert g == before
    assert "port types differ" in w.statusBar().currentMessage()
    # accepted: the final norm's output into the new block
    src = scene.nodes["norm"].port("x", False)
    _drag(qtbot, w, _vp(w, src), _vp(w, new_in))
    assert Edge("norm", "x", nid, "x") in g.edges and Edge("norm", "x", nid, "x") in scene.edges
    assert "Release to connect" not in w.statusBar().currentMessage()  # the drag's hint ends with the drag
    assert w.editor.undo_action.text().startswith("Undo Connect norm.x")


def test_delete_key_removes_selection_and_undo_restores(llama, qtbot):
    w = llama
    g = w.model.document.graph
    before = g.copy()
    scene = w.graph_view.graph_scene
    scene.nodes["feed_forward"].setSelected(True)
    w.graph_view.setFocus()
    qtbot.keyClick(w.graph_view, Qt.Key_Delete)
    assert "feed_forward" not in g.nodes and "feed_forward" not in scene.nodes
    w.editor.undo_action.trigger()
    assert g == before and set(scene.edges) == set(g.edges)


def test_property_editor_edits_live_refuses_and_names_the_undo(llama, qtbot):
    w = llama
    g = w.model.document.graph
    scene = w.graph_view.graph_scene
    scene.nodes["attention"].setSelected(True)
    pe = w.property_editor
    assert pe.node_id == "attention"
    box = pe.fields["n_kv_heads"]
    assert isinstance(box, QSpinBox) and box.value() == 8
    params_before = w.accounting_panel.cells[("params_total", "paper")].text()
    box.setValue(4)
    box.editingFinished.emit()
    assert g.node("attention").config["n_kv_heads"] == 4
    assert w.editor.undo_action.text() == "Undo Change n_kv_heads 8 → 4"
    cell = w.accounting_panel.cells[("params_total", "paper")]
    qtbot.waitUntil(lambda: cell.text() != params_before, timeout=2000)  # live figures, on the next turn
    assert "kv heads 4" in " ".join(scene.nodes["attention"].lines)
    qtbot.waitUntil(lambda: "n_kv_heads" in pe.fields)
    box = pe.fields["n_kv_heads"]
    box.setValue(5)  # 64 heads cannot share 5 kv heads
    box.editingFinished.emit()
    assert g.node("attention").config["n_kv_heads"] == 4
    assert pe.message.isVisible() and "Refused" in pe.message.text()
    w.editor.undo_action.trigger()
    assert "n_kv_heads" not in g.node("attention").config


def test_every_edit_kind_undoes_and_redoes_exactly(llama):
    from studio.core.model.graph import Node
    w, ed = llama, llama.editor
    arch = w.model.document.architecture
    steps = [
        lambda: ed.add_block("swiglu", region="layer"),
        lambda: ed.connect_ports("norm", "x", "swiglu", "x"),
        lambda: ed.push(__import__("studio._qt.graph.commands", fromlist=["Disconnect"]).Disconnect(ed.document, Edge("norm", "x", "swiglu", "x"))),
        lambda: ed.set_config("feed_forward", "hidden_dim", 1000),
        lambda: ed.set_dim("paper", "n_layers", 40),
        lambda: ed._moved("rope", w.graph_view.graph_scene.nodes["rope"].pos(), w.graph_view.graph_scene.nodes["rope"].pos() + QPoint(30, 0)),
        lambda: (w.graph_view.graph_scene.nodes["swiglu"].setSelected(True), ed.delete_selected()),
    ]
    for step in steps:
        before_graph, before_scales = arch.graph.copy(), copy.deepcopy(arch.scales)
        step()
        after_graph, after_scales = arch.graph.copy(), copy.deepcopy(arch.scales)
        ed.undo_action.trigger()
        assert arch.graph == before_graph and arch.scales == before_scales
        ed.redo_action.trigger()
        assert arch.graph == after_graph and arch.scales == after_scales
        w.graph_view.graph_scene.clearSelection()
    assert isinstance(arch.graph.node("rope"), Node)


def test_an_edit_makes_a_document_of_its_own_and_the_milestone_stays(llama, qtbot):
    """Edit LLaMA 2, click LLaMA 2 on the timeline: the original; the edited copy reopens with its undo history."""
    w = llama
    m, strip = w.model, w.timeline_bar.strip
    w.editor.set_config("attention", "n_kv_heads", 4)
    assert m.document.kind == "edited" and "LLaMA 2 (edited)" in w.windowTitle()
    assert m.timeline.index is None and strip.is_edited("2023-07-llama-2")  # no tick selected, ✎ on LLaMA 2
    i = m.timeline.ids.index("2023-07-llama-2")
    qtbot.mouseClick(strip, Qt.LeftButton, pos=QPoint(int(strip.positions()[i]), int(strip.axis_y())))
    assert m.document.kind == "milestone" and m.timeline.index == i
    assert "n_kv_heads" not in m.document.graph.node("attention").config
    assert "(edited)" not in w.windowTitle()
    listed = [a for a in w.projects.documents_menu.actions() if a.text().startswith("LLaMA 2 (edited)")]
    assert len(listed) == 1
    listed[0].trigger()  # File → Models this session → LLaMA 2 (edited)
    assert m.document.kind == "edited" and m.document.graph.node("attention").config["n_kv_heads"] == 4
    assert m.timeline.index is None
    w.editor.undo_action.trigger()  # the stack followed the edited copy back
    assert "n_kv_heads" not in m.document.graph.node("attention").config
    w.editor.redo_action.trigger()
    w.reset_action.trigger()  # Edit → Show the original milestone
    assert m.document.kind == "milestone" and m.document.milestone_id == "2023-07-llama-2"


def test_invalid_nodes_are_marked_and_the_issue_list_selects_them(llama, qtbot):
    w = llama
    ed, scene = w.editor, w.graph_view.graph_scene
    ed.push(__import__("studio._qt.graph.commands", fromlist=["Disconnect"]).Disconnect(
        ed.document, w.model.document.graph.input_edge("output", "x")))
    ed.validate_now()
    assert scene.nodes["output"].invalid and "not connected" in scene.nodes["output"].invalid
    assert "not connected" in scene.nodes["output"].toolTip()
    lst = w.issues_list
    row = next(i for i in range(lst.count()) if lst.item(i).data(Qt.UserRole) == "output")
    lst.itemClicked.emit(lst.item(row))
    assert [it.node_id for it in scene.selectedItems() if hasattr(it, "node_id")] == ["output"]


def test_copy_paste(llama):
    w = llama
    scene = w.graph_view.graph_scene
    scene.nodes["ffn_norm"].setSelected(True)
    w.editor.copy_action.trigger()
    w.editor.paste_action.trigger()
    g = w.model.document.graph
    assert "ffn_norm_2" in g.nodes and g.node("ffn_norm_2").kind == "rmsnorm"
    assert w.editor.undo_action.text() == "Undo Paste 1 block(s)"


def test_dropping_a_palette_block_on_the_canvas_adds_it_there(llama):
    from PySide6.QtCore import QMimeData, QPointF
    from PySide6.QtGui import QDropEvent
    from studio._qt.graph.palette import MIME
    w = llama
    view = w.graph_view
    mime = QMimeData()
    mime.setData(MIME, b"moe")
    at = QPoint(200, 150)
    ev = QDropEvent(QPointF(at), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    view.dropEvent(ev)
    g = w.model.document.graph
    assert "moe" in g.nodes and g.node("moe").kind == "moe"
    item = w.graph_view.graph_scene.nodes["moe"]
    from studio.core.model.layout import NODE_W
    assert abs(view.mapToScene(at).x() - (item.pos().x() + NODE_W / 2)) < 1  # centred where it was dropped
    assert w.editor.undo_action.text() == "Undo Add Mixture of experts"
