"""The race trains on what Training trains on and says so (issue 22 M7): its bits per byte then
compare with the Training dock's."""
from __future__ import annotations

import pytest
import torch
from PySide6.QtCore import QSettings

from studio._qt.classroom.race_view import RaceView
from studio._qt.training.data_choice import DATA_KEY
from studio.core.classroom.race_history import RaceHistory

WAIT = 240_000


@pytest.fixture
def stories(tmp_path, monkeypatch):
    from studio.core.data.sources import load_corpus
    monkeypatch.setenv("ARCHSTUDIO_CACHE_DIR", str(tmp_path / "cache"))
    path = tmp_path / "class-stories.txt"
    path.write_text("\n\n".join(load_corpus("starter").stories[:300]), encoding="utf-8")
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield path
    torch.set_num_threads(n)


def test_the_race_trains_on_the_training_docks_stories_and_says_so(qtbot, stories, tmp_path):
    QSettings().setValue(DATA_KEY, str(stories))  # what Training trains on
    view = RaceView(RaceHistory())
    qtbot.addWidget(view)
    assert view.data.currentData() == str(stories) and "class-stories.txt" in view.data.currentText()
    view.demo.setCurrentIndex(view.demo.findData("custom"))
    view.model_boxes[0].setCurrentIndex(view.model_boxes[0].findData("2019-02-gpt-2"))
    view.model_boxes[1].setCurrentIndex(view.model_boxes[1].findData("2023-07-llama-2"))
    w = view.start(tmp_path / "race", steps=2, batch_size=2, context=16, tokenizer="byte", vocab_size=259,
                   eval_interval=2, threads=1)
    assert "class-stories.txt" in view.status.text()
    with qtbot.waitSignal(w.ended, timeout=WAIT):
        pass
    from studio.core.files.schema import load_yaml
    index = load_yaml((tmp_path / "race" / "race.yaml").read_text(encoding="utf-8"), "race.yaml")
    assert "class-stories.txt" in str(index.get("data")), index.get("data")
