"""SentencePiece tokenizers in llama2.c's layout: kind "bpe" (trained on the run's data exactly
with llama2.c's ``train_vocab`` options) and kind "llama2" (the Llama 2 32k ``tokenizer.model``
that the user supplies; archstudio cannot redistribute it). Both are the same class."""
from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path
from typing import Iterable

from studio.core import errors as E
from studio.core.tokenizers import BOS, EOS, UNK, Tokenizer, register_loader

MAX_BPE_VOCAB = 8192
N_SPECIAL = 3  # unk, bos, eos
N_BYTES = 256
BPE_CACHE_VERSION = "bpe-llama2c-v1"
SPACE = "\u2581"  # sentencepiece's ▁


MAX_MODEL_BYTES = 64 << 20  # Llama 2's tokenizer.model is 500 kB


class SentencePieceTokenizer(Tokenizer):
    def __init__(self, model_bytes: bytes, kind: str = "bpe", source: str = "tokenizer.model"):
        import sentencepiece as spm
        self.kind = kind
        self.model_bytes = bytes(model_bytes)
        self.sp = spm.SentencePieceProcessor()
        try:
            self.sp.LoadFromSerializedProto(self.model_bytes)
        except (RuntimeError, OSError) as exc:
            raise E.LoadError(f"{source}: not a SentencePiece model ({str(exc).splitlines()[0][:100]})") from None
        self.vocab_size = self.sp.get_piece_size()
        self._pieces = []
        for i in range(self.vocab_size):
            try:  # the protobuf parses whatever bytes a piece holds; Python reads it as UTF-8
                self._pieces.append(self.sp.id_to_piece(i).replace(SPACE, " "))
            except UnicodeDecodeError:
                raise E.LoadError(f"{source}: piece {i} is not UTF-8 text; the file is damaged "
                                  "(use the tokenizer.model the run was trained with)") from None
        self._scores = [float(self.sp.get_score(i)) for i in range(self.vocab_size)]
        problem = layout_problem(self._pieces)
        if problem:
            raise E.LoadError(f"{source}: {problem}; llama2.c needs unk/BOS/EOS = 0/1/2, byte pieces at 3..258 "
                              "and a ' ' piece (train with byte_fallback=True)")

    @classmethod
    def from_file(cls, path, kind: str = "llama2") -> "SentencePieceTokenizer":
        from studio.core.files.schema import read_bytes
        p = Path(path)
        if not p.exists():
            raise E.LoadError(f"{p}: no such file; pass the SentencePiece tokenizer.model")
        return cls(read_bytes(p, MAX_MODEL_BYTES, "tokenizer.model"), kind, str(p))

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.model_bytes).hexdigest()

    def encode(self, text: str, bos: bool = True, eos: bool = False) -> list[int]:
        ids = self.sp.encode(text) if text else []
        return ([BOS] if bos else []) + list(ids) + ([EOS] if eos else [])

    def encode_batch(self, texts: list[str]) -> list[list[int]]:
        """Many texts at once (sentencepiece runs them in its own threads)."""
        return self.sp.encode(list(texts))

    def piece(self, token_id: int) -> str:
        return self._pieces[token_id]

    def score(self, token_id: int) -> float:
        return self._scores[token_id]

    def save(self, folder: Path) -> dict:
        from studio.core.tokenizers import llama2c_tokenizer_bytes
        from studio.core.files.yamlio import atomic_write_bytes
        folder = Path(folder)
        atomic_write_bytes(folder / "tokenizer.model", self.model_bytes)
        atomic_write_bytes(folder / "tokenizer.bin", llama2c_tokenizer_bytes(self))
        return {"kind": self.kind, "vocab_size": self.vocab_size, "sha256": self.sha256}


def layout_problem(pieces: list[str]) -> str:
    """'' when the vocabulary has llama2.c's layout, else what is wrong."""
    if len(pieces) < N_SPECIAL + N_BYTES:
        return f"only {len(pieces)} pieces (at least {N_SPECIAL + N_BYTES} needed)"
    if pieces[UNK] != "<unk>" or pieces[BOS] != "<s>" or pieces[EOS] != "</s>":
        return f"ids 0/1/2 are {pieces[0]!r}/{pieces[1]!r}/{pieces[2]!r}, not <unk>/<s>/</s>"
    for b in range(N_BYTES):
        if pieces[N_SPECIAL + b] != f"<0x{b:02X}>":
            return f"id {N_SPECIAL + b} is {pieces[N_SPECIAL + b]!r}, not the byte piece <0x{b:02X}>"
    if " " not in pieces:
        return "no ' ' piece"
    return ""


