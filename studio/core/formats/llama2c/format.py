"""llama2.c model.bin: writers (v0 fp32 for ``run``, v1 fp32, v2 Q8_0 for ``runq``) and a validating reader.

Layouts follow the shared notes LLAMA2C-FORMAT.md §2-§4. Tensors travel as float32 numpy arrays
keyed by llama2.c's model.py names (``tok_embeddings.weight``, ``layers.3.attention.wq.weight``,
``norm.weight``, ``output.weight``), which are also the LLaMA-2 preset's state-dict keys.
run.c validates nothing (it mmaps and trusts the header), so the reader checks everything a
foreign file could get wrong and says which field is wrong in one line.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field

import numpy as np

from studio.core import errors as E

MAGIC = 0x616B3432  # bytes "24ka" on disk
V0_HEADER, V12_HEADER = 28, 256
FIELDS = ("dim", "hidden_dim", "n_layers", "n_heads", "n_kv_heads", "vocab_size", "seq_len")
LAYER_KINDS = (  # (name inside a layer, shape function) in llama2.c's grouped order
    ("attention.wq.weight", lambda h: (h.dim, h.dim)),
    ("attention.wk.weight", lambda h: (h.kv_dim, h.dim)),
    ("attention.wv.weight", lambda h: (h.kv_dim, h.dim)),
    ("attention.wo.weight", lambda h: (h.dim, h.dim)),
)
FFN_KINDS = (
    ("feed_forward.w1.weight", lambda h: (h.hidden_dim, h.dim)),
    ("feed_forward.w2.weight", lambda h: (h.dim, h.hidden_dim)),
    ("feed_forward.w3.weight", lambda h: (h.hidden_dim, h.dim)),
)
MATRIX_KINDS = LAYER_KINDS + FFN_KINDS


@dataclass
class Header:
    dim: int
    hidden_dim: int
    n_layers: int
    n_heads: int
    n_kv_heads: int
    vocab_size: int  # always positive here; v0 stores the tie flag in its sign
    seq_len: int
    shared_classifier: bool = True
    version: int = 0
    group_size: int = 0  # v2 only

    @property
    def head_size(self) -> int:
        return self.dim // self.n_heads

    @property
    def kv_dim(self) -> int:
        return self.n_kv_heads * self.head_size

    def dims(self) -> dict:
        return {"dim": self.dim, "hidden_dim": self.hidden_dim, "n_layers": self.n_layers, "n_heads": self.n_heads,
                "n_kv_heads": self.n_kv_heads, "vocab_size": self.vocab_size, "context": self.seq_len}


@dataclass
class Llama2cModel:
    header: Header
    tensors: dict[str, np.ndarray]  # float32 (dequantized for v2)
    freq_cis: tuple[bytes, bytes] | None = None  # v0's cos/sin tables exactly as stored
    quantized: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)  # v2: name -> (int8, scales)
    max_quant_error: float = 0.0


def freq_cis_tables(head_size: int, seq_len: int) -> tuple[np.ndarray, np.ndarray]:
    """cos/sin tables as llama2.c's export.py computes them (float32 arithmetic, as torch does there)."""
    import torch
    freqs = 1.0 / (10000.0 ** (torch.arange(0, head_size, 2)[: head_size // 2].float() / head_size))
    ang = torch.outer(torch.arange(seq_len, device=freqs.device), freqs).float()
    return torch.cos(ang).numpy(), torch.sin(ang).numpy()


def expected_shapes(h: Header) -> dict[str, tuple[int, ...]]:
    out = {"tok_embeddings.weight": (h.vocab_size, h.dim)}
    for i in range(h.n_layers):
        out[f"layers.{i}.attention_norm.weight"] = (h.dim,)
        out[f"layers.{i}.ffn_norm.weight"] = (h.dim,)
        for name, shape in MATRIX_KINDS:
            out[f"layers.{i}.{name}"] = shape(h)
    out["norm.weight"] = (h.dim,)
    if not h.shared_classifier:
        out["output.weight"] = (h.vocab_size, h.dim)
    return out


def dim_problems(h: Header) -> list[str]:
    """What is impossible about a header's dims (empty when they describe a runnable model)."""
    bad = [f"{k} {getattr(h, k)}" for k in FIELDS if getattr(h, k) <= 0]
    if bad:
        return [f"non-positive {', '.join(bad)}"]
    out = []
    if h.dim % h.n_heads:
        out.append(f"dim {h.dim} is not divisible by n_heads {h.n_heads}")
    elif h.head_size % 2:
        out.append(f"head size {h.head_size} (dim / n_heads) is odd; RoPE rotates pairs")
    if h.n_kv_heads > h.n_heads or h.n_heads % h.n_kv_heads:
        out.append(f"n_heads {h.n_heads} is not a multiple of n_kv_heads {h.n_kv_heads}")
    return out


# ----------------------------------------------------------------------------- writing
def _f32(a) -> bytes:
    return np.ascontiguousarray(a, dtype="<f4").tobytes()


def _check_tensors(h: Header, tensors: dict) -> None:
    probs = dim_problems(h)
    if probs:
        raise E.StudioError(f"cannot export: {probs[0]}")
    for name, shape in expected_shapes(h).items():
        if name not in tensors:
            raise E.StudioError(f"cannot export: tensor {name} is missing")
        if tuple(tensors[name].shape) != shape:
            raise E.StudioError(f"cannot export: {name} has shape {tuple(tensors[name].shape)}, the header needs {shape}")


def encode_v0(h: Header, tensors: dict, freq_cis: tuple[bytes, bytes] | None = None) -> bytes:
    _check_tensors(h, tensors)
    L = range(h.n_layers)
    vocab = h.vocab_size if h.shared_classifier else -h.vocab_size
    parts = [struct.pack("<7i", h.dim, h.hidden_dim, h.n_layers, h.n_heads, h.n_kv_heads, vocab, h.seq_len),
             _f32(tensors["tok_embeddings.weight"])]
    parts += [_f32(tensors[f"layers.{i}.attention_norm.weight"]) for i in L]
    for name, _ in LAYER_KINDS:
        parts += [_f32(tensors[f"layers.{i}.{name}"]) for i in L]
    parts += [_f32(tensors[f"layers.{i}.ffn_norm.weight"]) for i in L]
    for name, _ in FFN_KINDS:
        parts += [_f32(tensors[f"layers.{i}.{name}"]) for i in L]
    parts.append(_f32(tensors["norm.weight"]))
    n = h.seq_len * h.head_size // 2
    if freq_cis is not None and len(freq_cis[0]) == len(freq_cis[1]) == 4 * n:
        parts += list(freq_cis)  # an imported file's own bytes, so import → export is byte-identical
    else:
        parts += [_f32(t) for t in freq_cis_tables(h.head_size, h.seq_len)]
    if not h.shared_classifier:
        parts.append(_f32(tensors["output.weight"]))
    return b"".join(parts)


def _header_v12(h: Header, version: int) -> bytes:
    b = struct.pack("<Ii7iB", MAGIC, version, h.dim, h.hidden_dim, h.n_layers, h.n_heads, h.n_kv_heads,
                    h.vocab_size, h.seq_len, int(h.shared_classifier))
    if version == 2:
        b += struct.pack("<i", h.group_size)
    return b + b"\0" * (V12_HEADER - len(b))


def _norms_first(h: Header, tensors: dict) -> list[bytes]:
    L = range(h.n_layers)
    return ([_f32(tensors[f"layers.{i}.attention_norm.weight"]) for i in L]
            + [_f32(tensors[f"layers.{i}.ffn_norm.weight"]) for i in L] + [_f32(tensors["norm.weight"])])


def encode_v1(h: Header, tensors: dict) -> bytes:
    _check_tensors(h, tensors)
    parts = [_header_v12(h, 1)] + _norms_first(h, tensors) + [_f32(tensors["tok_embeddings.weight"])]
    for name, _ in MATRIX_KINDS:
        parts += [_f32(tensors[f"layers.{i}.{name}"]) for i in range(h.n_layers)]
    if not h.shared_classifier:
        parts.append(_f32(tensors["output.weight"]))
    return b"".join(parts)


def pick_group_size(dim: int, hidden_dim: int, requested: int | None = None, largest: int = 64) -> int:
    """Q8_0 group size: must divide dim and hidden_dim, or runq silently misreads w2 (§4)."""
    import math
    g = math.gcd(dim, hidden_dim)
    if requested:
        if requested <= 0 or dim % requested or hidden_dim % requested:
            raise E.StudioError(f"group size {requested} must divide both dim {dim} and hidden_dim {hidden_dim} "
                                f"(runq quantizes activations in such groups); use a divisor of {g}")
        return requested
    best = max(d for d in range(1, min(g, largest) + 1) if g % d == 0)
    if best < 2:
        raise E.StudioError(f"no Q8_0 group size > 1 divides both dim {dim} and hidden_dim {hidden_dim}; "
                            f"export fp32 (without --quantize) or change hidden_dim to share a factor with dim")
    return best


def quantize_q80(w: np.ndarray, gs: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Symmetric int8 per group of gs consecutive values: value ≈ q · scale, scale = max|w| / 127."""
    flat = np.asarray(w, dtype=np.float32).reshape(-1, gs)
    scale = np.abs(flat).max(axis=1) / np.float32(127.0)
    safe = np.where(scale > 0, scale, np.float32(1.0))  # an all-zero group keeps q = 0, scale = 0
    q = np.clip(np.rint(flat / safe[:, None]), -127, 127).astype(np.int8)
    err = float(np.abs(q.astype(np.float32) * scale[:, None] - flat).max()) if flat.size else 0.0
    return q.reshape(-1), scale.astype(np.float32), err


def encode_v2(h: Header, tensors: dict) -> tuple[bytes, float]:
    """The Q8_0 file and the largest absolute dequantization error over all weights."""
    _check_tensors(h, tensors)
    h.group_size = pick_group_size(h.dim, h.hidden_dim, h.group_size or None)
    parts = [_header_v12(h, 2)] + _norms_first(h, tensors)
    worst = 0.0
    names = ["tok_embeddings.weight"] + [f"layers.{i}.{n}" for n, _ in MATRIX_KINDS for i in range(h.n_layers)]
    if not h.shared_classifier:
        names.append("output.weight")
    for name in names:
        q, s, err = quantize_q80(tensors[name], h.group_size)
        parts += [q.tobytes(), s.astype("<f4").tobytes()]
        worst = max(worst, err)
    return b"".join(parts), worst


def write_model(path, h: Header, tensors: dict, version: int = 0, freq_cis=None) -> dict:
    """Write model.bin atomically; returns {"bytes", "version", "group_size", "max_quant_error"}."""
    from studio.core.files.yamlio import atomic_write_bytes
    data, info = encode_model(h, tensors, version, freq_cis)
    atomic_write_bytes(path, data)
    return info


def encode_model(h: Header, tensors: dict, version: int = 0, freq_cis=None) -> tuple[bytes, dict]:
    """model.bin's bytes and {"bytes", "version", "group_size", "max_quant_error"} (nothing written)."""
    err = 0.0
    if version == 0:
        data = encode_v0(h, tensors, freq_cis)
    elif version == 1:
        data = encode_v1(h, tensors)
    elif version == 2:
        data, err = encode_v2(h, tensors)
    else:
        raise E.StudioError(f"llama2.c version {version} does not exist (0 = run, 1, 2 = runq Q8_0)")
    return data, {"bytes": len(data), "version": version, "group_size": h.group_size if version == 2 else 0,
                  "max_quant_error": err}


def tensors_from_state_dict(sd: dict, h: Header, key_of=None) -> dict[str, np.ndarray]:
    """float32 numpy tensors in llama2.c names from a state dict; ``key_of`` maps a llama2.c name to its key."""
    out = {}
    for name in expected_shapes(h):
        key = key_of(name) if key_of else name
        if key not in sd:
            raise E.StudioError(f"cannot export: the checkpoint has no {key}")
        out[name] = sd[key].detach().float().cpu().contiguous().numpy()
    return out
