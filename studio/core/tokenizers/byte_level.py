"""Byte-level tokenizer (MicroGPT-style): exactly 259 ids, llama2.c layout (unk, BOS, EOS, bytes)."""
from __future__ import annotations

from pathlib import Path

from studio.core.tokenizers import BOS, EOS, Tokenizer, register_loader


class ByteTokenizer(Tokenizer):
    kind = "byte"
    vocab_size = 259

    def encode(self, text: str, bos: bool = True, eos: bool = False) -> list[int]:
        ids = [b + 3 for b in text.encode("utf-8")]
        return ([BOS] if bos else []) + ids + ([EOS] if eos else [])

    def piece(self, token_id: int) -> str:
        if token_id == 0:
            return "<unk>"
        if token_id == BOS:
            return "<s>"
        if token_id == EOS:
            return "</s>"
        return f"<0x{token_id - 3:02X}>"

    def score(self, token_id: int) -> float:
        return 0.0

    def display_piece(self, token_id: int) -> str:
        if token_id >= 3:
            b = token_id - 3
            return chr(b) if 32 <= b < 127 else ("⏎" if b == 10 else f"\\x{b:02x}")
        return super().display_piece(token_id)

    def save(self, folder: Path) -> dict:
        from studio.core.tokenizers import llama2c_tokenizer_bytes
        from studio.core.files.yamlio import atomic_write_bytes
        atomic_write_bytes(Path(folder) / "tokenizer.bin", llama2c_tokenizer_bytes(self))
        return {"kind": "byte", "vocab_size": self.vocab_size}


@register_loader("byte")
def _load(folder: Path, desc: dict) -> ByteTokenizer:
    return ByteTokenizer()
