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
    from studio._qt.main_window import MainWindow
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
    changes = [h for h in _headings(w.info_panel.browser) if "change" in h.lower() or "authors" in h]
    assert changes == ["What changed since Transformer (the milestone before)"]


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
