"""The normal-mode fit's readable-scale check measures only the blocks' title fonts
(NodeItem.title_fonts, cheap enough for every scrub step): they must be exactly the fonts of the
"title" texts the scene draws, in normal mode and while presenting, for every milestone."""
import pytest

from studio._qt.present.present_geometry import font_px
from studio.core.state.timeline import readable_infos

IDS = [i.id for i in readable_infos()[0]]


def _title_fonts_drawn(scene):
    return sorted((id(it), f.toString()) for it, role, f, _t in scene.drawn_texts() if role == "title")


def _title_fonts_measured(scene):
    from studio._qt.graph.graph_items import NodeItem
    return sorted((id(it), f.toString()) for it in scene.items()
                  if isinstance(it, NodeItem) and it.isVisible() for f in it.title_fonts())


@pytest.mark.parametrize("presenting", [False, True])
def test_title_fonts_are_the_drawn_titles(qtbot, presenting):
    from studio._qt.render import presentation_window
    win = presentation_window(IDS[0], "paper", "light", (1366, 768))
    qtbot.addWidget(win)
    if not presenting:
        win.presentation.toggle()
    view = win.graph_view
    try:
        for pid in IDS:
            win.model.timeline.set_current(pid)
            view.graph_scene._end_animation()
            view.fit_all()
            drawn = _title_fonts_drawn(view.graph_scene)
            assert drawn and _title_fonts_measured(view.graph_scene) == drawn, pid
            if not presenting:
                dpi = view.viewport().logicalDpiY() or 96.0
                smallest = min(font_px(f, dpi) for _i, r, f, _t in view.graph_scene.drawn_texts() if r == "title")
                assert view.min_readable_scale() == pytest.approx(view.NORMAL_MIN_TITLE_PX / smallest)
    finally:
        if presenting:
            win.presentation.toggle()


@pytest.mark.parametrize("size", [(1366, 768), (900, 560)])
def test_stage_fold_decided_once_and_the_same_when_scrubbing_back(qtbot, size):
    """The normal-mode fit remembers whether the stage strip folds for a graph, view size and
    readable scale: scrubbing back over a milestone builds the strip at most once per step and
    folds it exactly as deciding afresh (memo emptied) does."""
    from studio._qt.render import presentation_window
    win = presentation_window(IDS[0], "paper", "light", size)
    qtbot.addWidget(win)
    win.presentation.toggle()  # normal mode
    view, sc = win.graph_view, win.graph_view.graph_scene
    builds = []
    real = sc._build_stages


    def counting():
        before = sc._stages_key
        real()
        if sc._stages_key != before or before is None:  # built again (not the same strip kept)
            builds.append(1)
    sc._build_stages = counting

    def step(pid):
        win.model.timeline.set_current(pid)
        sc._end_animation()
        view.fit_all()
        return sc.stages_folded

    first = {pid: step(pid) for pid in IDS}
    builds.clear()
    again = {pid: step(pid) for pid in reversed(IDS)}
    remembered = len(builds)
    builds.clear()
    fresh = {}
    for pid in reversed(IDS):
        view._fold_memo.clear()
        fresh[pid] = step(pid)
    assert first == again == fresh
    assert remembered < len(builds) or not any(fresh.values())  # fewer builds than deciding afresh
    assert remembered <= 2 * len(IDS)
    if size == (900, 560):
        assert any(fresh.values())  # a small view does fold somewhere: the memo is exercised both ways
