"""Train/validation split and pretokenized uint16 token streams, as llama2.c's pretokenize:
each story is ``[BOS] + encode(story)`` (no EOS), all concatenated; batches are random windows
that ignore story boundaries, so the model learns that BOS starts a story.

Token streams are cached by the content hash of the stories and of the tokenizer.
"""
from __future__ import annotations

import hashlib
import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from studio.core import errors as E
from studio.core.data.download import cache_root
from studio.core.data.sources import Corpus
from studio.core.tokenizers import BOS, Tokenizer, llama2c_tokenizer_bytes

VAL_FRACTION = 0.05
TOKEN_CACHE_VERSION = "tokens-v1"
BPE_TRAIN_STORIES = 400_000  # llama2.c trains its vocabulary on the first 10 of 50 shards


@dataclass
class TokenData:
    """What the trainer reads: two token streams and the figures needed for bits per byte."""
    corpus: Corpus
    tokenizer: Tokenizer
    train: np.ndarray      # uint16
    val: np.ndarray        # uint16
    val_bytes: int         # UTF-8 bytes of the validation stories

    @property
    def label(self) -> str:
        return self.corpus.label

    @property
    def val_tokens_per_byte(self) -> float:
        # val loss is a mean over target tokens (BOS included); bpb = loss / ln2 * tokens / bytes
        return len(self.val) / max(1, self.val_bytes)

    def bits_per_byte(self, val_loss: float) -> float:
        return val_loss / math.log(2) * self.val_tokens_per_byte


def split(stories, val_fraction: float = VAL_FRACTION) -> tuple[list[str], list[str]]:
    """The last ``val_fraction`` of the stories (at least one) is held out for validation."""
    stories = list(stories)
    n_val = max(1, int(round(len(stories) * val_fraction)))
    if len(stories) - n_val < 1:
        raise E.StudioError("need at least 2 stories to hold one out for validation")
    return stories[:-n_val], stories[-n_val:]


def tokenizer_hash(tok: Tokenizer) -> str:
    return hashlib.sha256(llama2c_tokenizer_bytes(tok)).hexdigest()


def pretokenize(stories, tok: Tokenizer, cache_dir: Path | None = None, key: str | None = None) -> np.ndarray:
    if tok.vocab_size > 65535:
        raise E.StudioError(f"vocabulary of {tok.vocab_size} does not fit uint16 tokens (max 65535)")
    path = Path(cache_dir) / f"{key}.npy" if cache_dir and key else None
    if path is not None and path.is_file():
        try:
            arr = np.load(path, allow_pickle=False)
            if arr.dtype == np.uint16 and arr.ndim == 1 and (arr.size == 0 or int(arr.max()) < tok.vocab_size):
                return arr  # (a damaged entry's ids past the vocabulary would index past the embedding)
        except (OSError, ValueError):
            pass  # damaged cache entry: tokenize again
    enc = getattr(tok, "encode_batch", None)
    stories = list(stories)
    lists = enc(stories) if enc else [tok.encode(s, bos=False) for s in stories]
    parts = []
    for ids in lists:
        parts.append(np.array([BOS, *ids], dtype=np.uint16))
    arr = np.concatenate(parts) if parts else np.zeros(0, np.uint16)
    if path is not None:
        from studio.core.files.yamlio import atomic_write_bytes
        buf = io.BytesIO()
        np.save(buf, arr, allow_pickle=False)
        atomic_write_bytes(path, buf.getvalue())
    return arr


def make_tokenizer(kind: str, corpus: Corpus, vocab_size: int | None = None, model_path=None,
                   cache: Path | None = None) -> Tokenizer:
    """kind "byte" (259 ids), "bpe" (trained on the corpus' training split, cached), "llama2"
    (the user's Llama 2 tokenizer.model)."""
    cache = Path(cache) if cache else cache_root()
    if kind == "byte":
        from studio.core.tokenizers.byte_level import ByteTokenizer
        return ByteTokenizer()
    if kind == "llama2":
        from studio.core.tokenizers.sentencepiece_bpe import SentencePieceTokenizer
        if not model_path:
            raise E.StudioError("--tokenizer llama2 needs the Llama 2 tokenizer.model (pass --tokenizer-model PATH); "
                                "archstudio cannot distribute it")
        return SentencePieceTokenizer.from_file(model_path, "llama2")
    if kind == "bpe":
        from studio.core.tokenizers.sentencepiece_bpe import train_bpe
        train, _ = split(corpus.stories)
        return train_bpe(train[:BPE_TRAIN_STORIES], int(vocab_size or 512), cache / "tokenizers",
                         data_hash=corpus.sha256 + f":{len(train)}")
    raise E.StudioError(f"unknown tokenizer {kind!r}; choose bpe, byte or llama2")


def tokenize_corpus(corpus: Corpus, tok: Tokenizer, cache: Path | None = None) -> TokenData:
    cache = Path(cache) if cache else cache_root()
    train, val = split(corpus.stories)
    th = tokenizer_hash(tok)
    arrays = []
    for name, part in (("train", train), ("val", val)):
        key = hashlib.sha256(f"{TOKEN_CACHE_VERSION}:{corpus.sha256}:{th}:{VAL_FRACTION}:{name}".encode()).hexdigest()[:32]
        arrays.append(pretokenize(part, tok, cache / "tokens", key))
    val_bytes = sum(len(s.encode("utf-8")) for s in val)
    return TokenData(corpus, tok, arrays[0], arrays[1], val_bytes)
