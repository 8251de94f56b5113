"""Issue 22 H2: stepping milestones in presentation mode (→, ←, Home, End, a click on a
timeline dot) fits each milestone from its own layout, not from the graph shown before it.
Nothing here calls fit_all() or ends the move animation by hand: the keys and clicks are the
user's, and the view must be right both as the move starts and after it settles."""
import pytest
from PySide6.QtCore import QPoint, QRectF, Qt

from studio.core.state.timeline import readable_infos

IDS = [i.id for i in readable_infos()[0]]


@pytest.fixture
def presenting(qtbot):
    from studio._qt.render import presentation_window
    win = presentation_window(IDS[0], "paper", "light", (1366, 768))
    qtbot.addWidget(win)
    win.graph_view.graph_scene._anim.setDuration(80)  # the same move, shorter: 56 steps in a test
    win.graph_view.setFocus()
    yield win
    win.presentation.toggle()


def _problems(win, pid: str, settled: bool) -> list[str]:
    """Nodes outside the viewport (right of the card) and titles below 24 px, as shown now."""
    view = win.graph_view
    scene = view.graph_scene
    vp = QRectF(view.viewport().rect())
    card_right = view.card.geometry().right()
    out = []
    for nid, item in scene.nodes.items():
        end = scene.target_pos(item) if not settled else item.pos()
        rect = item.sceneBoundingRect().translated(end - item.pos())
        box = QRectF(view.mapFromScene(rect).boundingRect())
        if not vp.contains(box) or box.left() < card_right:
            out.append(f"{pid}: {nid} at {box.getRect()} outside {vp.getRect()} (card right {card_right})")
    titles = [px for role, _t, px in scene.text_px_on_screen(view) if role == "title"]
    if min(titles) < 24.0 - 0.05:
        out.append(f"{pid}: smallest title {min(titles):.1f} px")
    return out


def _step(qtbot, win, key) -> list[str]:
    view = win.graph_view
    qtbot.keyClick(view, key)
    pid = win.model.timeline.current_id
    bad = _problems(win, pid, settled=False)  # fitted for where the blocks are going
    qtbot.waitUntil(lambda: not view.graph_scene.animating, timeout=3000)
    return bad + _problems(win, pid, settled=True)


def test_arrow_keys_fit_every_milestone_while_stepping(presenting, qtbot):
    win = presenting
    tl = win.model.timeline
    assert win.size().toTuple() == (1366, 768)
    bad = _step(qtbot, win, Qt.Key_Home)
    assert tl.index == 0
    seen = [tl.current_id]
    while tl.index < len(IDS) - 1:
        bad += _step(qtbot, win, Qt.Key_Right)
        seen.append(tl.current_id)
    assert seen == IDS
    for _ in range(len(IDS) - 1):  # and back: small graphs after large ones
        bad += _step(qtbot, win, Qt.Key_Left)
    assert tl.index == 0
    assert not bad, "\n".join(bad[:30])


def test_home_end_and_timeline_clicks_fit_the_target(presenting, qtbot):
    win = presenting
    tl = win.model.timeline
    bad = _step(qtbot, win, Qt.Key_End)
    bad += _step(qtbot, win, Qt.Key_Home)
    bad += _step(qtbot, win, Qt.Key_End)
    strip = win.timeline_bar.strip
    xs = strip.positions()
    y = int(strip.axis_y())
    for i in (IDS.index("2020-06-gshard"), IDS.index("2021-04-rope"), IDS.index("2020-06-gshard"),
              IDS.index("2017-06-transformer"), IDS.index("2023-12-mixtral")):
        qtbot.mouseClick(strip, Qt.LeftButton, pos=QPoint(int(xs[i]), y))
        assert tl.current_id == IDS[i]
        bad += _problems(win, IDS[i], settled=False)
        qtbot.waitUntil(lambda: not win.graph_view.graph_scene.animating, timeout=3000)
        bad += _problems(win, IDS[i], settled=True)
    assert not bad, "\n".join(bad[:30])
