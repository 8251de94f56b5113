"""Issue 22 L3: an encoder-decoder's decoder-side inputs reach the decoder without running
through the encoder's frame (a reader takes a link drawn inside a frame for one of its own), in
presentation mode on a 1366×768 projector where the inputs stack under the encoder's, and in the
normal window. Each link between regions is sampled along its drawn path."""
import pytest
from PySide6.QtCore import Qt

from studio.core.state.timeline import readable_infos

IDS = [i.id for i in readable_infos()[0]]
ENCODER_DECODER = ["2017-06-transformer", "2020-06-gshard"]


def _crossings(scene) -> list[str]:
    arch = scene.arch
    frames = {r: f.rect for r, f in scene.frames.items()}
    out = []
    for e in scene.edges.values():
        src, dst = arch.graph.node(e.edge.src), arch.graph.node(e.edge.dst)
        if src.region == dst.region:
            continue
        path = e.path()
        points = [e.mapToScene(path.pointAtPercent(i / 64)) for i in range(4, 61)]
        for region, rect in frames.items():
            if region in (src.region, dst.region):
                continue
            inside = [p for p in points if rect.contains(p)]
            if inside:
                out.append(f"{arch.id}: {e.edge.src} → {e.edge.dst} runs through the {region} frame at "
                           f"({inside[0].x():.0f}, {inside[0].y():.0f})")
    return out


@pytest.fixture
def presenting(qtbot):
    from studio._qt.render import presentation_window
    win = presentation_window(IDS[0], "paper", "light", (1366, 768))
    qtbot.addWidget(win)
    win.graph_view.graph_scene._anim.setDuration(80)
    win.graph_view.setFocus()
    yield win
    win.presentation.toggle()


def test_decoder_inputs_go_around_the_encoder_when_presenting_on_a_small_screen(presenting, qtbot):
    win = presenting
    view, tl = win.graph_view, win.model.timeline
    qtbot.keyClick(view, Qt.Key_Home)
    seen, bad = [], []
    while tl.index < len(IDS) - 1 and len(seen) < len(ENCODER_DECODER):
        qtbot.waitUntil(lambda: not view.graph_scene.animating, timeout=3000)
        if tl.current_id in ENCODER_DECODER:
            seen.append(tl.current_id)
            assert set(view.graph_scene.frames) >= {"encoder", "layer"}
            bad += _crossings(view.graph_scene)
        qtbot.keyClick(view, Qt.Key_Right)
    assert seen == ENCODER_DECODER
    assert not bad, "\n".join(bad)


def test_decoder_inputs_go_around_the_encoder_in_the_window(window, qtbot):
    for pid in ENCODER_DECODER:
        window.model.show_milestone(pid)
        scene = window.graph_view.graph_scene
        qtbot.waitUntil(lambda: not scene.animating, timeout=5000)
        assert not _crossings(scene)
