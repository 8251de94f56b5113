"""Validating reader for llama2.c model.bin files (versions 0, 1 and 2).

run.c trusts the header completely (a short file reads past the mmap, a wrong sign silently
picks the wrong classifier), so every check here turns such a file into one LoadError line
naming the file, the field and the expected value.
"""
from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from studio.core import errors as E
from studio.core.formats.llama2c.format import (
    FIELDS, MAGIC, MATRIX_KINDS, V0_HEADER, V12_HEADER, Header, Llama2cModel, dim_problems, freq_cis_tables,
)


def _fail(path, msg: str):
    raise E.LoadError(f"{path}: {msg}")


MAX_MODEL_BYTES = 64 << 30  # a model.bin this app will read into memory at all


def _matrices(h: Header) -> list[int]:
    """Element counts of the weight matrices in file order, by arithmetic (no per-layer entries)."""
    d, hd, kv, L = h.dim, h.hidden_dim, h.kv_dim, h.n_layers
    per_layer = [d * d, kv * d, kv * d, d * d, hd * d, d * hd, hd * d]
    return [h.vocab_size * d] + [L * n for n in per_layer] + ([] if h.shared_classifier else [h.vocab_size * d])


def _body_floats(h: Header, with_freq: bool) -> int:
    norms = (2 * h.n_layers + 1) * h.dim
    return norms + sum(_matrices(h)) + (h.seq_len * h.head_size if with_freq else 0)


