"""The tokenizer run.c uses, built from a llama2.c ``tokenizer.bin`` alone.

encode() reproduces run.c's encode() step by step (LLAMA2C-FORMAT.md §6): BOS, the dummy-prefix
" " piece, one lookup per UTF-8 code point with byte fallback to ids byte+3, then repeated
merges of the adjacent pair whose concatenation is the highest-scoring piece (leftmost on ties).
Pieces are compared as C strings (bytes after a NUL are invisible to run.c). decode() returns
what run.c prints: the space after BOS stripped, <0xHH> pieces as raw bytes, and lone
non-printable bytes dropped as its safe_printf does. This is not SentencePiece: where the two
split a prompt differently, callers compare ``encode`` with the run's own tokenizer.
"""
from __future__ import annotations

import struct
from pathlib import Path

from studio.core import errors as E
from studio.core.tokenizers import BOS, EOS, UNK, Tokenizer, register_loader

MAX_TOKEN_LENGTH = 4096  # SentencePiece pieces are at most 16 characters by default; Llama 2's longest is 16 bytes
MAX_VOCAB = 1 << 18
MAX_TOKENIZER_BYTES = 64 << 20
_PRINTABLE = set(range(0x20, 0x7F)) | {0x09, 0x0A, 0x0B, 0x0C, 0x0D}  # C-locale isprint || isspace


def parse_tokenizer_bin(data: bytes, where: str = "tokenizer.bin", vocab_size: int | None = None):
    """(max_token_length, scores, pieces) from tokenizer.bin bytes, every entry checked.

    The file stores no count: run.c reads as many entries as the *model* says. Here the file is
    read to its end, and a count other than ``vocab_size`` is an error (run.c would abort with
    "failed read" on too few and silently pair the wrong files on too many)."""
    if len(data) < 4:
        raise E.LoadError(f"{where}: {len(data)} bytes; a tokenizer.bin starts with a 4-byte max_token_length")
    max_len, = struct.unpack_from("<I", data, 0)
    if max_len > MAX_TOKEN_LENGTH:  # run.c mallocs (max_token_length * 2 + 3) bytes for its merge buffer
        raise E.LoadError(f"{where}: max_token_length {max_len:,} is above {MAX_TOKEN_LENGTH:,}, the longest piece "
                          "this app accepts (run.c would allocate a buffer twice that size)")
    off, scores, pieces = 4, [], []
    while off < len(data):
        i = len(pieces)
        if off + 8 > len(data):
            raise E.LoadError(f"{where}: truncated inside entry {i} (needs 8 bytes for score and length, {len(data) - off} left)")
        score, n = struct.unpack_from("<fi", data, off)
        if n <= 0:
            raise E.LoadError(f"{where}: entry {i} has length {n}; run.c aborts on pieces shorter than 1 byte")
        if i >= MAX_VOCAB:
            raise E.LoadError(f"{where}: more than {MAX_VOCAB:,} tokens, the largest vocabulary this app accepts")
        if off + 8 + n > len(data):
            raise E.LoadError(f"{where}: truncated inside entry {i} (its piece needs {n} bytes, {len(data) - off - 8} left)")
        pieces.append(bytes(data[off + 8: off + 8 + n]))
        scores.append(score)
        off += 8 + n
    if not pieces:
        raise E.LoadError(f"{where}: holds no tokens")
    if vocab_size is not None and len(pieces) != vocab_size:
        raise E.LoadError(f"{where}: {len(pieces)} tokens but the model's vocab_size is {vocab_size}; "
                          "pass the tokenizer.bin that belongs to this model")
    longest = max(len(p) for p in pieces)
    if max_len < longest:
        raise E.LoadError(f"{where}: max_token_length {max_len} is shorter than its longest piece ({longest} bytes); "
                          "run.c would overflow its merge buffer")
    return max_len, scores, pieces


