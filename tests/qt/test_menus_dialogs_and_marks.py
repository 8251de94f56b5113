"""Defects from the projector-first issue that live in the drawing and start-up code: each
behaviour checked where a user meets it."""
import re
from pathlib import Path

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QAction, QGuiApplication


def _menu_titles(menu, prefix=""):
    out = []
    for a in menu.actions():
        name = a.text().replace("&", "")
        if a.menu():
            out += _menu_titles(a.menu(), f"{prefix}{name} → ")
        elif name:
            out.append(f"{prefix}{name}")
    return out


def test_redo_shortcuts_are_unambiguous_and_work(window, qtbot):
    keys = {}
    for a in window.findChildren(QAction):
        for k in a.shortcuts():
            if a.isEnabled() and not k.isEmpty() and a.shortcutContext() != Qt.WidgetShortcut:
                keys.setdefault(k.toString(), []).append(a.text())
    twice = {k: v for k, v in keys.items() if len(v) > 1}
    assert "Ctrl+Shift+Z" not in twice and "Ctrl+Y" not in twice, twice
    stack = window.editor.group
    window.model.timeline.set_current("2023-07-llama-2")
    assert window.editor.add_block("rmsnorm", QPointF(-900, -900))
    n = len(window.model.document.graph.nodes)
    window.editor.undo_action.trigger()
    assert len(window.model.document.graph.nodes) == n - 1
    window.activateWindow()
    qtbot.waitActive(window)
    for seq in ((Qt.Key_Y, Qt.ControlModifier), (Qt.Key_Z, Qt.ControlModifier | Qt.ShiftModifier)):
        qtbot.keyClick(window.graph_view, seq[0], seq[1])
        assert len(window.model.document.graph.nodes) == n, seq
        window.editor.undo_action.trigger()
    assert stack is window.editor.group


def test_quit_is_last_in_file(window):
    names = [a.text().replace("&", "") for a in window.menu("File").actions() if not a.isSeparator()]
    assert names[-1] == "Quit" and names.index("Export") < names.index("Quit")
    assert window.quit_action.shortcut().toString() == "Ctrl+Q"


def test_file_dialogs_start_in_documents_then_the_last_folder(qapp, tmp_path, monkeypatch):
    from studio._qt.dialogs.folders import remember, start_dir
    monkeypatch.chdir(tmp_path)
    first = start_dir("model")
    assert Path(first).is_dir() and Path(first) != Path.cwd()
    (tmp_path / "m").mkdir()
    remember("model", str(tmp_path / "m" / "x.yaml"))
    assert start_dir("model", "y.yaml") == str(tmp_path / "m" / "y.yaml")


def test_tour_checkbox_not_preticked_and_names_real_menu_items(window):
    from studio._qt.dialogs.first_run import PAGES, TourDialog
    dlg = TourDialog(window)
    assert not dlg.every_start.isChecked()
    items = set()
    for m in window.menuBar().actions():
        items.update(f"{m.text().replace('&', '')} → {t}" for t in _menu_titles(m.menu()))
    named = [x.strip() for _t, body in PAGES for x in re.findall(r"<b>([A-Z][a-z]+ → [^<]*)</b>", body)]
    assert named
    for path in named:
        assert path in items, f"the tour names {path!r}, which is not a menu item"
    dlg.deleteLater()


def test_invalid_tag_has_its_own_tooltip_and_hit_area(window):
    window.model.timeline.set_current("2023-07-llama-2")
    scene = window.graph_view.graph_scene
    scene._end_animation()
    below = scene.nodes["attention"]
    below.set_issues("n_heads must divide dim", None)
    tag = next(r for role, _f, r, _t, _fl, _p in below.runs() if role == "tag")
    assert below.tag_tooltip(tag.center()) == "✖ invalid: n_heads must divide dim"
    from studio._qt.graph.graph_items import NodeItem
    hit = [it for it in scene.items(below.mapToScene(tag.center())) if isinstance(it, NodeItem)]
    assert hit and hit[0] is below  # not the block above, whose margin used to cover the tag


