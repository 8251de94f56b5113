"""DeepSeek-V4 trains at classroom scale and every exporter refuses it in one line (exit 2) that
names the block no outside format has: its compressed attention. Nothing is written."""
import pytest
from export_runs import trained_run

from studio.entry import main


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return trained_run("2026-04-deepseek-v4", tmp_path_factory.mktemp("v4-run"))


@pytest.mark.parametrize("fmt, says", [("hf", "no Hugging Face transformers model class has this block"),
                                       ("gguf", "no llama.cpp (GGUF) model class has this block"),
                                       ("llama2c", "llama2.c has no such block")])
def test_export_refuses_v4_in_one_line_naming_the_attention(run, fmt, says, tmp_path, capsys):
    capsys.readouterr()
    code = main(["export", str(run), "--format", fmt, "--out", str(tmp_path / "out")])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    if fmt == "llama2c":  # every reason, one per line, under a heading
        assert lines[1].strip().startswith("attention: compressed sparse / heavily compressed attention: " + says)
    else:
        assert len(lines) == 1 and ": attention: Compressed attention (compressed_attention): " + says in lines[0], err
    assert not (tmp_path / "out").exists()


def test_inspect_shows_the_window_of_each_layer_and_the_hash_routed_layer(run, tmp_path, capsys):
    import json
    capsys.readouterr()
    assert main(["inspect", str(run), "--prompt", "Once upon a time there was", "--out", str(tmp_path)]) == 0
    d = json.loads((tmp_path / "inspect.json").read_text())
    layers = d["attention_layers"]
    assert [a["label"] for a in layers] == [f"L{i} compressed, window 32" for i in range(4)]
    assert all(a["n_kv_heads"] == 1 for a in layers)  # one shared key = value head
    # cached per token: HCA (16-token pools of a 32-wide key) 2 numbers, CSA (4-token pools + the indexer's key) 12
    assert [a["cache_elems_per_token"] for a in layers] == [2, 2, 12, 2]
    assert len(d["routing"]) == 4 and (tmp_path / "routing.png").exists()  # the hash-routed layer 0 included
