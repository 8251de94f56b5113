"""Exact accounting from the block formulas: parameters (total / active / embedding / MTP),
KV-cache bytes per token, forward FLOPs per token, and a training-memory estimate.

Pure Python: no torch, no tensors. Repeated regions are summed layer by layer so that
per-layer overrides (DeepSeek's leading dense layers, GShard's every-other MoE) are exact.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from blocks.registry import get_spec

DTYPE_BYTES = {"fp32": 4, "float32": 4, "bf16": 2, "fp16": 2, "fp8": 1, "int8": 1}
EMBEDDING_KINDS = ("token_embedding", "learned_positions")


@dataclass
class NodeCost:
    node: str
    kind: str
    region: str
    repeats: int
    params: int = 0  # over all repeats
    active: int = 0
    flops: int = 0
    kv_elems: int = 0  # per token, all repeats
    act_elems: int = 0  # saved for backward per token, all repeats


@dataclass
class Accounting:
    scale: str
    context: int
    params_total: int
    params_active: int
    params_embedding: int
    params_mtp: int
    kv_cache_bytes_per_token: int
    kv_dtype: str
    flops_per_token: int
    per_node: dict[str, NodeCost] = field(default_factory=dict)
    per_region: dict[str, dict] = field(default_factory=dict)

    @property
    def params_non_embedding(self) -> int:
        return self.params_total - self.params_embedding

    def as_dict(self) -> dict:
        d = asdict(self)
        d["params_non_embedding"] = self.params_non_embedding
        return d


def _layer_cost(arch, nid: str, scale: str, ctx: int) -> NodeCost:
    node = arch.graph.node(nid)
    variants = arch.variants(nid, scale)
    cost = NodeCost(nid, node.kind, node.region, len(variants))
    for _, kind, cfg in variants:
        spec = get_spec(kind)
        cost.params += spec.params(cfg)
        cost.active += spec.active_params(cfg)
        cost.flops += spec.flops(cfg, ctx)
        cost.kv_elems += spec.kv_elems(cfg)
        cost.act_elems += spec.act_elems(cfg, ctx)
    return cost


def layer_template_cost(arch, scale: str, ctx: int, layer: int | None = None) -> int:
    """Parameters of one layer of the 'layer' region (default: the last, usually the MoE variant)."""
    n = arch.repeat("layer", scale)
    i = n - 1 if layer is None else layer
    total = 0
    for nid, node in arch.graph.nodes.items():
        if node.region == "layer":
            cfg, kind = arch.config(nid, scale, i)
            total += get_spec(kind).params(cfg)
    return total


def account(arch, scale: str = "paper", kv_dtype: str = "bf16", context: int | None = None) -> Accounting:
    dims = arch.dims(scale)
    ctx = int(context or dims.get("context") or 1)
    per_node = {nid: _layer_cost(arch, nid, scale, ctx) for nid in arch.graph.nodes}
    total = active = emb = mtp = flops = kv = 0
    regions: dict[str, dict] = {}
    for nid, c in per_node.items():
        spec = get_spec(arch.graph.node(nid).kind)
        if spec.kind == "mtp":
            c.params += layer_template_cost(arch, scale, ctx)
            c.active = c.params
            mtp += c.params
            continue
        total += c.params
        active += c.active
        flops += c.flops
        kv += c.kv_elems
        if c.kind in EMBEDDING_KINDS:
            emb += c.params
        r = regions.setdefault(c.region, {"params": 0, "active": 0, "flops": 0, "repeats": c.repeats})
        r["params"] += c.params
        r["active"] += c.active
        r["flops"] += c.flops
    return Accounting(scale, ctx, total, active, emb, mtp, kv * DTYPE_BYTES[kv_dtype], kv_dtype, flops, per_node, regions)


def kv_cache_bytes(arch, scale: str, tokens: int, kv_dtype: str = "bf16") -> int:
    """Whole KV cache for a sequence of ``tokens``: sliding-window layers keep at most ``window``."""
    total = 0
    for nid in arch.graph.nodes:
        for _, kind, cfg in arch.variants(nid, scale):
            per = get_spec(kind).kv_elems(cfg)
            if per:
                win = getattr(cfg, "window", 0)
                total += per * (min(tokens, win) if win else tokens)
    return total * DTYPE_BYTES[kv_dtype]


def training_memory(arch, scale: str, batch: int, context: int, dtype: str = "fp32",
                    optimizer: str = "adamw") -> dict:
    """Estimate of peak training memory: weights, gradients, optimizer state and activations.

    Activations count the tensors each block keeps for its backward pass (registry
    ``act_elems``), per token, times batch × context.
    """
    acc = account(arch, scale, context=context)
    b = DTYPE_BYTES[dtype]
    n = acc.params_total + acc.params_mtp
    weights = n * b
    grads = n * b
    opt = n * 4 * (2 if optimizer == "adamw" else 1 if optimizer == "sgd-momentum" else 0)
    act_per_token = sum(c.act_elems for c in acc.per_node.values())
    activations = act_per_token * batch * context * b
    return {"weights": weights, "gradients": grads, "optimizer": opt, "activations": activations,
            "total": weights + grads + opt + activations}


def compute_optimal(params: float, tokens_per_param: float = 20.0) -> dict:
    """Chinchilla's rule of thumb: D ≈ 20·N tokens, training compute C ≈ 6·N·D FLOPs."""
    d = tokens_per_param * params
    return {"params": params, "tokens": d, "flops": 6 * params * d}


def humanize(n: float | None, unit: str = "") -> str:
    if n is None:
        return "undisclosed"
    for div, suf in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
        if abs(n) >= div:
            return f"{n / div:.4g} {suf}{unit}".rstrip()
    return f"{n:g} {unit}".rstrip()


def human_bytes(n: float | None) -> str:
    if n is None:
        return "undisclosed"
    for div, suf in ((1 << 40, "TiB"), (1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")):
        if abs(n) >= div:
            return f"{n / div:.4g} {suf}"
    return f"{int(n)} B"
