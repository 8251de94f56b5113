"""JSON training data may escape a lone surrogate ("\\ud800"): it becomes U+FFFD, as a bad byte in
a .txt does, instead of a UnicodeEncodeError when the stories are hashed and tokenized."""
import json

from studio import cli
from studio.core.data.sources import load_corpus


def test_a_lone_surrogate_in_json_reads_as_a_replacement_character(tmp_path):
    p = tmp_path / "s.jsonl"
    p.write_text('{"text": "\\ud800 once upon a time"}\n{"text": "a second \\ud83d\\ude00 story"}\n')
    c = load_corpus(str(p))
    assert c.stories == ("\ufffd\ufffd\ufffd once upon a time", "a second \U0001f600 story") and len(c.sha256) == 64


def test_train_on_it_runs(tmp_path, capsys):
    p = tmp_path / "s.json"
    p.write_text(json.dumps([{"story": "\ud800 " + "Once upon a time there was a cat. " * 20}] * 6))
    (tmp_path / "m.yaml").write_text("extends: recipe-microgpt\nscales: {classroom: {dim: 16, n_layers: 1, n_heads: 2, "
                                     "hidden_dim: 32, context: 16}}\n")
    assert cli.main(["train", str(tmp_path / "m.yaml"), "--data", str(p), "--out", str(tmp_path / "run"), "--steps", "1",
                     "--tokenizer", "byte", "--batch-size", "1", "--threads", "1", "--compile", "off",
                     "--precision", "fp32", "--eval-interval", "1"]) == 0, capsys.readouterr().err
