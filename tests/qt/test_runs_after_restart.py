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
    assert "your latest run of this model" in text and run.path.name in text, text
    assert w.model.run.run_dir == run.path
    w.model.show_milestone("2023-07-llama-2")
    w.training.generate._update_source()
    assert "none for this model" in w.training.generate.source_label.text()
