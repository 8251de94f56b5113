"""llama2.c-compatible tokenizers: ids 0/1/2 = unk/BOS/EOS, 3..258 = bytes <0x00>..<0xFF>.

Every tokenizer implements :class:`Tokenizer`; a run folder stores its description
(``{"kind": ..., ...}``) in run.yaml and its files in ``tokenizer/``. Loaders register by kind.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Callable

from studio.core import errors as E

UNK, BOS, EOS = 0, 1, 2


class Tokenizer(ABC):
    kind: str = ""
    vocab_size: int = 0
    bos_id: int = BOS
    eos_id: int = EOS

    @abstractmethod
    def encode(self, text: str, bos: bool = True, eos: bool = False) -> list[int]:
        """Token ids of text (BOS first when asked)."""

    @abstractmethod
    def piece(self, token_id: int) -> str:
        """The piece as llama2.c's tokenizer.bin stores it (▁ shown as a space; <0xHH> kept)."""

    @abstractmethod
    def score(self, token_id: int) -> float:
        """The merge score written to tokenizer.bin (higher = merged earlier)."""

    @abstractmethod
    def save(self, folder: Path) -> dict:
        """Write what the tokenizer needs into folder; return its description for run.yaml."""

    def decode(self, ids: list[int]) -> str:
        """Text as llama2.c's run prints it: BOS dropped, the dummy-prefix space after BOS
        stripped, <0xHH> pieces turned back into bytes (complete UTF-8 only: readable_utf8)."""
        out = bytearray()
        prev = BOS
        for t in ids:
            if t == BOS:
                prev = t
                continue
            p = self.piece(t)
            if prev == BOS and p.startswith(" "):
                p = p[1:]
            if len(p) == 6 and p.startswith("<0x") and p.endswith(">"):
                try:
                    out.append(int(p[3:5], 16))
                    prev = t
                    continue
                except ValueError:
                    pass
            out += p.encode("utf-8")
            prev = t
        return readable_utf8(bytes(out))

    def display_piece(self, token_id: int) -> str:
        """A short label for plots (attention axes)."""
        p = self.piece(token_id)
        return {BOS: "<s>", EOS: "</s>", UNK: "<unk>"}.get(token_id, p.replace("\n", "⏎"))


def readable_utf8(data: bytes, final: bool = False) -> str:
    """Text of a token stream's bytes with no mojibake: only complete UTF-8 characters are
    decoded; a byte that cannot start or continue one is shown as ``\\xHH`` (never U+FFFD);
    unless ``final``, an incomplete character at the end is held back (the next token may
    complete it, and a sample cut there has nothing readable to show)."""
    import codecs
    return codecs.getincrementaldecoder("utf-8")(errors="backslashreplace").decode(data, final=final)


LOADERS: dict[str, Callable[[Path, dict], Tokenizer]] = {}


def register_loader(kind: str):
    def deco(fn):
        LOADERS[kind] = fn
        return fn
    return deco


def load_tokenizer(folder: Path, desc: dict) -> Tokenizer:
    kind = desc.get("kind", "")
    if kind not in LOADERS:
        # loaders live in sibling modules; import them on demand
        import importlib
        for mod in ("sentencepiece_bpe", "byte_level", "llama2c_bin"):
            try:
                importlib.import_module(f"studio.core.tokenizers.{mod}")
            except ModuleNotFoundError as exc:
                if not (exc.name or "").startswith("studio.core.tokenizers"):
                    raise
    if kind not in LOADERS:
        raise E.LoadError(f"{folder}: unknown tokenizer kind {kind!r} (known: {', '.join(sorted(LOADERS)) or 'none'})")
    return LOADERS[kind](Path(folder), desc)


def llama2c_tokenizer_bytes(tok: Tokenizer) -> bytes:
    """tokenizer.bin in llama2.c's layout: uint32 max_token_length, then per id: float32 score,
    int32 len, bytes. BOS/EOS are written as llama2.c's tokenizer.py writes them."""
    import struct
    pieces = []
    for i in range(tok.vocab_size):
        p = {BOS: "\n<s>\n", EOS: "\n</s>\n"}.get(i, tok.piece(i))
        b = p.encode("utf-8")
        if not b:
            raise E.StudioError(f"tokenizer piece {i} is empty; llama2.c cannot read empty pieces")
        pieces.append((tok.score(i), b))
    out = [struct.pack("<I", max(len(b) for _, b in pieces))]
    for s, b in pieces:
        out.append(struct.pack("<fi", float(s), len(b)) + b)
    return b"".join(out)