def _v2_bytes(h: Header) -> int:
    norms = (2 * h.n_layers + 1) * h.dim * 4
    d, hd, kv, L, gs = h.dim, h.hidden_dim, h.kv_dim, h.n_layers, h.group_size
    per_layer = [d * d, kv * d, kv * d, d * d, hd * d, d * hd, hd * d]
    q = sum(L * (n + 4 * (n // gs)) for n in per_layer)
    emb = h.vocab_size * d
    q += (emb + 4 * (emb // gs)) * (1 if h.shared_classifier else 2)
    return V12_HEADER + norms + q


def expected_size(h: Header) -> int:
    """The exact file size the header implies (checked before anything is allocated)."""
    if h.version == 2:
        return _v2_bytes(h)
    return (V0_HEADER if h.version == 0 else V12_HEADER) + 4 * _body_floats(h, h.version == 0)


def check_header(path, h: Header) -> None:
    """Every field plausible and within the bounds a built model may have, before any allocation."""
    from studio.core.model.bounds import header_problems
    probs = dim_problems(h)
    if probs:
        _fail(path, f"bad header: {probs[0]}")
    big = header_problems(h.dims())
    if big:
        _fail(path, f"bad header: {big[0]}")
    if h.version == 2 and (h.group_size <= 0 or h.dim % h.group_size or h.hidden_dim % h.group_size):
        _fail(path, f"Q8_0 group size {h.group_size} does not divide both dim {h.dim} and hidden_dim {h.hidden_dim}; "
                    "runq would read w2's scales across rows (re-export with a group size dividing both)")


def read_model_file(path) -> tuple[bytes, Header]:
    """A model.bin's bytes, read only after its header has been checked against the file size:
    a 256-byte file claiming 2^31 layers is refused at once, a FIFO or /dev/zero is never read."""
    import os
    import stat

    from studio.core.files.schema import os_reason
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        _fail(path, f"cannot read ({os_reason(exc)})")
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            from studio.core.files.schema import _kind_of
            _fail(path, f"is {_kind_of(st.st_mode)}, not a model.bin file")
        if st.st_size > MAX_MODEL_BYTES:
            _fail(path, f"{st.st_size:,} bytes; this app reads model.bin files up to {MAX_MODEL_BYTES:,} bytes")
        head = os.pread(fd, V12_HEADER, 0)
        h = read_header(path, head, st.st_size)
        check_header(path, h)
        _check_size(path, h, st.st_size)
        with os.fdopen(os.dup(fd), "rb") as fh:
            data = fh.read(st.st_size + 1)
    except OSError as exc:
        _fail(path, f"cannot read ({os_reason(exc)})")
    finally:
        os.close(fd)
    if len(data) != st.st_size:
        _fail(path, "changed size while it was read")
    return data, h


def _check_size(path, h: Header, size: int) -> None:
    want = expected_size(h)
    if size != want:
        hint = ""
        if h.version == 0:
            other = Header(**{**h.__dict__, "shared_classifier": not h.shared_classifier})
            if size == V0_HEADER + 4 * _body_floats(other, True):
                hint = (f"; the size fits an {'untied' if h.shared_classifier else 'tied'} classifier, "
                        f"so the sign of vocab_size is wrong")
        what = "truncated" if size < want else "too long"
        _fail(path, f"{what}: {size:,} bytes but the version-{h.version} header "
                    f"({h.dim}/{h.hidden_dim}/{h.n_layers}/{h.n_heads}/{h.n_kv_heads}/{h.vocab_size}/{h.seq_len}, "
                    f"{'tied' if h.shared_classifier else 'untied'}) needs {want:,}{hint}")


def read_header(path, data: bytes, size: int | None = None) -> Header:
    size = len(data) if size is None else size
    if size < V0_HEADER:
        _fail(path, f"only {size} bytes: too short for a llama2.c header (28 bytes for version 0, 256 for 1/2)")
    magic, = struct.unpack_from("<I", data, 0)
    if magic == MAGIC:
        if size < V12_HEADER:
            _fail(path, f"truncated: {size} bytes, shorter than the 256-byte version 1/2 header")
        version, = struct.unpack_from("<i", data, 4)
        if version not in (1, 2):
            _fail(path, f"llama2.c magic but version {version}; this reads versions 0, 1 and 2")
        vals = struct.unpack_from("<7i", data, 8)
        flag = data[36]
        if flag not in (0, 1):
            _fail(path, f"shared_classifier byte is {flag}; it must be 0 or 1")
        h = Header(*vals, shared_classifier=bool(flag), version=version)
        if version == 2:
            h.group_size, = struct.unpack_from("<i", data, 37)
        if h.vocab_size < 0:
            _fail(path, f"vocab_size {h.vocab_size} is negative; version {version} stores the tie flag separately")
        return h
    vals = list(struct.unpack_from("<7i", data, 0))
    if vals[5] == 0:
        _fail(path, "vocab_size 0 in the version-0 header")
    shared = vals[5] > 0
    vals[5] = abs(vals[5])
    h = Header(*vals, shared_classifier=shared, version=0)
    if h.dim > 1 << 16 or h.n_layers > 1 << 12 or h.n_heads > 1 << 12 or h.seq_len > 1 << 24:
        _fail(path, f"neither the llama2.c magic 0x{MAGIC:08x} nor a plausible version-0 header, so not a llama2.c model.bin "
                    f"({', '.join(f'{k}={v}' for k, v in zip(FIELDS, vals))})")
    return h


def read_model(path, data: bytes | None = None) -> Llama2cModel:
    """Parse and fully validate a model.bin; returns float32 tensors (v2 dequantized)."""
    path = Path(path)
    if data is None:
        data, h = read_model_file(path)
    else:
        h = read_header(path, data)
        check_header(path, h)
        _check_size(path, h, len(data))
    m = _read_body(path, h, data)
    for name, t in m.tensors.items():
        if not np.isfinite(t).all():
            _fail(path, f"{name} contains NaN or infinite values")
    return m


def _read_body(path, h: Header, data: bytes) -> Llama2cModel:
    off = V0_HEADER if h.version == 0 else V12_HEADER
    L = h.n_layers
    tensors: dict[str, np.ndarray] = {}

    def take(n: int, dtype="<f4") -> np.ndarray:
        nonlocal off
        size = np.dtype(dtype).itemsize * n
        a = np.frombuffer(data, dtype=dtype, count=n, offset=off)
        off += size
        return a

    def block(prefix_name: str, shape: tuple):  # one tensor kind for all layers, back to back
        n = int(np.prod(shape))
        a = take(L * n)
        for i in range(L):
            tensors[f"layers.{i}.{prefix_name}"] = a[i * n:(i + 1) * n].reshape(shape)

    def norms_first():
        block("attention_norm.weight", (h.dim,))
        block("ffn_norm.weight", (h.dim,))
        tensors["norm.weight"] = take(h.dim)

    freq = None
    quant: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    if h.version == 0:
        tensors["tok_embeddings.weight"] = take(h.vocab_size * h.dim).reshape(h.vocab_size, h.dim)
        block("attention_norm.weight", (h.dim,))
        for name, shape in MATRIX_KINDS[:4]:
            block(name, shape(h))
        block("ffn_norm.weight", (h.dim,))
        for name, shape in MATRIX_KINDS[4:]:
            block(name, shape(h))
        tensors["norm.weight"] = take(h.dim)
        n = h.seq_len * h.head_size // 2
        start = off
        cos, sin = take(n), take(n)
        freq = (data[start:start + 4 * n], data[start + 4 * n:off])
        ref_cos, ref_sin = freq_cis_tables(h.head_size, h.seq_len)
        # run.c never reads these tables, but finding them where the header says they are
        # proves that every tensor before them has the size the header implies
        if not (np.allclose(cos, ref_cos.reshape(-1), atol=2e-3) and np.allclose(sin, ref_sin.reshape(-1), atol=2e-3)):
            _fail(path, f"the bytes at offset {start:,} are not the RoPE cos/sin tables a version-0 file holds there; "
                        "a tensor before them has another size than the header implies (check hidden_dim and n_kv_heads)")
        if not h.shared_classifier:
            tensors["output.weight"] = take(h.vocab_size * h.dim).reshape(h.vocab_size, h.dim)
    elif h.version == 1:
        norms_first()
        tensors["tok_embeddings.weight"] = take(h.vocab_size * h.dim).reshape(h.vocab_size, h.dim)
        for name, shape in MATRIX_KINDS:
            block(name, shape(h))
        if not h.shared_classifier:
            tensors["output.weight"] = take(h.vocab_size * h.dim).reshape(h.vocab_size, h.dim)
    else:
        norms_first()
        gs = h.group_size

        def qtensor(name, shape):
            n = int(np.prod(shape))
            q = take(n, "i1")
            s = take(n // gs)
            quant[name] = (q, s)
            tensors[name] = (q.reshape(-1, gs).astype(np.float32) * s[:, None]).reshape(shape)

        qtensor("tok_embeddings.weight", (h.vocab_size, h.dim))
        for name, shape in MATRIX_KINDS:
            for i in range(L):
                qtensor(f"layers.{i}.{name}", shape(h))
        if not h.shared_classifier:
            qtensor("output.weight", (h.vocab_size, h.dim))
    return Llama2cModel(h, tensors, freq, quant)
