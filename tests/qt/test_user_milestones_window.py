"""Issue 24 item 5 in the window: File → Add to timeline… with the keyboard adds a config.json
with its card; the strip, its tooltip and the card mark it as yours; a new window (a restart)
shows it still; File → Remove from timeline… (confirmed) takes it off. Bad files: one line."""
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QPushButton

from tests.qt.conftest import dispose, shown_window

QWEN3 = Path(__file__).resolve().parents[1] / "data" / "hf_configs" / "Qwen3-4B" / "config.json"
MID = "2025-04-qwen3-4b"


@pytest.fixture
def folder(tmp_path, monkeypatch):
    d = tmp_path / "milestones"
    monkeypatch.setenv("ARCHSTUDIO_MILESTONES_DIR", str(d))
    return d


@pytest.fixture
def windows():
    """Windows a test makes (a restart makes a second); each disposed of when the test ends."""
    made = []
    yield made
    for w in made:
        dispose(w)


def new_window(qtbot, windows):
    w = shown_window(qtbot)
    windows.append(w)
    return w


def file_menu_key(qtbot, w, key):
    """Alt+F, then the item's underlined letter: what a keyboard user presses."""
    w.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is w, timeout=3000)  # the menu bar's Alt keys need it
    w.graph_view.setFocus()
    qtbot.keyClick(w, Qt.Key_F, Qt.AltModifier)
    qtbot.waitUntil(lambda: QApplication.activePopupWidget() is not None, timeout=3000)
    qtbot.keyClick(QApplication.activePopupWidget(), key)


def retype(qtbot, edit, text):
    edit.setFocus()
    qtbot.keyClick(edit, Qt.Key_A, Qt.ControlModifier)
    qtbot.keyClicks(edit, text)


