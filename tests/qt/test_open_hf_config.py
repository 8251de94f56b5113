"""File → Open model… takes a Hugging Face config.json: its graph goes on screen with the exact count."""
import json
from pathlib import Path

from PySide6.QtWidgets import QFileDialog

from studio.core.model.accounting import account

CONFIG = Path(__file__).resolve().parents[1] / "data" / "hf_configs" / "Qwen3-30B-A3B" / "config.json"


def test_open_model_dialog_opens_a_config_json(window, monkeypatch):
    seen = {}

    def pick(parent, title, start, filters):
        seen["filters"] = filters
        return str(CONFIG), filters.split(";;")[0]
    monkeypatch.setattr(QFileDialog, "getOpenFileName", pick)
    assert "config.json" in window.open_model_action.text()
    window.open_model_action.trigger()
    assert "*.json" in seen["filters"]
    doc = window.model.document
    assert doc.title.startswith("Qwen3-30B-A3B") and doc.architecture.graph.node("feed_forward").kind == "moe"
    assert account(doc.architecture, "paper").params_total == 30_532_122_624
    assert json.loads(CONFIG.read_text())["num_experts"] == doc.architecture.dims("paper")["n_experts"]


def test_a_bad_config_json_is_one_line_and_the_work_stays(window, monkeypatch, tmp_path, dialogs):
    bad = tmp_path / "config.json"
    bad.write_text(json.dumps({"model_type": "gemma2"}))
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a: (str(bad), ""))
    before = window.model.document.architecture
    window.open_model_action.trigger()
    assert window.model.document.architecture is before
    assert any(d[1] == "Cannot open" and "gemma2" in d[2] for d in dialogs)
