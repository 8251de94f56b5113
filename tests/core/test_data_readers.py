"""Issue 17: training data and metrics readers give one line (or skip the damage) for hostile files."""
from __future__ import annotations

import os

import pytest

from studio.core import errors as E
from studio.core.data.sources import read_stories

STORIES = ["Once upon a time there was a cat.", "The dog ran far away."]


@pytest.mark.parametrize("name,data,want", [
    ("bad.json", b'[{"story": "caf\xe9"}, {"story": "b"}]', "not UTF-8 text (byte 0xe9 at offset 15); JSON must be UTF-8"),
    ("bad.jsonl", b'{"story": "a"}\n{"story": "\xff"}\n', "not UTF-8 text (byte 0xff"),
    ("big.json", b"[" + b"1" * 1_000_000 + b"]", "not usable JSON"),
    ("deep.json", b"[" * 100_000 + b"]" * 100_000, "nested more than"),
    ("deep.jsonl", b"[" * 5000 + b"]" * 5000 + b"\n", "line 1: nested more than"),
    ("broken.jsonl", b'{"story": "a"}\n{"story": \n', "line 2: not valid JSON"),
    ("nostory.json", b'[{"a": 1}, {"b": 2}]', "item 0 has no 'story' or 'text' string"),
])
def test_hostile_training_data_is_one_line(tmp_path, name, data, want):
    p = tmp_path / name
    p.write_bytes(data)
    with pytest.raises(E.LoadError) as ei:
        read_stories(p)
    assert want in str(ei.value) and "\n" not in str(ei.value)


def test_txt_keeps_reading_with_replacement(tmp_path):
    p = tmp_path / "s.txt"
    p.write_bytes("\n\n".join(STORIES).encode() + b"\n\n\xff caf\xe9\n")
    assert len(read_stories(p)) == 3


def test_fifo_as_training_data_does_not_block(tmp_path):
    os.mkfifo(tmp_path / "s.txt")
    with pytest.raises(E.LoadError, match="is a FIFO"):
        read_stories(tmp_path / "s.txt")