def test_add_show_restart_remove(qtbot, folder, windows):
    w = new_window(qtbot, windows)
    tl = w.model.timeline
    assert not w.user_milestones.remove_action.isEnabled()  # a published milestone is on screen
    file_menu_key(qtbot, w, Qt.Key_T)
    qtbot.waitUntil(lambda: w.user_milestones.dialog is not None and w.user_milestones.dialog.isVisible(), timeout=3000)
    dlg = w.user_milestones.dialog
    assert not dlg.add_btn.isEnabled() and dlg.problem.text() == "Choose a file."
    retype(qtbot, dlg.path_edit, str(QWEN3))
    assert dlg.card_box.isEnabled() and dlg.fields["title"].text() == "Qwen3-4B"  # its folder's name, to edit
    assert dlg.problem.text() == "A date is needed (YYYY-MM or YYYY-MM-DD)"
    for key, text in (("title", "Qwen3-4B"), ("date", "2025-04-31"), ("org", "Alibaba Qwen"),
                      ("innovation", "QK-norm in every attention layer"), ("source", "https://huggingface.co/Qwen/Qwen3-4B")):
        retype(qtbot, dlg.fields[key], text)
    assert dlg.problem.text() == "Date '2025-04-31' is not a day of the calendar" and not dlg.add_btn.isEnabled()
    retype(qtbot, dlg.fields["date"], "2025-04-29")
    assert dlg.problem.text() == "" and dlg.add_btn.isEnabled()
    qtbot.keyClick(dlg.fields["date"], Qt.Key_Return)  # Enter: the default button, Add to timeline
    qtbot.waitUntil(lambda: not dlg.isVisible(), timeout=3000)

    ids = tl.milestone_ids
    assert tl.is_user(MID) and ids[ids.index(MID) - 1] == "2025-01-deepseek-r1"
    chart = w.accounting_panel.chart  # the timeline chart has its point (one more x, plus the recipes' gap)
    assert len(chart.params_curve.xData) == len(tl.ids) + 1 and chart.marker_index() == tl.ids.index(MID)
    assert w.model.document.milestone_id == MID and tl.current_id == MID  # shown at once
    assert "Added Qwen3-4B to the timeline" in w.statusBar().currentMessage()
    strip = w.timeline_bar.strip
    assert "◆ Added by you" in strip.card_html(tl.ids.index(MID))
    qtbot.waitUntil(lambda: "Added by you" in w.info_panel.browser.toPlainText(), timeout=3000)
    assert "QK-norm in every attention layer" in w.info_panel.browser.toPlainText()
    assert "What changed since LLaMA 2" in w.info_panel.browser.toPlainText()
    assert "Alibaba Qwen · 2025-04-29 · ◆ added by you" in w.presentation.card_html()  # presentation mode's card
    assert w.user_milestones.remove_action.isEnabled()
    dispose(w)

    w2 = new_window(qtbot, windows)  # a restart: a new model and window read the folder
    tl2 = w2.model.timeline
    assert tl2.is_user(MID) and tl2.milestone_ids == ids
    strip = w2.timeline_bar.strip  # its tick is a diamond in the text colour (the published ones: muted circles)
    img, k = strip.grab().toImage(), tl2.ids.index(MID)
    dpr = img.devicePixelRatio()

    def colour_at(x, y):
        return img.pixelColor(int(x * dpr), int(y * dpr)).name()
    ax, xs = strip.axis_y(), strip.positions()
    assert colour_at(xs[k], ax - 4) == strip.theme.text.lower()
    assert colour_at(xs[k - 1], ax - 4) == strip.theme.muted.lower()
    w2.open_model(MID)  # what `archstudio 2025-04-qwen3-4b` does: the milestone itself, not a copy
    assert w2.model.document.milestone_id == MID and w2.user_milestones.remove_action.isEnabled()
    file_menu_key(qtbot, w2, Qt.Key_V)  # Remo&ve from timeline…
    qtbot.waitUntil(lambda: w2.user_milestones.confirm is not None and w2.user_milestones.confirm.isVisible(),
                    timeout=3000)
    box = w2.user_milestones.confirm
    assert "Qwen3-4B" in box.text() and box.defaultButton().text() == "Cancel"  # Enter alone keeps it
    remove = next(b for b in box.findChildren(QPushButton) if b.text() == "Remove")
    remove.setFocus()
    qtbot.keyClick(remove, Qt.Key_Space)
    qtbot.waitUntil(lambda: MID not in tl2.ids, timeout=3000)
    assert w2.model.document.milestone_id == "2025-01-deepseek-r1" and not (folder / f"{MID}.yaml").exists()
    assert not w2.user_milestones.remove_action.isEnabled()


def test_a_file_the_core_refuses_is_one_line_in_the_dialog_and_a_bad_dropped_file_one_status_line(qtbot, folder, tmp_path, windows):
    folder.mkdir()
    (folder / "damaged.yaml").write_text("meta: [\n")
    w = new_window(qtbot, windows)
    qtbot.waitUntil(lambda: "Skipped your milestone file damaged.yaml:" in w.statusBar().currentMessage(), timeout=3000)
    assert "(moved to rejected/)" in w.statusBar().currentMessage() and (folder / "rejected" / "damaged.yaml").exists()
    btn = w.user_milestones.set_aside_button  # stays when later messages replace the line
    w.show_status("Training, plots and inspection panels: View → Panels")
    assert btn.isVisible() and btn.text() == "⚠ damaged.yaml set aside"
    box = w.user_milestones.show_set_aside()
    assert "damaged.yaml: " in box.text() and str(folder / "rejected") in box.text()
    box.accept()
    assert not btn.isVisible()
    before = list(w.model.timeline.ids)
    dlg = w.user_milestones.open_add()
    bad = tmp_path / "no-graph.yaml"
    bad.write_text("meta: {title: No graph, date: '2024-01'}\n")
    retype(qtbot, dlg.path_edit, str(bad))
    assert not dlg.card_box.isEnabled() and dlg.add_btn.isEnabled()
    qtbot.keyClick(dlg.path_edit, Qt.Key_Return)
    assert dlg.isVisible() and dlg.problem.text().startswith("no-graph.yaml: ")  # the core's one line
    assert "\n" not in dlg.problem.text() and w.model.timeline.ids == before
    dlg.reject()
