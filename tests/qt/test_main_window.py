"""Main window: timeline scrubbing (mouse and keys) mirrors the presets exactly, the diff list,
the chart marker, compare and presentation modes, and the integration contract."""
import pytest
from PySide6.QtCore import QPoint, Qt

from studio.core.files.presets import load_preset


def _scene_matches(scene, pid):
    arch = load_preset(pid)
    assert set(scene.nodes) == set(arch.graph.nodes)
    assert set(scene.edges) == set(arch.graph.edges)


def _tick(strip, i):
    return QPoint(int(strip.positions()[i]), int(strip.axis_y()))


def test_mouse_drag_scrubs_live_and_mirrors_the_preset(window, qtbot):
    m, strip = window.model.timeline, window.timeline_bar.strip
    seen = []
    m.index_changed.connect(seen.append)
    qtbot.mousePress(strip, Qt.LeftButton, pos=_tick(strip, 0))
    for i in (1, 2, 3):
        qtbot.mouseMove(strip, _tick(strip, i))
        _scene_matches(window.graph_view.graph_scene, m.ids[i])  # re-assembled while the mouse moves
    qtbot.mouseRelease(strip, Qt.LeftButton, pos=_tick(strip, 3))
    assert m.index == 3 and seen[-3:] == [1, 2, 3]


def test_keys_step_and_jump(window, qtbot):
    m, strip = window.model.timeline, window.timeline_bar.strip
    m.first()
    qtbot.keyClick(strip, Qt.Key_Right)
    assert m.index == 1
    _scene_matches(window.graph_view.graph_scene, m.ids[1])
    qtbot.keyClick(strip, Qt.Key_End)  # the latest milestone (recipes come after it)
    assert m.index == len(m.milestone_ids) - 1
    _scene_matches(window.graph_view.graph_scene, m.milestone_ids[-1])
    qtbot.keyClick(window.graph_view, Qt.Key_Home)
    assert m.index == 0
    qtbot.keyClick(window.graph_view, Qt.Key_Left)  # clamps
    assert m.index == 0


def test_every_milestone_is_mirrored_exactly(window):
    m, scene = window.model.timeline, window.graph_view.graph_scene
    for i, pid in enumerate(m.ids):
        m.set_index(i)
        _scene_matches(scene, pid)
        assert not [g for g in scene.ghosts if g.node_id in scene.nodes]


def test_diff_list_names_the_right_blocks(window):
    m = window.model.timeline
    if "2019-10-rmsnorm" not in m.ids:
        pytest.skip("the RMSNorm milestone preset is not there yet")
    m.set_current("2019-02-gpt-2")
    m.set_current("2019-10-rmsnorm")
    scene = window.graph_view.graph_scene
    words = window.info_panel.transition_text()
    replaced = [nid for nid, n in load_preset("2019-10-rmsnorm").graph.nodes.items() if n.kind == "rmsnorm"]
    assert replaced and sorted(scene.last_diff["changed"]) == sorted(replaced)
    assert not scene.last_diff["added"] and not scene.last_diff["removed"]
    assert "Normalisation: LayerNorm → RMSNorm" in words  # a learner's words: no block ids
    assert not [w for w in words if any(nid in w for nid in replaced)]
    for nid in replaced:
        assert scene.nodes[nid].diff == "changed"


def test_added_and_removed_blocks_are_marked_and_animations_never_queue(window, qtbot):
    m, scene = window.model.timeline, window.graph_view.graph_scene
    m.set_current("2020-05-gpt-3")
    m.set_current("2023-02-llama-1")
    assert "rope" in scene.last_diff["added"] and scene.nodes["rope"].diff == "added"
    assert "positions" in scene.last_diff["removed"]
    assert [g.node_id for g in scene.ghosts] == ["positions"] and scene.animating
    m.step(1)  # a newer change ends the running animation first: latest state wins
    assert all(g.node_id != "positions" for g in scene.ghosts)
    qtbot.waitUntil(lambda: not scene.animating, timeout=3000)
    assert scene.ghosts == []
    _scene_matches(scene, m.current_id)


