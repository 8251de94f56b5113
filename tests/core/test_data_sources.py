"""Local data formats, the starter corpus, the split and the pretokenized cache."""
import json

import numpy as np
import pytest

from studio.core import errors as E
from studio.core.data import load_corpus, make_tokenizer, read_stories, split, tokenize_corpus
from studio.core.data.starter import LABEL, starter_stories
from studio.core.tokenizers import BOS
from studio.core.tokenizers.byte_level import ByteTokenizer

STORIES = ["Tom had a red ball.\n\nHe liked it.", "Mia saw a cat.", "The sun was hot. They swam."]


def test_txt_with_endoftext_keeps_paragraphs(tmp_path):
    p = tmp_path / "s.txt"
    p.write_text("\n<|endoftext|>\n".join(STORIES) + "\n<|endoftext|>\n")
    assert read_stories(p) == STORIES


def test_plain_text_splits_on_blank_lines(tmp_path):
    p = tmp_path / "plain.txt"
    p.write_text("First doc line one.\nline two.\n\n  \nSecond doc.\n")
    assert read_stories(p) == ["First doc line one.\nline two.", "Second doc."]


def test_json_and_jsonl_shards_and_folders(tmp_path):
    (tmp_path / "data00.json").write_text(json.dumps([{"story": s, "summary": "x"} for s in STORIES[:2]]))
    (tmp_path / "data01.jsonl").write_text("\n".join(json.dumps({"text": s}) for s in STORIES[2:]) + "\n")
    (tmp_path / "notes.md").write_text("ignored")
    assert read_stories(tmp_path) == STORIES
    (tmp_path / "bad.json").write_text("[{\"nostory\": 1}]")
    with pytest.raises(E.LoadError, match="bad.json: item 0"):
        read_stories(tmp_path)


def test_bad_inputs_are_one_line_errors(tmp_path):
    with pytest.raises(E.LoadError, match="no such file"):
        load_corpus(str(tmp_path / "missing.txt"))
    (tmp_path / "one.txt").write_text("only one story")
    with pytest.raises(E.LoadError, match="at least 2"):
        load_corpus(str(tmp_path / "one.txt"))
    with pytest.raises(E.StudioError, match="data fetch"):
        load_corpus("quick", cache=tmp_path)


def test_default_is_starter_when_nothing_cached_and_clearly_labelled(tmp_path):
    c = load_corpus(None, cache=tmp_path)
    assert c.name == "starter" and not c.is_tinystories and "not TinyStories" in c.label == LABEL
    assert starter_stories(50) == starter_stories(50) and len(set(starter_stories(200))) > 150
    (tmp_path / "TinyStories-valid.txt").write_text("\n<|endoftext|>\n".join(STORIES))
    c = load_corpus(None, cache=tmp_path)
    assert c.name == "quick" and c.is_tinystories and "CDLA-Sharing-1.0" in c.label


def test_split_holds_out_the_tail():
    tr, va = split([f"s{i}" for i in range(100)])
    assert len(va) == 5 and va[0] == "s95" and len(tr) == 95
    tr, va = split(["a", "b"])
    assert tr == ["a"] and va == ["b"]


def test_pretokenized_streams_prefix_each_story_with_bos_and_are_cached(tmp_path):
    c = load_corpus("starter")
    tok = ByteTokenizer()
    d = tokenize_corpus(c, tok, cache=tmp_path)
    tr, va = split(c.stories)
    assert d.train.dtype == np.uint16 and d.val.dtype == np.uint16
    assert int((d.train == BOS).sum()) == len(tr) and d.train[0] == BOS
    assert d.train[1:1 + 5].tolist() == tok.encode(tr[0][:5], bos=False)
    assert len(d.val) == sum(len(s.encode()) + 1 for s in va) and d.val_bytes == len(d.val) - len(va)
    files = sorted((tmp_path / "tokens").glob("*.npy"))
    assert len(files) == 2
    d2 = tokenize_corpus(c, tok, cache=tmp_path)
    assert np.array_equal(d.train, d2.train)
    assert d.bits_per_byte(np.log(2)) == pytest.approx(len(d.val) / d.val_bytes)


def test_bpe_vocabulary_is_trained_on_the_training_split_and_cached(tmp_path):
    c = load_corpus("starter")
    tok = make_tokenizer("bpe", c, 320, cache=tmp_path)
    assert tok.vocab_size == 320 and tok.kind == "bpe"
    assert len(list((tmp_path / "tokenizers").glob("*.model"))) == 1
    again = make_tokenizer("bpe", c, 320, cache=tmp_path)
    assert again.model_bytes == tok.model_bytes
    with pytest.raises(E.StudioError, match="llama2 needs"):
        make_tokenizer("llama2", c)
