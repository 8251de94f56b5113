"""Issue 13's remaining defects, each through the real widgets: build the model, build the view,
change the model, assert what the view shows."""
import os
from pathlib import Path

import pytest


def _recoveries():
    folder = Path(os.environ["ARCHSTUDIO_RECOVERY_DIR"])
    return sorted(folder.glob("*.recovery.yaml")) if folder.is_dir() else []


def _autosave(qtbot, w):
    w.projects.autosave.setInterval(30)
    with qtbot.waitSignal(w.projects.autosave.timeout, timeout=3000):
        pass
    assert _recoveries(), "the idle autosave wrote a recovery file"


def test_a_save_and_a_clean_quit_leave_no_recovery_file(window, qtbot, tmp_path):
    w = window
    w.model.show_milestone("2023-07-llama-2")
    w.editor.set_config("attention", "n_kv_heads", 4)  # an edited copy: never saved, no path yet
    _autosave(qtbot, w)
    assert w.projects.save_to(tmp_path / "mine.archproj.yaml")
    assert _recoveries() == []  # the autosave written before the first save is gone with the save
    w.editor.set_config("attention", "n_kv_heads", 2)
    _autosave(qtbot, w)
    w.model.show_milestone("2023-07-llama-2")
    w.editor.set_config("attention", "n_kv_heads", 1)  # a second unsaved model, autosaved too
    _autosave(qtbot, w)
    assert len(_recoveries()) == 2
    w.close()  # Quit: the save prompt is answered Discard (conftest)
    assert _recoveries() == []
    from studio._qt.window.main_window import MainWindow
    again = MainWindow()
    qtbot.addWidget(again)
    assert not again.projects.offer_recovery(ask=lambda: pytest.fail("a clean quit offered a recovery"))


def test_a_crash_still_leaves_the_recovery_file(window, qtbot):
    w = window
    w.model.show_milestone("2023-07-llama-2")
    w.editor.set_config("attention", "n_kv_heads", 4)
    _autosave(qtbot, w)
    assert len(_recoveries()) == 1  # nobody quit: it stays for the next start to offer


def test_one_repeated_layer_is_singular(window):
    w = window
    w.model.show_milestone("2023-07-llama-2")
    scene = w.graph_view.graph_scene
    assert scene.frames["layer"].label == "× 80 layers"
    w.editor.set_dim(w.model.document.shown_scale(), "n_layers", 1)
    assert scene.frames["layer"].label == "× 1 layer"


def _headings(browser, level=3) -> list[str]:
    doc, out = browser.document(), []
    block = doc.begin()
    while block.isValid():
        if block.blockFormat().headingLevel() == level:
            out.append(block.text())
        block = block.next()
    return out


def test_card_has_one_change_heading_and_no_double_bullets(window):
    w = window
    w.model.show_milestone("2018-06-gpt-1")  # its own notes are 'config' changes: were "• •"
    w.info_panel.refresh()
    text = w.info_panel.browser.toPlainText()
    assert "In the authors' words" in text and "•" not in text
    assert "− Encoder removed: decoder-only" in text  # each line's own glyph (was "~" for every line)
    from PySide6.QtGui import QTextListFormat
    block = w.info_panel.browser.document().begin()
    while "Encoder removed" not in block.text():
        block = block.next()
    assert block.textList().format().style() == QTextListFormat.ListStyleUndefined  # the glyph is the marker
    changes = [h for h in _headings(w.info_panel.browser) if "change" in h.lower() or "authors" in h]
    assert changes == ["What changed since Transformer (the model it builds on)"]


@pytest.mark.parametrize("pid,words", [("recipe-modded-llama2c", "Open the repository ↗"),
                                       ("recipe-llama2c-stories15m", "Open the repository ↗"),
                                       ("2023-07-llama-2", "Read the paper ↗"),
                                       ("2022-11-chatgpt", "Read the post ↗")])
def test_card_link_says_what_it_opens(window, pid, words):
    w = window
    w.model.show_milestone(pid)
    w.info_panel.refresh()
    text = w.info_panel.browser.toPlainText()
    assert words in text
    if words != "Read the paper ↗":
        assert "Read the paper" not in text


def _llama(window):
    window.model.show_milestone("2023-07-llama-2")
    window.graph_view.graph_scene._end_animation()
    return window


def test_a_shared_dim_that_breaks_a_block_is_refused_next_to_its_field(window, qtbot):
    w = _llama(window)
    pe = w.property_editor
    scale = w.model.document.shown_scale()
    box = pe.dim_fields["n_heads"]
    box.setValue(7)  # 8192 is not divisible by 7 heads
    box.editingFinished.emit()
    assert w.model.document.architecture.scales[scale]["n_heads"] == 64  # the old value stays in force
    why = "dim 8192 is not divisible by n_heads 7"
    assert why in w.statusBar().currentMessage()
    qtbot.waitUntil(lambda: pe.dim_fields["n_heads"] is not box)  # rebuilt on the next turn
    assert pe.dim_fields["n_heads"].value() == 64
    row, _ = pe.dims_form.getWidgetPosition(pe.dim_fields["n_heads"])
    below = pe.dims_form.itemAt(row + 1, pe.dims_form.ItemRole.SpanningRole)
    assert below is not None and below.widget() is pe.message  # the reason sits right under the field
    assert pe.message.isVisible() and why in pe.message.text()
    good = pe.dim_fields["n_heads"]
    good.setValue(32)
    good.editingFinished.emit()
    assert w.model.document.architecture.scales[scale]["n_heads"] == 32 and not pe.message.isVisible()