def required_chars(stories: Iterable[str]) -> set[str]:
    """The characters sentencepiece must give a piece each (character_coverage=1.0). Newlines
    never become pieces: llama2.c writes one story per line, so they split sentences."""
    chars: set[str] = set()
    for s in stories:
        chars.update(s)
    chars -= {"\n", "\r"}
    return {SPACE if c == " " else c for c in chars}


def min_vocab_size(stories: Iterable[str]) -> int:
    return N_SPECIAL + N_BYTES + len(required_chars(stories))


def _sentences(stories: Iterable[str]):
    # llama2.c's train_vocab: each story stripped, written one per line, read as input_format=text
    for s in stories:
        for line in s.strip().split("\n"):
            if line.strip():
                yield line


def train_bpe(stories: list[str], vocab_size: int, cache_dir: Path | None = None,
              data_hash: str | None = None) -> SentencePieceTokenizer:
    """A SentencePiece BPE vocabulary of exactly ``vocab_size`` pieces, trained as llama2.c does,
    cached under ``cache_dir`` by the data's content hash."""
    lo = min_vocab_size(stories)
    if vocab_size > MAX_BPE_VOCAB:
        raise E.StudioError(f"BPE vocabulary size {vocab_size} is above the maximum of {MAX_BPE_VOCAB}; choose {lo}..{MAX_BPE_VOCAB}")
    if vocab_size < lo:
        raise E.StudioError(f"BPE vocabulary size {vocab_size} is too small for this data: it needs at least {lo} "
                            f"(3 special + 256 byte pieces + {lo - N_SPECIAL - N_BYTES} distinct characters); "
                            f"choose {lo}..{MAX_BPE_VOCAB}, or --tokenizer byte")
    if data_hash is None:
        h = hashlib.sha256()
        for s in stories:
            h.update(s.encode("utf-8"))
            h.update(b"\0")
        data_hash = h.hexdigest()
    key = hashlib.sha256(f"{BPE_CACHE_VERSION}:{data_hash}:{vocab_size}".encode()).hexdigest()[:24]
    cached = Path(cache_dir) / f"bpe-{vocab_size}-{key}.model" if cache_dir else None
    if cached is not None and cached.is_file():
        try:
            return SentencePieceTokenizer(cached.read_bytes(), "bpe", str(cached))
        except E.LoadError:
            pass  # a damaged cache entry: train again and overwrite it
    import sentencepiece as spm
    buf = io.BytesIO()
    try:
        spm.SentencePieceTrainer.train(
            sentence_iterator=_sentences(stories), model_writer=buf,
            model_type="bpe", vocab_size=vocab_size, self_test_sample_size=0, character_coverage=1.0,
            num_threads=os.cpu_count() or 1, split_digits=True, allow_whitespace_only_pieces=True,
            byte_fallback=True, unk_surface=r" \342\201\207 ", normalization_rule_name="identity",
            minloglevel=2)
    except RuntimeError as exc:
        raise E.StudioError(f"SentencePiece could not train a {vocab_size}-piece vocabulary: {str(exc).splitlines()[0][:160]}") from None
    tok = SentencePieceTokenizer(buf.getvalue(), "bpe", "trained vocabulary")
    if cached is not None:
        from studio.core.files.yamlio import atomic_write_bytes
        atomic_write_bytes(cached, tok.model_bytes)
    return tok


def _load(folder: Path, desc: dict) -> SentencePieceTokenizer:
    from studio.core.files.schema import read_bytes
    p = Path(folder) / "tokenizer.model"
    if not p.is_file():
        raise E.LoadError(f"{p}: missing; the run's SentencePiece tokenizer is needed")
    data = read_bytes(p, MAX_MODEL_BYTES, "tokenizer.model")
    want = desc.get("sha256")
    if isinstance(want, str) and hashlib.sha256(data).hexdigest() != want:
        # a swapped tokenizer.model (32k pieces in a 512-vocab run) would index past the embedding
        raise E.LoadError(f"{p}: is not the tokenizer this run was trained with (its sha256 differs from run.yaml's); "
                          "restore the run's own tokenizer.model")
    tok = SentencePieceTokenizer(data, desc.get("kind", "bpe"), str(p))
    if isinstance(desc.get("vocab_size"), int) and tok.vocab_size != desc["vocab_size"]:
        raise E.LoadError(f"{p}: {tok.vocab_size} pieces but run.yaml records vocab_size {desc['vocab_size']}; "
                          "restore the run's own tokenizer.model")
    return tok


register_loader("bpe")(_load)
register_loader("llama2")(_load)