def test_chart_marker_follows_the_slider(window, qtbot):
    m, chart = window.model.timeline, window.accounting_panel.chart
    assert chart.loaded
    strip = window.timeline_bar.strip
    for i in (2, 5, len(m.ids) - 1):
        qtbot.mouseClick(strip, Qt.LeftButton, pos=_tick(strip, i))
        assert chart.marker_index() == i == m.index


def test_scene_mirrors_graph_edits(window):
    from studio.core.model.graph import Node
    scene = window.graph_view.graph_scene
    g = window.model.document.graph
    g.add_node(Node("extra", "rmsnorm", "head", pos=(900.0, 40.0)))
    assert "extra" in scene.nodes and scene.nodes["extra"].pos().x() == 900.0
    e = g.connect("extra", "x", "output", "x") if g.input_edge("output", "x") is None else None
    if e is None:
        old = g.input_edge("output", "x")
        g.disconnect(old)
        assert old not in scene.edges
        e = g.connect("extra", "x", "output", "x")
    assert e in scene.edges
    g.set_config("extra", "eps", 1e-6)
    assert "eps 1e-06" in " ".join(scene.nodes["extra"].lines)
    g.remove_node("extra")
    assert "extra" not in scene.nodes and e not in scene.edges


def test_compare_mode_opens_highlights_and_closes(window, qtbot):
    m = window.model.timeline
    m.set_current("2023-07-llama-2")
    dlg = window.open_compare()
    qtbot.waitExposed(dlg)
    left, right = (v.graph_scene for v in dlg.views)
    # the left side is the model LLaMA 2 builds on (its lineage), not the tick before it (GPT-4)
    assert dlg.boxes[0].currentData() == "2023-02-llama-1" and dlg.boxes[1].currentData() == "2023-07-llama-2"
    assert "LLaMA 1 (the model it builds on) → LLaMA 2" in dlg.heading.text()
    dlg.boxes[0].setCurrentIndex(dlg.boxes[0].findData("2019-02-gpt-2"))
    assert right.nodes["rope"].diff == "added" and left.nodes["positions"].diff == "removed"
    assert right.nodes["attention_norm"].diff == "changed"
    assert any("RMSNorm" in dlg.diff_list.item(i).text() for i in range(dlg.diff_list.count()))
    dlg.close()
    assert not dlg.isVisible()


def test_presentation_mode_on_and_off(window, qtbot):
    window.present_action.trigger()
    p = window.presentation
    assert p.active and window.menuBar().isHidden() and window.info_dock.isHidden()
    assert window.graph_view.card.isVisible() and window.timeline_bar.isVisible()
    strip = window.timeline_bar.strip  # the current milestone's full name ≥ 16 px (others: short labels)
    assert strip.presenting and strip.fonts()[1].pointSizeF() * 96 / 72 >= 16
    title = window.model.document.title
    assert title in window.graph_view.card.text()
    with qtbot.waitSignal(window.info_panel.updated, timeout=2000):  # the card follows, once per change
        qtbot.keyClick(window.graph_view, Qt.Key_Right)  # arrows keep stepping in presentation mode
    assert window.model.document.title in window.graph_view.card.text()
    qtbot.keyClick(window, Qt.Key_Escape)
    assert not p.active and not window.menuBar().isHidden() and window.info_dock.isVisible()
    assert not window.graph_view.card.isVisible()


