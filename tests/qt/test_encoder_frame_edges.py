"""Issue 22 L3: in the encoder-decoder milestones (2017 Transformer, GShard) no link between two
blocks outside the encoder runs across the encoder's frame (the target tokens' embedding sat
left of the encoder and its links crossed it), in the window and in presentation mode."""
import pytest
from PySide6.QtGui import QPainterPath

ENC_DEC = ["2017-06-transformer", "2020-06-gshard"]


def _crossing(scene) -> list[str]:
    frame = scene.frames["encoder"].rect.adjusted(6, 6, -6, -6)
    box = QPainterPath()
    box.addRect(frame)
    g = scene.arch.graph
    out = []
    for edge, item in scene.edges.items():
        if "encoder" in (g.node(edge.src).region, g.node(edge.dst).region):
            continue
        if item.mapToScene(item.path()).intersects(box):
            out.append(str(edge))
    return out


@pytest.mark.parametrize("pid", ENC_DEC)
def test_decoder_links_stay_clear_of_the_encoder_frame(window, pid):
    window.model.timeline.set_current(pid)
    scene = window.graph_view.graph_scene
    scene._end_animation()
    assert _crossing(scene) == []


def test_and_when_presenting_on_a_large_screen(qtbot):
    """Presenting, 24-px titles come first: at 1366×768 the encoder-decoders fit only with the
    decoder's stem stacked under the encoder's (the plan's last arrangement; test_presentation
    checks their sizes), so their links cross there; at 1920×1080 they stay clear."""
    from studio._qt.render import presentation_window
    win = presentation_window(ENC_DEC[0], "paper", "light", (1920, 1080))
    qtbot.addWidget(win)
    try:
        for pid in ENC_DEC:
            win.model.timeline.set_current(pid)
            scene = win.graph_view.graph_scene
            scene._end_animation()
            assert _crossing(scene) == [], pid
    finally:
        win.presentation.toggle()
