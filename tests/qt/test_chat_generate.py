"""The Generate panel talks turn by turn to a run that carries a chat template (the ChatGPT
experiment's folder): typing a turn and pressing Enter shows it and the model's reply, the reply
joins the conversation, and another model on screen leaves chat mode."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
from PySide6.QtCore import Qt

from studio._qt.training.generate_panel import GeneratePanel
from studio.core.experiments import chatgpt as C
from studio.core.experiments import rlhf_pipeline as L
from studio.core.runs.rundir import RunDir
from studio.core.state import StudioModel
from studio.core.tokenizers.byte_level import ByteTokenizer

SMALL = L.Settings(dim=16, layers=1, context=256, tokenizer="byte")


@pytest.fixture
def chat_run(tmp_path):
    """A chat run folder as the ChatGPT experiment writes it (an untrained tiny policy)."""
    policy = L.build_model(SMALL, 259, 0)
    C.write_chat_run(SimpleNamespace(path=tmp_path / "chat"), SMALL, ByteTokenizer(), policy, 0, "test")
    return tmp_path / "chat"


def _send(qtbot, panel, text):
    qtbot.keyClicks(panel.prompt, text)
    qtbot.keyClick(panel.prompt, Qt.Key_Return)
    qtbot.waitUntil(lambda: panel.worker is None, timeout=60_000)


def test_a_typed_turn_gets_a_reply_and_stays_in_the_conversation(qtbot, chat_run):
    model = StudioModel(scale="classroom", start="recipe-llama2c-stories260k")
    panel = GeneratePanel(model.run)
    qtbot.addWidget(panel)
    assert panel.go.text() == "Generate" and panel._chat is None
    model.open_architecture(RunDir(chat_run).architecture(), "imported", "chat model", run_dir=chat_run)
    assert panel._chat == C.TEMPLATE and panel.go.text() == "Send"
    assert "chat template" in panel.source_label.text() and panel.prompt.text() == ""
    panel.temperature.setValue(0.0)
    panel.max_tokens.setValue(6)
    _send(qtbot, panel, "Write a story about Tom.")
    first = panel.output.toPlainText()
    assert first.startswith("You: Write a story about Tom.\nModel: ")
    assert len(panel._turns) == 1 and panel._turns[0][1]          # the reply, kept for the next turn's context
    assert len(first) > len("You: Write a story about Tom.\nModel: ")  # and shown
    assert panel.prompt.text() == "" and panel.go.text() == "Send"
    _send(qtbot, panel, "Another one.")
    text = panel.output.toPlainText()
    assert text.startswith(first) and "\nYou: Another one.\nModel: " in text
    assert [u for u, _ in panel._turns] == ["Write a story about Tom.", "Another one."]
    model.open_architecture(RunDir(chat_run).architecture(), "project", "same weights, other document")
    assert panel._chat is None and panel.go.text() == "Generate" and panel.output.toPlainText() == ""
    panel.shutdown()


def test_an_empty_turn_is_not_sent(qtbot, chat_run):
    model = StudioModel(scale="classroom", start="recipe-llama2c-stories260k")
    panel = GeneratePanel(model.run)
    qtbot.addWidget(panel)
    model.open_architecture(RunDir(chat_run).architecture(), "imported", "chat model", run_dir=chat_run)
    qtbot.keyClick(panel.prompt, Qt.Key_Return)
    assert panel.worker is None and panel._turns == [] and "Type your turn" in panel.source_label.text()
