"""Presenting, a validation warning draws no "⚠ warning" pill: the projector plan leaves room
only for the milestone's change tags, and GShard's warnings covered the "Encoder × 18 layers"
and "Decoder × 18 layers" frame labels at 1366×768 (seen in a screenshot for issue 22)."""
from PySide6.QtCore import QRectF
from PySide6.QtGui import QFontMetricsF


def test_no_warning_pill_over_the_frame_labels(qtbot):
    from studio._qt.render import presentation_window
    win = presentation_window("2020-06-gshard", "paper", "light", (1366, 768))
    qtbot.addWidget(win)
    try:
        scene = win.graph_view.graph_scene
        qtbot.waitUntil(lambda: any(it.warning for it in scene.nodes.values()), timeout=3000)  # validated
        labels = []
        for frame in scene.frames.values():
            (_role, font, text), = frame.texts()
            w = QFontMetricsF(font).horizontalAdvance(text)
            labels.append(QRectF(frame.rect.left() + 16, frame.rect.top() + 6, w, QFontMetricsF(font).height()))
        covering = []
        for nid, it in scene.nodes.items():
            for role, _f, rect, text, _fl, _p in it.runs():
                if role == "tag" and any(it.mapRectToScene(rect).intersects(lab) for lab in labels):
                    covering.append(f"{nid}: {text}")
        assert not covering, covering
        assert all("warning" not in text for it in scene.nodes.values() for r, _f, _rc, text, _fl, _p in it.runs()
                   if r == "tag")
        warned = next(it for it in scene.nodes.values() if it.warning)
        assert warned.warning in warned.toolTip()  # the warning is still there for whoever hovers
    finally:
        win.presentation.toggle()
