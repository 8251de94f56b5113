"""A tokenizer.model with one byte changed so that a piece is not UTF-8 (the protobuf still
parses): one line naming the piece, in the loader and in every command that loads a run's
tokenizer, also when run.yaml has no sha256 to catch it first."""
import pytest
import sentencepiece as spm

from studio import cli
from studio.core import errors as E
from studio.core.runs.rundir import RunDir
from studio.core.tokenizers.sentencepiece_bpe import SentencePieceTokenizer


@pytest.fixture
def damaged(shared_data):
    good = (shared_data / "llama2c" / "tokenizer.model").read_bytes()
    sp = spm.SentencePieceProcessor()
    sp.LoadFromSerializedProto(good)
    piece = sp.id_to_piece(1000).encode()
    at = good.find(b"\n" + bytes([len(piece)]) + piece)  # field 1 (piece), its length, its bytes
    bad = bytearray(good)
    bad[at + 2] = 0xFF
    return bytes(bad)


def test_the_loader_names_the_piece(damaged):
    with pytest.raises(E.LoadError, match="piece 1000 is not UTF-8") as info:
        SentencePieceTokenizer(damaged, "llama2", "tokenizer.model")
    assert "\n" not in str(info.value)


def test_a_run_without_the_sha256_says_one_line(damaged, tmp_path, capsys):
    run = RunDir(tmp_path / "run")
    run.tokenizer_dir.mkdir(parents=True)
    (run.tokenizer_dir / "tokenizer.model").write_bytes(damaged)
    run.write_config({"model": "recipe-llama2c-stories260k", "architecture": {}, "tokenizer": {"kind": "llama2"}})
    for argv in (["generate", str(run.path)], ["inspect", str(run.path), "--prompt", "Once", "--out", str(tmp_path / "insp")]):
        assert cli.main(argv) == 2
        err = capsys.readouterr().err
        assert "not UTF-8" in err and len(err.strip().splitlines()) == 1