def test_a_refused_block_setting_says_why_under_the_field(window, qtbot):
    w = _llama(window)
    w.graph_view.graph_scene.nodes["attention"].setSelected(True)
    pe = w.property_editor
    box = pe.fields["n_kv_heads"]
    box.setValue(5)
    box.editingFinished.emit()
    qtbot.waitUntil(lambda: pe.fields["n_kv_heads"] is not box)
    row, _ = pe.block_form.getWidgetPosition(pe.fields["n_kv_heads"])
    below = pe.block_form.itemAt(row + 1, pe.block_form.ItemRole.SpanningRole)
    assert below is not None and "not divisible by n_kv_heads 5" in below.widget().text()
    assert "Refused" in w.statusBar().currentMessage() and pe.fields["n_kv_heads"].value() == 8


def test_a_port_dropped_on_an_output_says_why(window, qtbot):
    from PySide6.QtCore import QPoint, Qt
    w = _llama(window)
    w.fit()
    scene, view = w.graph_view.graph_scene, w.graph_view
    before = w.model.document.graph.copy()
    a = view.mapFromScene(scene.nodes["norm"].port("x", False).scenePos())
    b = view.mapFromScene(scene.nodes["attention"].port("x", False).scenePos())
    vp = view.viewport()
    qtbot.mousePress(vp, Qt.LeftButton, pos=a)
    qtbot.mouseMove(vp, QPoint((a.x() + b.x()) // 2, (a.y() + b.y()) // 2))
    qtbot.mouseMove(vp, b)
    assert "an output cannot feed an output" in w.statusBar().currentMessage()  # said while hovering
    qtbot.mouseRelease(vp, Qt.LeftButton, pos=b)
    assert w.model.document.graph == before
    assert w.statusBar().currentMessage() == ("Cannot connect: an output cannot feed an output: "
                                              "drop on an input port")


def test_compare_lists_changes_in_words_with_markers_and_figures_side_by_side(window, qtbot):
    w = _llama(window)
    dlg = w.open_compare()
    qtbot.waitExposed(dlg)
    dlg.boxes[0].setCurrentIndex(dlg.boxes[0].findData("2019-02-gpt-2"))
    lines = [dlg.diff_list.item(i).text() for i in range(dlg.diff_list.count())]
    assert "~ replaced · Normalisation: LayerNorm → RMSNorm" in lines
    assert all(t.startswith(("+ added · ", "− removed · ", "~ replaced · ", "~ changed · ")) for t in lines)
    assert not [t for t in lines if "_" in t]  # no field names or block ids (n_kv_heads, attention_norm)
    assert "~" in dlg.summary.text() and "changed" in dlg.summary.text()
    dlg.boxes[0].setCurrentIndex(dlg.boxes[0].findData("2017-06-transformer"))
    lines = [dlg.diff_list.item(i).text() for i in range(dlg.diff_list.count())]
    assert any(t.startswith("− removed · Encoder removed") for t in lines)
    figures = dlg.figures.text()
    for left, right in (("63.05 M", "68.98 B"), ("512 tokens", "4,096 tokens")):  # Transformer | LLaMA 2
        assert figures.index(left) < figures.index(right)
    for word in ("Parameters", "Active / token", "KV cache / token", "Context", "computed", "published"):
        assert word in figures
    assert "Transformer" in figures and "LLaMA 2" in figures
    dlg.close()


def test_file_dialogs_start_in_a_chosen_folder_never_the_working_directory(window, qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    from studio._qt.dialogs.folders import start_dir
    from studio._qt.dialogs.import_dialog import ImportDialog
    from studio._qt.classroom.race_view import RaceView
    from studio.core.classroom.race_history import RaceHistory
    w = window
    for name in ("runs", "races", "cwd", "mine"):
        (tmp_path / name).mkdir()
    monkeypatch.setenv("ARCHSTUDIO_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("ARCHSTUDIO_RACES_DIR", str(tmp_path / "races"))
    monkeypatch.chdir(tmp_path / "cwd")
    opened, answer = [], {"path": ""}

    def pick_dir(parent, title, folder="", *a, **k):
        opened.append((title, folder))
        return answer["path"]

    def pick_file(parent, title, folder="", *a, **k):
        opened.append((title, folder))
        return answer["path"], ""
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(pick_dir))
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(pick_file))
    documents = start_dir("nothing-remembered")
    imp = ImportDialog(w)
    qtbot.addWidget(imp)
    race = RaceView(RaceHistory())
    qtbot.addWidget(race)
    panel, att = w.training.panel, w.inspect.attention
    att.ins = object()  # a shown inspection: Save asks for a folder
    try:
        cases = [(w.training.plots.choose_overlay, str(tmp_path / "runs")),
                 (lambda: w.inspect.open_run(), str(tmp_path / "runs")),
                 (race.open_dialog, str(tmp_path / "races")),
                 (lambda: imp._pick(imp.model_edit, "llama2.c model.bin"), documents),
                 (lambda: imp._pick(imp.out_edit, "Empty folder for the run", True), documents),
                 (lambda: panel.tokenizer.setCurrentIndex(panel.tokenizer.findData("llama2")), documents),
                 (lambda: panel.data.setCurrentIndex(panel.data.findData("choose")), documents),
                 (att._save, documents)]
        for trigger, want in cases:
            opened.clear()
            trigger()
            assert opened and opened[-1][1] == want, (opened, want)
    finally:
        att.ins = None
    assert str(tmp_path / "cwd") not in documents
    answer["path"] = str(tmp_path / "mine")  # chosen once: the next run-folder dialog starts there
    w.training.plots.choose_overlay()
    opened.clear()
    w.inspect.open_run()
    assert opened[-1][1] == str(tmp_path / "mine")
