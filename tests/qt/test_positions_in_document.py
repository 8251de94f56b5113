"""Issue 22 M4: where the blocks stand is part of the document — a saved project and a
recovered autosave reopen with every block where it was (a dropped LayerNorm came back on top
of the token embedding, the layer frame grown around the stem)."""
from PySide6.QtCore import QPoint, QPointF, Qt


def _settle(qtbot, scene):
    qtbot.waitUntil(lambda: not scene.animating, timeout=3000)


def _placement(scene) -> dict:
    return {nid: (round(it.pos().x(), 1), round(it.pos().y(), 1)) for nid, it in scene.nodes.items()}


def _edit_llama(window, qtbot):
    """Scrub from GPT-3 to LLaMA 2 (its layout then carries GPT-3's offsets), drop a LayerNorm
    beside the layer and drag the RMSNorm of the head 60 px down with the mouse."""
    view, scene = window.graph_view, window.graph_view.graph_scene
    window.model.timeline.set_current("2020-05-gpt-3")
    _settle(qtbot, scene)
    window.model.timeline.set_current("2023-07-llama-2")
    _settle(qtbot, scene)
    window.fit()
    frame = scene.frames["layer"].rect
    assert window.editor.add_block("layernorm", QPointF(frame.right() + 40, frame.top() + 200), region="layer")
    _settle(qtbot, scene)
    window.fit()
    item = scene.nodes["norm"]
    start = view.mapFromScene(item.sceneBoundingRect().center() + QPointF(0, 14))
    qtbot.mousePress(view.viewport(), Qt.LeftButton, pos=start)
    for dy in (10, 30, 50, 60):
        qtbot.mouseMove(view.viewport(), QPoint(start.x(), start.y() + dy))
    qtbot.mouseRelease(view.viewport(), Qt.LeftButton, pos=QPoint(start.x(), start.y() + 60))
    return _placement(scene)


def test_saved_project_reopens_with_every_block_in_place(window, qtbot, tmp_path):
    scene = window.graph_view.graph_scene
    before = _edit_llama(window, qtbot)
    assert "layernorm" in before
    path = tmp_path / "mine.archproj.yaml"
    assert window.projects.save_to(path)
    window.model.timeline.set_current("2017-06-transformer")
    _settle(qtbot, scene)
    assert window.projects.open(path)
    _settle(qtbot, scene)
    assert _placement(scene) == before


def test_recovered_edits_keep_their_placement(window, qtbot):
    from studio._qt.window.projects import _recovery_folder
    from studio.core.files.project import load_recovery, recoveries
    scene = window.graph_view.graph_scene
    before = _edit_llama(window, qtbot)
    window.projects.write_recovery()
    found = recoveries(_recovery_folder(), [])
    assert found
    proj = load_recovery(found[0])
    window.model.timeline.set_current("2017-06-transformer")
    _settle(qtbot, scene)
    window.projects._show(proj, proj.path)
    _settle(qtbot, scene)
    assert _placement(scene) == before
