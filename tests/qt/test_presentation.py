"""Projector-first: measured from the scene's item fonts and the view transform, every graph
text's on-screen size at 1366×768 — presentation mode (node titles ≥ 24 px, all other graph
text ≥ 16 px, the whole graph inside the viewport beside the card) for every milestone and
recipe, and normal mode with a bottom dock open (node titles ≥ 12 px)."""
import pytest
from PySide6.QtCore import Qt

from studio._qt.present.present_geometry import split_title
from studio.core.state.timeline import readable_infos

IDS = [i.id for i in readable_infos()[0]]


@pytest.fixture
def presenting(qtbot):
    from studio._qt.render import presentation_window
    win = presentation_window(IDS[0], "paper", "light", (1366, 768))
    qtbot.addWidget(win)
    yield win
    win.presentation.toggle()


def _show(win, pid):
    win.model.timeline.set_current(pid)
    view = win.graph_view
    view.graph_scene._end_animation()
    view.fit_all()
    return view


def test_presentation_text_sizes_and_fit_every_preset(presenting):
    win = presenting
    assert win.size().toTuple() == (1366, 768) and win.presentation.active
    small, outside = [], []
    for pid in IDS:
        view = _show(win, pid)
        for role, text, px in view.graph_scene.text_px_on_screen(view):
            if px < (24.0 if role == "title" else 16.0) - 0.05:
                small.append(f"{pid}: {role} {text!r} {px:.1f} px")
        box = view.mapFromScene(view.graph_scene.content_rect()).boundingRect()
        vp = view.viewport().rect()
        if not vp.contains(box) or box.left() < view.card.geometry().right():
            outside.append(f"{pid}: {box} not inside {vp} right of the card")
    assert not small, "\n".join(small[:20])
    assert not outside, "\n".join(outside)


def test_presentation_drops_detail_before_shrinking(presenting):
    """Tall graphs at 1366×768 lose settings lines / badges / the stage strip, not text size;
    the stage strip then appears as one line on the card."""
    view = _show(presenting, "2024-12-deepseek-v3")
    plan = view.graph_scene.plan
    assert plan.present.lod >= 1
    roles = {r for r, _t, _p in view.graph_scene.text_px_on_screen(view)}
    assert "line" not in roles and "stage detail" not in roles
    if plan.present.stages_one_line:
        assert "Training:" in presenting.presentation.card_html()


def test_presentation_keys_step_play_and_leave(presenting, qtbot):
    win = presenting
    tl = win.model.timeline
    tl.set_current("2023-07-llama-2")
    i = tl.index
    qtbot.keyClick(win.graph_view, Qt.Key_Right)
    assert tl.index == i + 1
    qtbot.keyClick(win.graph_view, Qt.Key_Left)
    assert tl.index == i
    qtbot.keyClick(win.graph_view, Qt.Key_Space)
    assert tl.playing
    qtbot.keyClick(win.graph_view, Qt.Key_Space)
    assert not tl.playing


def test_timeline_full_current_name_short_labels_never_elided(presenting):
    strip = presenting.timeline_bar.strip
    labels = [strip.label(i) for i in range(len(IDS))]
    assert all(lab and "…" not in lab for lab in labels)
    assert len(set(labels)) == len(labels)  # unambiguous
    img = strip.grab()
    assert img.width() > 1000 and strip.presenting


def test_split_title_balances():
    assert split_title("Multi-head latent attention") == ["Multi-head", "latent attention"]
    assert split_title("Sinusoidal positions") == ["Sinusoidal", "positions"]
    assert split_title("RoPE") == ["RoPE"]


def test_normal_mode_titles_at_least_12px_with_bottom_dock_open(window, qtbot):
    window.resize(1366, 768)
    window.show()
    qtbot.waitExposed(window)
    docks = [d for d in window.findChildren(type(window.timeline_dock))
             if d is not window.timeline_dock and window.dockWidgetArea(d) == Qt.BottomDockWidgetArea]
    assert docks, "no bottom dock to open"
    docks[0].show()
    docks[0].raise_()
    window.resizeDocks([docks[0]], [220], Qt.Vertical)
    view = window.graph_view
    for pid in IDS:
        window.model.timeline.set_current(pid)
        view.graph_scene._end_animation()
        view.fit_all()
        titles = [px for role, _t, px in view.graph_scene.text_px_on_screen(view) if role == "title"]
        assert min(titles) >= 12.0 - 0.05, (pid, min(titles))


def test_render_presentation_cli(tmp_path):
    import subprocess
    import sys

    from PySide6.QtGui import QImage
    out = tmp_path / "p.png"
    r = subprocess.run([sys.executable, "-m", "studio", "render", "2023-12-mixtral", "--presentation", "--size",
                        "1366x768", "--out", str(out)], capture_output=True, text=True, timeout=180,
                       env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"})
    assert r.returncode == 0, r.stderr
    img = QImage(str(out))
    assert (img.width(), img.height()) == (1366, 768)
    r = subprocess.run([sys.executable, "-m", "studio", "render", "2023-12-mixtral", "--presentation",
                        "--out", str(tmp_path / "p.svg")], capture_output=True, text=True, timeout=180)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "PNG" in r.stderr
