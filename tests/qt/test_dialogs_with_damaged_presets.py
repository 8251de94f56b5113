"""One damaged file of the presets package (a preset, races.yaml, timeline.yaml as a FIFO) does
not make the race view or the lesson dialog raise: they open, say the line, and list the rest."""
import os
import sys

import pytest
from presets_copy import clear_caches, presets_copy
from PySide6.QtCore import Qt

from studio._qt.classroom.lesson_dialog import LessonDialog
from studio._qt.classroom.race_view import RaceView
from studio.core.classroom.race_history import RaceHistory
from studio.core.files.presets import timeline
from studio.core.state.run import RunState


@pytest.fixture
def pkg(tmp_path, monkeypatch):
    hooks = []
    monkeypatch.setattr(sys, "excepthook", lambda *a: hooks.append(a))
    yield presets_copy(tmp_path, monkeypatch)
    clear_caches()
    assert hooks == []


def open_both(qtbot):
    said = []
    view = RaceView(RaceHistory())
    qtbot.addWidget(view)
    dialog = LessonDialog(RunState(), show_status=lambda msg, *a: said.append(msg))
    qtbot.addWidget(dialog)
    return view, dialog, said


def test_a_damaged_preset_is_listed_disabled_and_the_rest_usable(qtbot, pkg):
    pid = timeline()["milestones"][1]
    (pkg / f"{pid}.yaml").write_text("scales: [1, 2]\n")
    view, dialog, _ = open_both(qtbot)
    assert f"presets/{pid}.yaml" in view.status.text()
    assert view.model_boxes[0].findData(pid) == -1 and view.model_boxes[0].count() >= 2
    items = {dialog.models.item(i).data(Qt.UserRole): dialog.models.item(i) for i in range(dialog.models.count())}
    assert not items[pid].flags() & Qt.ItemIsEnabled and f"presets/{pid}.yaml" in items[pid].toolTip()
    assert items[pid].checkState() == Qt.Unchecked and len(items) == len(timeline()["milestones"] + timeline()["recipes"])


def test_a_damaged_races_yaml_leaves_the_custom_race(qtbot, pkg):
    (pkg / "races.yaml").write_text("races: [{id: a, models: 2019-02-gpt-2}]\n")
    view, _, _ = open_both(qtbot)
    assert "races.yaml" in view.status.text() and view.demo.count() == 1 and view.model_boxes[1].count() > 2


def test_a_fifo_timeline_opens_both_empty_with_the_line(qtbot, pkg):
    os.unlink(pkg / "timeline.yaml")
    os.mkfifo(pkg / "timeline.yaml")
    view, dialog, said = open_both(qtbot)
    assert "FIFO" in view.status.text() and dialog.models.count() == 0 and any("FIFO" in m for m in said)
