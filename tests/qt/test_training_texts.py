"""Texts of the Training panel describe what is chosen now (no training thread is started here)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))
from tiny_training import tiny_arch  # noqa: E402

from studio._qt.training.panel import TrainingPanel  # noqa: E402
from studio._qt.training.session import TrainingSession  # noqa: E402
from studio.core.state import Document, RunState  # noqa: E402


def test_local_file_is_not_described_as_tinystories(qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog
    monkeypatch.setenv("ARCHSTUDIO_CACHE_DIR", str(tmp_path / "cache"))
    doc, run = Document("classroom"), RunState()
    run.follow(doc)
    doc.show_milestone("tiny", tiny_arch(), "Tiny")
    session = TrainingSession(run)
    panel = TrainingPanel(session, run)
    qtbot.addWidget(panel)
    stories = tmp_path / "my-stories.txt"
    stories.write_text("Once upon a time.\n")
    panel.data.setCurrentIndex(panel.data.findData("starter"))
    assert "not TinyStories" in panel.attribution.text()
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(stories), "")))
    panel.data.setCurrentIndex(panel.data.findData("choose"))
    assert panel.data_spec() == str(stories)
    text = panel.attribution.text()
    assert "my-stories.txt" in text and "not TinyStories" in text
    assert "Ronen Eldan" not in text and "CDLA" not in text
    panel.data.setCurrentIndex(panel.data.findData("starter"))  # and back: the starter's own words
    assert "Ronen Eldan" not in panel.attribution.text() and "my-stories.txt" not in panel.attribution.text()


def test_start_without_a_model_on_screen_says_so(qtbot):
    doc, run = Document("classroom"), RunState()
    run.follow(doc)
    session = TrainingSession(run)
    panel = TrainingPanel(session, run)
    qtbot.addWidget(panel)
    panel.start()
    assert not session.running and "No model selected" in panel.status.text()
