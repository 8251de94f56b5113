"""After a restart the window finds the runs trained in it before (issue 22 M2): Generate names
the run instead of "Source: none for this model"; an edited copy has no such run."""
from __future__ import annotations

import os
from pathlib import Path

from studio.core.files.presets import load_preset
from studio.core.runs.rundir import RunDir
from studio.core.tokenizers.byte_level import ByteTokenizer

PID = "recipe-llama2c-stories260k"


def test_generate_names_the_run_trained_before_the_restart(window):
    runs = Path(os.environ["ARCHSTUDIO_RUNS_DIR"])  # the Qt tier's own folder (tests/qt/conftest.py)
    run = RunDir(runs / f"{PID}-20261206-090000")
    run.initialize(load_preset(PID), PID, ByteTokenizer())
    run.checkpoint_dir.mkdir()
    run.checkpoint_path(None).write_bytes(b"weights")
    w = window  # the runs folder is read when a milestone is shown, as in a window opened after a restart
    w.model.show_milestone(PID)
    w.training.generate._update_source()
    text = w.training.generate.source_label.text()
    assert "your run of this model from an earlier session" in text and run.path.name in text, text
    assert w.model.run.run_dir == run.path
    w.model.show_milestone("2023-07-llama-2")
    w.training.generate._update_source()
    assert "none for this model" in w.training.generate.source_label.text()


def _trained(runs: Path, stamp: str, steps: int) -> Path:
    run = RunDir(runs / f"{PID}-{stamp}")
    run.initialize(load_preset(PID), PID, ByteTokenizer())
    run.checkpoint_dir.mkdir()
    run.checkpoint_path(None).write_bytes(b"weights")
    run.append_metrics({"kind": "step", "step": steps, "tokens": steps * 512, "elapsed_s": 60.0, "loss": 2.0})
    return run.path


def test_train_menu_offers_the_other_runs_and_the_one_chosen_is_shown(window, qtbot):
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest
    runs = Path(os.environ["ARCHSTUDIO_RUNS_DIR"])
    old = _trained(runs, "20261201-090000", 100)
    new = _trained(runs, "20261206-090000", 300)
    w = window
    w.model.show_milestone(PID)
    assert w.model.run.run_dir == new  # the newest by itself
    train = next(a.menu() for a in w.menuBar().actions() if a.text().replace("&", "") == "Train")
    sub = next(a.menu() for a in train.actions() if a.menu() is not None and a.text() == "Runs of this model")
    sub.popup(w.mapToGlobal(w.rect().center()))
    qtbot.waitUntil(sub.isVisible)
    entries = [a for a in sub.actions() if not a.isSeparator()]
    assert [a.text().split(" — ")[0] for a in entries] == ["run of 2026-12-06 09:00", "run of 2026-12-01 09:00"]
    assert "300 steps" in entries[0].text() and entries[0].isChecked() and not entries[1].isChecked()
    QTest.keyClick(sub, Qt.Key_Down)
    QTest.keyClick(sub, Qt.Key_Down)
    QTest.keyClick(sub, Qt.Key_Return)  # the older run, by the keys a teacher would press
    qtbot.waitUntil(lambda: w.model.run.run_dir == old)
    w.training.generate._update_source()
    assert old.name in w.training.generate.source_label.text()
    assert "run of 2026-12-01 09:00" in w.statusBar().currentMessage()
    w.model.show_milestone("2023-07-llama-2")
    w.model.show_milestone(PID)
    assert w.model.run.run_dir == old  # the choice holds while the class moves on and back
