"""Sane upper bounds for a model's dims, named in every message.

Two tiers: any scale (the paper scale is only accounted, never built, so it may be large) and
the scale that is instantiated (classroom; a run.yaml's trained dims; an imported llama2.c
header), which must fit a laptop. Without them ``n_layers: 1000000000`` hung info (one config
per layer) and ``context: 2147483648`` asked for 172 GB of RoPE tables.
"""
from __future__ import annotations

import math

K = 1024
# dim name -> (min, max) for any scale
ANY_SCALE = {
    "n_layers": (1, 1024), "n_enc_layers": (1, 1024),
    "dim": (1, 128 * K), "hidden_dim": (1, K * K), "dense_hidden_dim": (1, K * K), "expert_hidden_dim": (1, K * K),
    "n_heads": (1, K), "n_kv_heads": (1, K), "head_dim": (1, 64 * K), "rope_head_dim": (1, 64 * K),
    "vocab_size": (1, 2 * K * K), "context": (1, 16 * K * K), "local_window": (1, 16 * K * K),
    "n_experts": (1, 16 * K), "top_k": (1, K), "n_shared": (0, K), "first_k_dense": (0, 1024),
    "kv_lora_rank": (1, 64 * K), "q_lora_rank": (0, 64 * K),  # 0: full-rank queries (DeepSeek-V2-Lite)
    "qk_nope_head_dim": (1, 64 * K),
    "qk_rope_head_dim": (1, 64 * K), "v_head_dim": (1, 64 * K),
}
# tighter maxima for a scale that is built as a torch module
BUILT_SCALE = {
    "n_layers": 256, "n_enc_layers": 256, "dim": 16 * K, "hidden_dim": 128 * K, "dense_hidden_dim": 128 * K,
    "expert_hidden_dim": 128 * K, "n_heads": 256, "n_kv_heads": 256, "vocab_size": 256 * K, "context": 128 * K,
    "local_window": 128 * K, "n_experts": K, "top_k": 64,
}
BUILT_SCALES = ("classroom",)
GENERIC_MAX = 1 << 40  # any other integer dim or config value (keeps arithmetic and repr sane)


def _problem(name: str, v, lo: int, hi: int, scale: str, built: bool) -> str | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, float):
        if not math.isfinite(v):
            return f"{name} is {v}; it must be a finite number"
        if not v.is_integer():
            return None if name not in ANY_SCALE else f"{name} must be a whole number, got {v}"
        v = int(v)
    if not isinstance(v, int):
        return f"{name} must be a whole number, got {v!r:.40}" if name in ANY_SCALE else None
    if v < lo:
        return f"{name} {v} is below the minimum {lo}"
    if v > hi:
        what = f"the largest the {scale} scale can build" if built else "the largest this app accepts"
        return f"{name} {v:,} is above {hi:,}, {what}"
    return None


def dim_bounds(name: str, scale: str, layer_dims: set[str] = frozenset()) -> tuple[int, int, bool]:
    """(min, max, built) of a dim. A dim that a region repeats by (``regions: {layer: X}``) is a
    layer count whatever its name: ``regions: {layer: context}`` with a context of 16 M would
    otherwise build 16 M layers, so its maximum is also the layer count's."""
    built = scale in BUILT_SCALES
    lo, hi = ANY_SCALE.get(name, (-GENERIC_MAX, GENERIC_MAX))
    if name in layer_dims:
        lo, hi = max(lo, ANY_SCALE["n_layers"][0]), min(hi, ANY_SCALE["n_layers"][1])
    if built:
        hi = min(hi, BUILT_SCALE.get(name, hi))
        if name in layer_dims:
            hi = min(hi, BUILT_SCALE["n_layers"])
    return lo, hi, built


def _repeat_problem(name: str, v, lo: int, hi: int, regions_by_dim: dict, scale: str, built: bool) -> str | None:
    """A repeat count's own message: which region repeats by it, and the layer bound."""
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or lo <= v <= hi:
        return None
    region = regions_by_dim[name]
    if v < lo:
        return f"{name} {v} repeats the {region} region; a region needs at least {lo} layer"
    what = f"the most layers the {scale} scale can build" if built else "the most layers a region may repeat"
    return f"{name} {int(v):,} repeats the {region} region: above {hi:,}, {what}"


def scale_problems(scales: dict, regions: dict | None = None) -> list[tuple[str, str]]:
    """[(path, message)] for every dim outside its bound; path like ``scales.classroom.n_layers``."""
    regions_by_dim = {str(v): str(r) for r, v in (regions or {"layer": "n_layers"}).items() if v is not None}
    out = []
    for sc, dims in scales.items():
        for name, v in dims.items():
            if v is None:  # a child preset removing a dim
                continue
            lo, hi, built = dim_bounds(name, sc, set(regions_by_dim))
            msg = _problem(name, v, lo, hi, sc, built)
            if msg and name in regions_by_dim and name not in ("n_layers", "n_enc_layers"):
                msg = _repeat_problem(name, v, lo, hi, regions_by_dim, sc, built) or msg
            if msg:
                out.append((f"scales.{sc}.{name}", msg))
    return out


def config_value_problem(name: str, v) -> str | None:
    """A node config literal (not a $ref): the same bound as the dim of that name, any scale."""
    if isinstance(v, str) and v.startswith("$"):
        return None  # a reference to a dim: the dim itself is bounded
    if isinstance(v, (list, str)):
        return None
    lo, hi = ANY_SCALE.get(name, (-GENERIC_MAX, GENERIC_MAX))
    return _problem(name, v, lo, hi, "any", False)


def header_problems(dims: dict) -> list[str]:
    """An imported llama2.c header's dims against the built-scale bounds (its model is built)."""
    out = []
    for name, v in dims.items():
        lo, hi, built = dim_bounds(name, "classroom")
        msg = _problem(name, v, lo, hi, "classroom", built)
        if msg:
            out.append(msg)
    return out
