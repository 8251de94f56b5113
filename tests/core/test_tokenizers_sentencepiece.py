"""SentencePiece BPE (trained like llama2.c's train_vocab) and the Llama 2 tokenizer: layout rules."""
import struct

import pytest

from studio.core import errors as E
from studio.core.data.starter import starter_stories
from studio.core.tokenizers import BOS, EOS, llama2c_tokenizer_bytes, load_tokenizer
from studio.core.tokenizers.sentencepiece_bpe import MAX_BPE_VOCAB, SentencePieceTokenizer, min_vocab_size, train_bpe

STORIES = starter_stories(400) + ["Café — naïve smile 😊 and 12345 digits."]


@pytest.fixture(scope="module")
def bpe(tmp_path_factory):
    return train_bpe(STORIES, 400, tmp_path_factory.mktemp("cache"))


def check_layout(tok):
    assert [tok.piece(i) for i in range(3)] == ["<unk>", "<s>", "</s>"]
    assert [tok.piece(3 + b) for b in range(256)] == [f"<0x{b:02X}>" for b in range(256)]
    pieces = [tok.piece(i) for i in range(tok.vocab_size)]
    assert " " in pieces and len(set(pieces)) == len(pieces) and all(pieces)


def test_bpe_layout_matches_llama2c(bpe):
    assert bpe.vocab_size == 400
    check_layout(bpe)
    # BPE scores are minus the merge rank: a multi-character piece merged earlier scores higher
    merges = [i for i in range(259, 400) if len(bpe.piece(i)) > 1]
    assert merges and bpe.score(merges[0]) > bpe.score(merges[-1])


def test_bpe_round_trip_and_byte_fallback(bpe):
    text = "Lily 😊 went to the 公园. 2024"
    ids = bpe.encode(text)
    assert ids[0] == BOS and bpe.decode(ids) == text
    assert [3 + b for b in "公".encode()] == ids[ids.index(3 + 0xE5):][:3]  # unseen: byte-fallback ids
    digits = bpe.encode("2024", bos=False)
    assert all(sum(c.isdigit() for c in bpe.piece(i)) <= 1 for i in digits if i >= 259)  # split_digits=True
    assert bpe.encode("hi", eos=True)[-1] == EOS


def test_smallest_vocab_and_clear_message_below():
    lo = min_vocab_size(STORIES)
    assert train_bpe(STORIES, lo).vocab_size == lo
    with pytest.raises(E.StudioError, match=f"at least {lo}"):
        train_bpe(STORIES, lo - 1)
    with pytest.raises(E.StudioError, match=str(MAX_BPE_VOCAB)):
        train_bpe(STORIES, MAX_BPE_VOCAB + 1)


def test_cached_by_content_hash(tmp_path):
    a = train_bpe(STORIES, 330, tmp_path)
    assert len(list(tmp_path.iterdir())) == 1
    b = train_bpe(STORIES, 330, tmp_path)
    assert a.model_bytes == b.model_bytes
    train_bpe(STORIES[:-1], 330, tmp_path)  # different data: a new entry
    assert len(list(tmp_path.iterdir())) == 2


def test_save_load_and_tokenizer_bin(bpe, tmp_path):
    desc = bpe.save(tmp_path)
    assert desc["kind"] == "bpe" and desc["vocab_size"] == 400
    tok = load_tokenizer(tmp_path, desc)
    assert tok.encode("Tom and Mia") == bpe.encode("Tom and Mia")
    data = (tmp_path / "tokenizer.bin").read_bytes()
    assert data == llama2c_tokenizer_bytes(bpe)
    (max_len,) = struct.unpack_from("<I", data)
    off, pieces = 4, []
    for _ in range(400):
        score, n = struct.unpack_from("<fi", data, off)
        pieces.append(data[off + 8: off + 8 + n])
        off += 8 + n
    assert off == len(data) and max_len == max(len(p) for p in pieces)
    assert pieces[1] == b"\n<s>\n" and pieces[2] == b"\n</s>\n" and pieces[3] == b"<0x00>"


def test_not_a_model_is_a_load_error(tmp_path):
    with pytest.raises(E.LoadError, match="not a SentencePiece model"):
        SentencePieceTokenizer(b"garbage", "llama2", "x.model")
    with pytest.raises(E.LoadError, match="no such file"):
        SentencePieceTokenizer.from_file(tmp_path / "nope.model")


def test_llama2_tokenizer_from_user_file(shared_data, tmp_path):
    tok = SentencePieceTokenizer.from_file(shared_data / "llama2c" / "tokenizer.model", "llama2")
    assert tok.vocab_size == 32000 and tok.kind == "llama2"
    check_layout(tok)
    desc = tok.save(tmp_path)
    assert (tmp_path / "tokenizer.bin").read_bytes() == (shared_data / "llama2c" / "tokenizer.bin").read_bytes()
    assert load_tokenizer(tmp_path, desc).decode(tok.encode("Hello world")) == "Hello world"
