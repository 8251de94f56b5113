"""Exact accounting from the block formulas: parameters (total / active / embedding / MTP),
KV-cache bytes per token, forward FLOPs per token, and a training-memory estimate.

Pure Python: no torch, no tensors. The figures come from ``studio.core.model.resolve.resolve``
(cached), which sums repeated regions layer by layer so that per-layer overrides (DeepSeek's
leading dense layers, GShard's every-other MoE) are exact.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from studio.core.model.resolve import resolve

DTYPE_BYTES = {"fp32": 4, "float32": 4, "bf16": 2, "fp16": 2, "fp8": 1, "int8": 1}


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


def layer_template_cost(arch, scale: str, ctx: int | None = None, layer: int | None = None) -> int:
    """Parameters of one layer of the 'layer' region (default: the last, usually the MoE variant)."""
    r = resolve(arch, scale).require()
    return sum((rn.last if layer is None else rn.layers[layer]).costs.params
               for rn in r.nodes.values() if rn.region == "layer" and rn.variants)


def account(arch, scale: str = "paper", kv_dtype: str = "bf16", context: int | None = None) -> Accounting:
    """Package the cached resolution's exact costs (raises the first node's settings error)."""
    r = resolve(arch, scale, context).require()
    per_node = {nid: NodeCost(nid, rn.kind, rn.region, rn.repeats, rn.costs.params, rn.costs.active, rn.costs.flops,
                              rn.costs.kv_elems, rn.costs.act_elems) for nid, rn in r.nodes.items()}
    return Accounting(scale, r.context, r.params_total, r.params_active, r.params_embedding, r.params_mtp,
                      r.kv_elems_per_token * DTYPE_BYTES[kv_dtype], kv_dtype, r.flops_per_token, per_node,
                      {k: dict(v) for k, v in r.per_region.items()})


def kv_cache_bytes(arch, scale: str, tokens: int, kv_dtype: str = "bf16") -> int:
    """Whole KV cache for a sequence of ``tokens``: sliding-window layers keep at most ``window``;
    a block whose cache is not per-token (DeepSeek-V4's compressed attention) says its own total."""
    total = 0
    for rn in resolve(arch, scale).require().nodes.values():
        for v in rn.variants:
            if v.spec.kv_total is not None:
                total += v.spec.kv_total(v.config, tokens) * len(v.layers)
                continue
            per = v.costs.kv_elems
            if per:
                win = getattr(v.config, "window", 0)
                total += per * (min(tokens, win) if win else tokens) * len(v.layers)
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
    act_per_token = resolve(arch, scale, context).act_elems_per_token
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