def layout_problems(pieces: list[bytes]) -> list[str]:
    """Every way a vocabulary breaks run.c's assumptions (§6 constraints 1-6); empty when fine."""
    out = []
    if len(pieces) < 259:
        out.append(f"{len(pieces)} tokens; llama2.c needs ≥ 259 (unk, BOS, EOS and the 256 byte pieces)")
    wrong = [i for i in range(3, min(259, len(pieces))) if pieces[i] != f"<0x{i - 3:02X}>".encode()]
    if wrong:
        out.append(f"ids 3..258 must be the byte pieces <0x00>..<0xFF>; id {wrong[0]} is {pieces[wrong[0]]!r}"
                   + (f" (and {len(wrong) - 1} more)" if len(wrong) > 1 else ""))
    if b" " not in pieces:
        out.append('no piece is a single space " ": run.c prepends it to every prompt (dummy prefix)')
    empty = [i for i, p in enumerate(pieces) if not p]
    if empty:
        out.append(f"piece {empty[0]} is empty; run.c cannot read empty pieces")
    nul = [i for i, p in enumerate(pieces) if b"\0" in p]
    if nul:
        out.append(f"piece {nul[0]} contains a NUL byte; run.c sees only the bytes before it")
    seen: dict[bytes, int] = {}
    for i, p in enumerate(pieces):
        c = p.split(b"\0", 1)[0]
        if c in seen:
            out.append(f"pieces {seen[c]} and {i} are the same string {c!r}; run.c's lookup would be ambiguous")
            break
        seen[c] = i
    return out


