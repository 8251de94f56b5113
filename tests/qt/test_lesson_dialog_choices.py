"""The lesson dialog as a teacher uses it (issue 22 M6, L13): it trains on what Training trains
on (or a file chosen here), ticks all or none with one click, speaks of its own buttons, and a
cancelled lesson shows no stale progress."""
from __future__ import annotations

import pytest
import torch
from PySide6.QtCore import QSettings, Qt

from studio._qt.classroom.lesson_dialog import LessonDialog
from studio._qt.training.data_choice import DATA_KEY
from studio.core.state import StudioModel

WAIT = 240_000


@pytest.fixture
def stories(tmp_path):
    from studio.core.data.sources import load_corpus
    path = tmp_path / "my-stories.txt"  # a local file of stories (varied enough for a 512-piece vocabulary)
    path.write_text("\n\n".join(load_corpus("starter").stories[:400]), encoding="utf-8")
    return path


@pytest.fixture
def dlg(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("ARCHSTUDIO_CACHE_DIR", str(tmp_path / "cache"))
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    d = LessonDialog(StudioModel(scale="classroom", start=0).run)
    qtbot.addWidget(d)
    d.folder.setText(str(tmp_path / "lesson"))
    yield d
    d.shutdown()
    torch.set_num_threads(n)


def test_the_lesson_trains_on_what_training_trains_on(qtbot, stories, tmp_path, monkeypatch):
    QSettings().setValue(DATA_KEY, str(stories))  # the Training dock's remembered local file
    monkeypatch.setenv("ARCHSTUDIO_CACHE_DIR", str(tmp_path / "cache"))
    d = LessonDialog(StudioModel(scale="classroom", start=0).run)
    qtbot.addWidget(d)
    assert d.data.currentData() == str(stories) and "my-stories.txt" in d.data.currentText()
    assert [d.data.itemData(i) for i in range(d.data.count())][-2:] == ["starter", "choose"]
    other = tmp_path / "other.txt"
    other.write_text("Once upon a time.", encoding="utf-8")
    d.choose_data_file(str(other))
    assert d.data.currentData() == str(other)
    d.choose_data_file("")  # the file dialog cancelled: back to the first choice, never "choose"
    assert d.data.currentData() != "choose"


def test_tick_all_and_tick_none_are_one_click(qtbot, dlg):
    from PySide6.QtWidgets import QPushButton
    buttons = {b.text(): b for b in dlg.findChildren(QPushButton)}
    qtbot.mouseClick(buttons["Tick none"], Qt.LeftButton)
    assert dlg.chosen() == [] and "0 models" in dlg.total.text()
    qtbot.mouseClick(buttons["Tick all"], Qt.LeftButton)
    assert len(dlg.chosen()) == sum(1 for i in range(dlg.models.count())
                                    if dlg.models.item(i).flags() & Qt.ItemIsEnabled)


def test_a_cancelled_lesson_shows_no_stale_progress_and_speaks_of_resume(qtbot, dlg, stories):
    dlg.tick_all(Qt.Unchecked)
    dlg.models.item(0).setCheckState(Qt.Checked)
    dlg.choose_data_file(str(stories))
    seen = []
    w = dlg.start(steps=100_000, batch_size=2, context=16, threads=1, precision="fp32", compile=False)
    from studio.core.classroom.lesson_events import LessonStep
    w.job_event.connect(lambda ev: seen.append(ev) or (isinstance(ev, LessonStep) and dlg.cancel()))
    with qtbot.waitSignal(w.ended, timeout=WAIT):
        pass
    assert any(isinstance(ev, LessonStep) for ev in seen), [ev.message for ev in seen] + [dlg.log.toPlainText()]
    assert dlg.current.format() == "model: %p%"  # no "step 3 of 4" left behind
    assert "Resume" in dlg.eta.text() and "ready in about" not in dlg.eta.text()
    assert dlg.start_btn.text() == "Resume"
    log = dlg.log.toPlainText()
    assert "run the same command" not in log and "my-stories.txt" in log


def test_the_total_says_the_class_compile_comes_on_top(dlg, qtbot):
    """Models of a minute or more get their step compiled for the class after their minutes: the total
    the teacher reads says so instead of promising minutes × models (typed into the minutes box)."""
    dlg.show()
    box = dlg.minutes.lineEdit()
    box.selectAll()
    qtbot.keyClicks(box, "0.5")
    qtbot.keyClick(box, Qt.Key_Tab)
    assert "compiling" not in dlg.total.text() and "in all" in dlg.total.text()
    box.selectAll()
    qtbot.keyClicks(box, "5")
    qtbot.keyClick(box, Qt.Key_Tab)
    assert "plus compiling each model's training step for the class" in dlg.total.text(), dlg.total.text()