def test_dropped_block_does_not_stretch_the_layer_frame(window):
    window.model.timeline.set_current("2023-07-llama-2")
    scene = window.graph_view.graph_scene
    scene._end_animation()
    before = scene.frames["layer"].rect
    assert window.editor.add_block("rmsnorm", QPointF(before.right() + 900, before.bottom() + 900), region="layer")
    assert scene.frames["layer"].rect == before


def test_exported_png_has_no_diff_marks(window, tmp_path, monkeypatch):
    import studio._qt.graph.scene_image as R
    window.model.timeline.set_current("2023-07-llama-2")
    scene = window.graph_view.graph_scene
    scene._end_animation()
    assert any(n.diff for n in scene.nodes.values())  # the live view marks the change
    seen = []
    real = R.paint_scene
    monkeypatch.setattr(R, "paint_scene", lambda *a, **k: (seen.append(
        [r for n in scene.nodes.values() for r, *_ in n.runs() if r == "tag"]), real(*a, **k)))
    R.save_scene(scene, tmp_path / "handout.png")
    assert seen == [[]] and (tmp_path / "handout.png").stat().st_size > 1000
    assert any(n.diff for n in scene.nodes.values())  # and the window keeps them


def test_window_opens_sized_to_the_screen(qapp):
    from PySide6.QtWidgets import QWidget

    from studio._qt.window.window_parts import size_to_screen
    w = QWidget()
    free = QGuiApplication.primaryScreen().availableGeometry()
    width, height = size_to_screen(w)
    assert (width, height) == (w.width(), w.height())
    assert width <= free.width() and height <= free.height()
    assert width == min(free.width(), max(1024, int(free.width() * 0.9)))


def test_provenance_badges_carry_a_word():
    from studio._qt.text import provenance_badge
    assert provenance_badge("computed") == "● computed" and provenance_badge("published") == "◆ published"


def test_no_stale_dock_tab_bar_over_the_bottom_docks(window, qtbot):
    """Qt leaves a second "Training | Plots" tab bar over the dock contents; the window hides it,
    also after presentation mode restored the layout."""
    from PySide6.QtWidgets import QTabBar

    def bars():
        return [[tb.tabText(i) for i in range(tb.count())] for tb in window.findChildren(QTabBar)
                if tb.parent() is window and tb.isVisible()]
    for _ in range(2):
        qtbot.waitUntil(lambda: len(bars()) == len({tuple(x) for x in bars()}), timeout=3000)  # no identical copy
        b = bars()
        assert not any(x != y and y[:len(x)] == x for x in b for y in b), b
        window.presentation.toggle()
        window.presentation.toggle()
    window.save_settings()  # a second window restores this layout: still one bar per group
    from studio._qt.window.main_window import MainWindow
    other = MainWindow()
    qtbot.addWidget(other)
    other.resize(1366, 768)
    other.show()
    qtbot.waitExposed(other)

    def other_bars():
        return [[tb.tabText(i) for i in range(tb.count())] for tb in other.findChildren(QTabBar)
                if tb.parent() is other and tb.isVisible()]
    qtbot.waitUntil(lambda: len(other_bars()) == len({tuple(x) for x in other_bars()}), timeout=3000)


def test_status_line_names_a_local_tinystories_file_as_tinystories(window, tmp_path):
    f = tmp_path / "TinyStories-valid.txt"
    f.write_text("Once upon a time there was a cat.\n<|endoftext|>\nThe end.\n", encoding="utf-8")
    panel = window.training.panel
    panel.local_path = str(f)
    panel.refresh_data_choices()
    panel.data.setCurrentIndex(panel.data.findData(str(f)))
    text = window.first_run.data_status_label.text()
    assert "TinyStories-valid.txt (TinyStories)" in text and "not TinyStories" not in text
    panel.data.setCurrentIndex(panel.data.findData("starter"))
    assert "starter corpus (not TinyStories)" in window.first_run.data_status_label.text()
