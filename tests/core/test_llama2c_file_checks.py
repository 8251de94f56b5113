"""Issue 17: llama2.c model.bin (v0/v1/v2) headers are checked against the file size by
arithmetic before any allocation; tokenizer files are bounded; special files are refused."""
from __future__ import annotations

import os
import shutil
import struct
import time

import pytest

from studio.core import errors as E
from studio.core.formats.llama2c.format import MAGIC
from studio.core.formats.llama2c.reader import read_model
from studio.core.tokenizers.llama2c_bin import Llama2cTokenizer, parse_tokenizer_bin


def v12(version=1, dim=64, hidden=128, layers=2, heads=4, kv=4, vocab=32, seq=16, tied=1, gs=32) -> bytes:
    b = struct.pack("<Ii7iB", MAGIC, version, dim, hidden, layers, heads, kv, vocab, seq, tied)
    if version == 2:
        b += struct.pack("<i", gs)
    return b + b"\0" * (256 - len(b))


def v1_size(dim=64, hidden=128, layers=2, vocab=32, tied=1):
    floats = (2 * layers + 1) * dim + vocab * dim + layers * (4 * dim * dim + 3 * hidden * dim) + (0 if tied else vocab * dim)
    return 256 + 4 * floats


@pytest.mark.parametrize("version", [1, 2])
@pytest.mark.parametrize("layers,want", [(2**31 - 1, "n_layers 2,147,483,647 is above 256"),
                                         (10**6, "n_layers 1,000,000 is above 256")])
def test_huge_layer_count_in_a_small_file_is_refused_at_once(tmp_path, version, layers, want):
    p = tmp_path / "model.bin"
    p.write_bytes(v12(version, layers=layers))
    t0 = time.perf_counter()
    with pytest.raises(E.LoadError, match=want):
        read_model(p)
    assert time.perf_counter() - t0 < 1.0


def test_huge_seq_len_is_refused_even_when_the_size_fits(tmp_path):
    p = tmp_path / "model.bin"
    head = v12(1, seq=2**25)
    p.write_bytes(head + b"\0" * (v1_size() - 256))
    with pytest.raises(E.LoadError, match=r"context 33,554,432 is above 131,072"):
        read_model(p)


def test_size_mismatch_is_found_by_arithmetic(tmp_path):
    p = tmp_path / "model.bin"
    p.write_bytes(v12(1) + b"\0" * 100)
    with pytest.raises(E.LoadError, match=f"truncated: 356 bytes .* needs {v1_size():,}"):
        read_model(p)


def test_a_valid_v1_file_still_reads(tmp_path):
    import numpy as np
    p = tmp_path / "model.bin"
    body = np.full((v1_size() - 256) // 4, 0.01, dtype="<f4").tobytes()
    p.write_bytes(v12(1) + body)
    m = read_model(p)
    assert m.header.n_layers == 2 and m.tensors["layers.1.feed_forward.w2.weight"].shape == (64, 128)


@pytest.mark.parametrize("reader", ["model", "tokenizer"])
def test_fifo_is_refused_without_blocking(tmp_path, reader):
    fifo = tmp_path / "x.bin"
    os.mkfifo(fifo)
    with pytest.raises(E.LoadError, match="is a FIFO"):
        read_model(fifo) if reader == "model" else Llama2cTokenizer.from_file(fifo)


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero on this system")
def test_dev_zero_is_refused():
    with pytest.raises(E.LoadError, match="is a device"):
        read_model("/dev/zero")
    with pytest.raises(E.LoadError, match="is a device"):
        Llama2cTokenizer.from_file("/dev/zero")


def test_max_token_length_is_bounded():
    data = struct.pack("<I", 2**32 - 1) + struct.pack("<fi", 0.0, 1) + b"a"
    with pytest.raises(E.LoadError, match="max_token_length 4,294,967,295 is above 4,096"):
        parse_tokenizer_bin(data, "tokenizer.bin")


def test_cli_import_of_a_hostile_header_is_one_line(tmp_path, shared_data):
    import subprocess
    import sys
    p = tmp_path / "model.bin"
    p.write_bytes(v12(1, layers=2**31 - 1))
    r = subprocess.run([sys.executable, "-m", "studio", "import-llama2c", str(p), "--tokenizer",
                        str(shared_data / "llama2c" / "tok512.bin"), "--out", str(tmp_path / "run")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "n_layers 2,147,483,647 is above 256" in r.stderr
    assert not (tmp_path / "run").exists()


def test_swapped_tokenizer_model_is_refused(tmp_path, shared_data):
    from studio.core.tokenizers.sentencepiece_bpe import _load
    shutil.copy(shared_data / "llama2c" / "tokenizer.model", tmp_path / "tokenizer.model")
    with pytest.raises(E.LoadError, match="sha256 differs from run.yaml"):
        _load(tmp_path, {"kind": "bpe", "vocab_size": 512, "sha256": "0" * 64})
    with pytest.raises(E.LoadError, match="32000 pieces but run.yaml records vocab_size 512"):
        _load(tmp_path, {"kind": "bpe", "vocab_size": 512})