class Llama2cTokenizer(Tokenizer):
    kind = "llama2c"

    def __init__(self, pieces: list[bytes], scores: list[float], max_token_length: int | None = None,
                 raw: bytes | None = None):
        self.pieces = list(pieces)
        self.scores = [float(s) for s in scores]
        self.vocab_size = len(self.pieces)
        self.max_token_length = max_token_length or max(len(p) for p in self.pieces)
        self._raw = raw
        # run.c builds a sorted table and bsearches C strings; with duplicates its pick is
        # unspecified, so the lowest id wins here (layout_problems reports duplicates)
        self._lookup: dict[bytes, int] = {}
        for i, p in enumerate(self.pieces):
            self._lookup.setdefault(p.split(b"\0", 1)[0], i)
        self._cstr = [p.split(b"\0", 1)[0] for p in self.pieces]

    @classmethod
    def from_bytes(cls, data: bytes, where: str = "tokenizer.bin", vocab_size: int | None = None):
        max_len, scores, pieces = parse_tokenizer_bin(data, where, vocab_size)
        return cls(pieces, scores, max_len, bytes(data))

    @classmethod
    def from_file(cls, path, vocab_size: int | None = None):
        from studio.core.files.schema import read_bytes
        p = Path(path)
        data = read_bytes(p, MAX_TOKENIZER_BYTES, "tokenizer.bin")  # regular files only: a FIFO never blocks
        return cls.from_bytes(data, str(p), vocab_size)

    def to_bytes(self) -> bytes:
        """tokenizer.bin; an imported file's exact bytes when there are any."""
        if self._raw is not None:
            return self._raw
        out = [struct.pack("<I", self.max_token_length)]
        for s, p in zip(self.scores, self.pieces):
            out.append(struct.pack("<fi", s, len(p)) + p)
        return b"".join(out)

    # ------------------------------------------------------------------ Tokenizer interface
    def piece(self, token_id: int) -> str:
        return self.pieces[token_id].decode("utf-8", errors="replace")

    def score(self, token_id: int) -> float:
        return self.scores[token_id]

    def encode(self, text: str, bos: bool = True, eos: bool = False) -> list[int]:
        data = text.encode("utf-8").split(b"\0", 1)[0]  # run.c's prompt is a C string
        ids = [BOS] if bos else []
        if data:
            if b" " not in self._lookup:
                raise E.StudioError('this tokenizer has no " " piece, which run.c prepends to every prompt')
            ids.append(self._lookup[b" "])
        buf = b""
        for k, c in enumerate(data):
            if c & 0xC0 != 0x80:  # not a continuation byte: a new code point starts
                buf = b""
            buf += bytes([c])
            nxt = data[k + 1] if k + 1 < len(data) else 0
            if nxt & 0xC0 == 0x80 and len(buf) < 4:
                continue
            tid = self._lookup.get(buf)
            if tid is None and max(buf) + 3 >= self.vocab_size:
                # run.c would index past its vocabulary here (byte fallback needs ids 3..258)
                raise E.StudioError(f"cannot encode {buf!r}: this tokenizer has {self.vocab_size} tokens, too few for "
                                    "the byte pieces <0x00>..<0xFF> at ids 3..258 that byte fallback needs")
            ids.extend([tid] if tid is not None else [b + 3 for b in buf])
            buf = b""
        cs, sc = self._cstr, self.scores
        while True:  # merge the best-scoring adjacent pair (strictly better wins: leftmost on ties)
            best, best_id, best_i = -1e10, -1, -1
            for i in range(len(ids) - 1):
                tid = self._lookup.get(cs[ids[i]] + cs[ids[i + 1]])
                if tid is not None and sc[tid] > best:
                    best, best_id, best_i = sc[tid], tid, i
            if best_i < 0:
                break
            ids[best_i:best_i + 2] = [best_id]
        if eos:
            ids.append(EOS)
        return ids

    def piece_bytes(self, prev: int, token: int) -> bytes:
        """What run.c's decode(prev, token) + safe_printf write to stdout for one token."""
        p = self._cstr[token]
        if prev == BOS and p[:1] == b" ":
            p = p[1:]
        if p.startswith(b"<0x"):  # sscanf("<0x%02hhX>") accepts 1-2 hex digits
            h = p[3:5]
            n = 2 if len(h) == 2 and all(chr(c) in "0123456789abcdefABCDEF" for c in h) else \
                1 if h[:1] and chr(h[0]) in "0123456789abcdefABCDEF" else 0
            if n:
                p = bytes([int(h[:n], 16)]).split(b"\0", 1)[0]
        if len(p) == 1 and p[0] not in _PRINTABLE:
            return b""
        return p

    def decode_bytes(self, ids: list[int]) -> bytes:
        """run.c's stdout for a token sequence (BOS starts it; BOS inside resets the prefix rule)."""
        out, prev = bytearray(), BOS
        for i, t in enumerate(ids):
            if t == BOS:
                prev = t
                continue
            out += self.piece_bytes(prev, t)
            prev = t
        return bytes(out)

    def decode(self, ids: list[int]) -> str:
        from studio.core.tokenizers import readable_utf8
        return readable_utf8(self.decode_bytes(ids))

    def display_piece(self, token_id: int) -> str:
        if token_id in (UNK, BOS, EOS):
            return super().display_piece(token_id)
        p = self._cstr[token_id]
        if len(p) == 6 and p.startswith(b"<0x") and p.endswith(b">"):
            b = int(p[3:5], 16)
            return chr(b) if 32 <= b < 127 else ("⏎" if b == 10 else f"\\x{b:02x}")
        return p.decode("utf-8", errors="replace").replace("\n", "⏎")

    def save(self, folder: Path) -> dict:
        from studio.core.files.yamlio import atomic_write_bytes
        atomic_write_bytes(Path(folder) / "tokenizer.bin", self.to_bytes())
        return {"kind": self.kind, "vocab_size": self.vocab_size}


@register_loader("llama2c")
def _load(folder: Path, desc: dict) -> Llama2cTokenizer:
    p = Path(folder) / "tokenizer.bin"
    if not p.is_file():
        raise E.LoadError(f"{folder}: no tokenizer.bin for the llama2c tokenizer")
    return Llama2cTokenizer.from_file(p, desc.get("vocab_size"))
