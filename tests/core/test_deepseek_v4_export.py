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