def test_contract_menus_docks_status_and_run_docks(window, qtbot):
    from PySide6.QtWidgets import QLabel
    names = [a.text().replace("&", "") for a in window.menuBar().actions()]
    train = window.menu("Train")
    assert window.menu("Train") is train
    names = [a.text().replace("&", "") for a in window.menuBar().actions()]
    assert names.index("View") < names.index("Train") < names.index("Help")
    d1 = window.add_dock("Plots", QLabel("a"))
    d2 = window.add_dock("Generate", QLabel("b"))
    qtbot.waitUntil(lambda: d2 in window.tabifiedDockWidgets(d1), timeout=2000)
    view_actions = [a.text() for a in window._panels.actions()]
    assert "Plots" in view_actions and "Generate" in view_actions
    window.show_status("hello")
    assert window.statusBar().currentMessage() == "hello"
    # the run docks are composed explicitly: each one is a view of the model's run
    assert {"Training", "Plots", "Generate", "Attention", "Routing"} <= set(window._docks)
    assert window.training.run_state is window.model.run and window.inspect.run_state is window.model.run


def test_block_activated_on_click(window, qtbot):
    """A single click activates (issue 13); a real double-click's first release does the same.
    (QTest's mouseDClick sends a lone DblClick event with no release, which no mouse produces.)"""
    scene, view = window.graph_view.graph_scene, window.graph_view
    item = scene.nodes["tok_embeddings"]
    pos = view.mapFromScene(item.sceneBoundingRect().center())
    with qtbot.waitSignal(view.block_activated, timeout=2000) as sig:
        qtbot.mouseClick(view.viewport(), Qt.LeftButton, pos=pos)
    assert sig.args == ["tok_embeddings"]


def test_theme_and_geometry_are_remembered(qtbot):
    from studio._qt.window.main_window import MainWindow
    w = MainWindow()
    qtbot.addWidget(w)
    from PySide6.QtCore import QSettings
    w.set_theme("dark")
    w.resize(w.width() + 37, w.height() + 11)
    geometry = w.saveGeometry()
    w.close()
    assert QSettings().value("geometry") == geometry  # the offscreen screen clamps a restore, so compare bytes
    w2 = MainWindow()
    qtbot.addWidget(w2)
    assert w2.theme.name == "dark" and w2.palette().window().color().name() == "#1e2227"
    w2.set_theme("light")


def test_play_steps_on_a_timer(window, qtbot):
    m, bar = window.model.timeline, window.timeline_bar
    bar.timer.setInterval(10)
    m.first()
    bar.play_btn.click()
    assert m.playing
    qtbot.waitUntil(lambda: m.index >= 2, timeout=3000)
    bar.play_btn.click()
    assert not m.playing and not bar.timer.isActive()


def test_the_theme_is_a_model_field_the_views_follow(window, qtbot):
    """Issue 26: View → Theme sets StudioModel.view.theme; the graph, the timeline and the
    accounting chart follow the model's event (nobody pushes the palette into them)."""
    from studio._qt.theme import THEMES
    m = window.model
    before = m.view.theme
    other = "dark" if before == "light" else "light"
    m.view.theme = other  # straight on the model, not through the window
    assert window.graph_view.graph_scene.theme is THEMES[other]
    assert window.timeline_bar.theme is THEMES[other] and window.accounting_panel.theme is THEMES[other]
    window.theme_actions[before].trigger()  # the menu: the window's palette and the model together
    assert m.view.theme == before and window.graph_view.graph_scene.theme is THEMES[before]


def test_compare_leaves_nothing_behind_when_closed(window, qtbot):
    """The soak found every Compare leaking its dialog (≈ 240 QObjects a time): a closed Compare
    is deleted, and opening one closes the one before."""
    import shiboken6
    from PySide6.QtCore import QCoreApplication, QEvent, Qt

    from studio._qt.present.compare import CompareDialog

    def alive():
        QCoreApplication.sendPostedEvents(None, QEvent.DeferredDelete)
        return [d for d in window.findChildren(CompareDialog) if shiboken6.isValid(d)]
    first = window.open_compare()
    second = window.open_compare()  # Ctrl+K again while one is open
    assert alive() == [second] and not shiboken6.isValid(first)
    qtbot.keyClick(second, Qt.Key_Escape)
    assert alive() == []
