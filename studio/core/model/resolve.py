"""Resolve once: every node's per-layer frozen Config and exact costs, cached.

``resolve(arch, scale)`` is the one place where raw node settings (``"$dim"`` references,
fields bound to the scale's dims, per-layer overrides) become frozen ``Config`` objects and
where the registry's cost formulas are applied. Validation, accounting, the compiler, the
llama2.c checker, ``archstudio info`` and the GUI (scene badges, property editor) all read it.

Cached per architecture object (by identity, through a weak reference, so a dropped
architecture frees its entries), ``Architecture.revision`` and scale (and context, for FLOPs
and activations): a scrub back to a milestone or a repeated panel refresh costs one dict
lookup; any edit bumps the revision, so nothing stale is ever returned. Within one resolve,
layers with identical settings share one Config and one cost evaluation, which makes an
80-layer model cost what its distinct layer variants cost.

Calling it (Qt-free, thread-safe to read: everything returned is frozen)::

    from studio.core.model.resolve import resolve
    r = resolve(arch, "paper")                 # Resolved
    rn = r.node("attention")                   # ResolvedNode (KeyError-free: UnknownNodeError)
    rn.config                                  # the node's own Config (as drawn, no per-layer override)
    rn.layer_configs                           # one Config per layer (overrides applied)
    rn.layers[3].kind, rn.layers[3].costs      # LayerVariant: layer, kind, spec, config, costs
    rn.variants                                # distinct Variant(kind, spec, config, costs, layers)
    rn.layers_differ, rn.variant_groups()      # [(layer indices, kind, Config)] when layers differ
    rn.overridden_layers                       # layers not as drawn (the scene's "≠ k/n layers")
    rn.costs.params, rn.costs.active           # Costs summed over all repeats
    rn.error                                   # "" or why its settings do not resolve (config None)
    r.params_total, r.params_active, r.params_embedding, r.params_mtp
    r.kv_elems_per_token, r.flops_per_token, r.act_elems_per_token, r.per_region
    r.errors                                   # {node id: message} of nodes that failed
    try_setting(arch, scale, node_id, key, value)  # (Config | None, problems): the property editor's check

A node whose settings cannot be resolved does not stop the others: it carries ``error`` (and
``require()`` re-raises the original exception), which is how validation lists every problem at
once while accounting and the compiler still fail loudly.
"""
from __future__ import annotations

import dataclasses
import weakref
from dataclasses import dataclass, field, fields, replace
from functools import cached_property
from types import MappingProxyType

from blocks.registry import BlockSpec, get_spec
from studio.core import errors as E
from studio.core.model.architecture import substitute

# Exceptions that mean "this node's settings are wrong" (the rest are bugs and propagate).
SETTING_ERRORS = (E.StudioError, TypeError, ValueError)


@dataclass(frozen=True)
class Costs:
    """Exact costs from the registry formulas (FLOPs and activations at the resolve's context)."""
    params: int = 0
    active: int = 0  # parameters one token uses
    flops: int = 0  # forward FLOPs per token
    kv_elems: int = 0  # cached K/V elements per token
    act_elems: int = 0  # elements saved for backward per token

    def __add__(self, o: "Costs") -> "Costs":
        return Costs(self.params + o.params, self.active + o.active, self.flops + o.flops,
                     self.kv_elems + o.kv_elems, self.act_elems + o.act_elems)

    def times(self, n: int) -> "Costs":
        return Costs(self.params * n, self.active * n, self.flops * n, self.kv_elems * n, self.act_elems * n)

    def as_dict(self) -> dict:
        return {"params": self.params, "active": self.active, "flops": self.flops,
                "kv_elems": self.kv_elems, "act_elems": self.act_elems}


@dataclass(frozen=True)
class LayerVariant:
    layer: int
    kind: str  # may differ from the node's kind (an override that swaps the block)
    spec: BlockSpec
    config: object
    costs: Costs  # this one layer


@dataclass(frozen=True)
class Variant:
    """One distinct setting of a node across its layers (most nodes have exactly one)."""
    kind: str
    spec: BlockSpec
    config: object
    costs: Costs  # one layer
    layers: tuple  # the layer indices that use it


@dataclass(frozen=True)
class ResolvedNode:
    id: str
    kind: str
    region: str
    spec: BlockSpec
    repeats: int  # times the node runs (the region's layer count; 1 outside repeated regions)
    config: object | None  # the node's own settings resolved (no per-layer override)
    variants: tuple = ()  # distinct Variants in order of first layer
    costs: Costs = Costs()  # all repeats (an aux head: plus its copy of the last layer)
    error: str = ""  # why its settings do not resolve ("" = fine)
    exc: BaseException | None = field(default=None, repr=False, compare=False)

    @cached_property
    def layers(self) -> tuple:
        """LayerVariant per repeat (one for a node outside repeated regions); built on first use."""
        out = [None] * sum(len(v.layers) for v in self.variants)
        for v in self.variants:
            for i in v.layers:
                out[i] = LayerVariant(i, v.kind, v.spec, v.config, v.costs)
        return tuple(out)

    @property
    def layer_configs(self) -> tuple:
        return tuple(v.config for v in self.layers)

    @property
    def last(self) -> Variant | None:
        """The variant of the last layer (accounting's and MTP's 'typical' layer)."""
        return max(self.variants, key=lambda v: v.layers[-1]) if self.variants else None

    @property
    def layers_differ(self) -> bool:
        """True when some layer's kind or settings differ from another's (overrides)."""
        return len({(v.kind, v.config) for v in self.variants}) > 1

    @property
    def overridden_layers(self) -> tuple:
        """Layers whose kind or settings differ from the node as drawn (the scene's '≠ k/n' badge)."""
        return tuple(sorted(i for v in self.variants if (v.kind, v.config) != (self.kind, self.config)
                            for i in v.layers))

    def variant_groups(self) -> list[tuple[tuple[int, ...], str, object]]:
        """Distinct (layer indices, kind, Config), in order of first appearance."""
        groups: dict[tuple, list[int]] = {}
        for v in self.variants:
            groups.setdefault((v.kind, v.config), []).extend(v.layers)
        return [(tuple(sorted(ix)), kind, cfg) for (kind, cfg), ix in groups.items()]

    def require(self) -> "ResolvedNode":
        """Self, or raise the error its settings raised."""
        if self.exc is not None:
            raise self.exc.with_traceback(None)
        return self


@dataclass(frozen=True)
class Resolved:
    arch_id: str
    scale: str
    revision: int
    context: int
    dims: MappingProxyType  # the scale's dims, derived ones included
    nodes: MappingProxyType  # node id -> ResolvedNode, graph order
    params_total: int
    params_active: int
    params_embedding: int
    params_mtp: int
    kv_elems_per_token: int
    flops_per_token: int
    act_elems_per_token: int  # all nodes (aux heads included), as the memory estimate counts them
    per_region: MappingProxyType  # region -> {"params", "active", "flops", "repeats"} (aux heads apart)

    def node(self, node_id: str) -> ResolvedNode:
        try:
            return self.nodes[node_id]
        except KeyError:
            raise E.UnknownNodeError(f"no block with id {node_id!r}") from None

    @property
    def errors(self) -> dict[str, str]:
        return {nid: rn.error for nid, rn in self.nodes.items() if rn.error}

    def require(self) -> "Resolved":
        """Self, or raise the first node's settings error (accounting and the compiler need all)."""
        for rn in self.nodes.values():
            rn.require()
        return self

    def with_role(self, role: str) -> list[ResolvedNode]:
        return [rn for rn in self.nodes.values() if rn.spec.has(role)]

    def config_of(self, node_id: str, layer: int | None = None) -> tuple[object, str]:
        """(Config, kind) of a node as drawn, or of one layer's variant (overrides applied);
        raises what resolving the node raised."""
        rn = self.node(node_id).require()
        if layer is None or not 0 <= layer < len(rn.layers):  # a layer no override reaches
            return rn.config, rn.kind
        v = rn.layers[layer]
        return v.config, v.kind

    def variants_of(self, node_id: str) -> list[tuple[int, str, object]]:
        """Every layer's (index, kind, Config) of a node; one entry outside repeated regions."""
        return [(v.layer, v.kind, v.config) for v in self.node(node_id).require().layers]


# ---------------------------------------------------------------------------- the cache
_CACHE: dict[int, tuple[weakref.ref, dict]] = {}
_PER_ARCH = 8  # (scale, context) entries kept for the current revision of one architecture


def _forget(key: int, ref) -> None:
    slot = _CACHE.get(key)
    if slot is not None and slot[0] is ref:
        del _CACHE[key]


def resolve(arch, scale: str, context: int | None = None) -> Resolved:
    """The cached resolution of ``arch`` at ``scale`` (FLOPs/activations at ``context``,
    default the scale's ``context`` dim). Raises ConfigError only for a missing scale or a
    region count that does not resolve; node-level problems are recorded per node."""
    rev = arch.revision
    key = id(arch)
    slot = _CACHE.get(key)
    if slot is None or slot[0]() is not arch:
        slot = (weakref.ref(arch, lambda r, k=key: _forget(k, r)), {})
        _CACHE[key] = slot
    entries = slot[1]
    hit = entries.get((rev, scale, context))
    if hit is None:
        if entries and (next(iter(entries))[0] != rev or len(entries) >= _PER_ARCH):
            entries.clear()  # an edit made every older entry stale
        hit = entries[(rev, scale, context)] = _resolve(arch, scale, context, rev)
    return hit


def cache_clear() -> None:
    _CACHE.clear()


# ---------------------------------------------------------------------------- resolving
def _layer_raws(arch, node, n: int, dims: dict) -> list[tuple[str, dict]] | None:
    """(kind, raw settings) for each of n layers, overrides applied in order; None when no
    override touches the node. Layers that end up alike share one (kind, dict) pair."""
    mine = [(k, ov) for k, ov in enumerate(arch.overrides) if ov.node == node.id]
    if not mine:
        return None
    out = [(node.kind, node.config)] * n
    applied: dict[tuple, tuple] = {}
    for k, ov in mine:
        for i in ov.indices(n, dims):
            if 0 <= i < n:
                key = (id(out[i][1]), out[i][0], k)
                hit = applied.get(key)
                if hit is None:
                    kind, raw = out[i]
                    if ov.kind and ov.kind != kind:
                        kind, raw = ov.kind, {}
                    hit = applied[key] = (kind, {**raw, **ov.config})
                out[i] = hit
    return out


def _costs(spec: BlockSpec, cfg, ctx: int) -> Costs:
    return Costs(spec.params(cfg), spec.active_params(cfg), spec.flops(cfg, ctx),
                 spec.kv_elems(cfg), spec.act_elems(cfg, ctx))


def _resolve_node(arch, node, dims: dict, ctx: int, repeats: dict) -> ResolvedNode:
    spec = get_spec(node.kind)
    try:
        base = resolve_config(node.id, spec, node.config, dims)
        n = 1
        if node.region in arch.regions:
            n = repeats[node.region]
            if isinstance(n, BaseException):
                raise n
        raws = _layer_raws(arch, node, n, dims) if node.region in arch.regions else None
        if raws is None:  # every layer as drawn: one variant
            variants = (Variant(node.kind, spec, base, _costs(spec, base, ctx), tuple(range(n))),) if n else ()
        else:
            groups: dict[int, list] = {}  # identical layers share one Config and one cost evaluation
            for i, (kind, raw) in enumerate(raws):
                hit = groups.get(id(raw))
                if hit is None:
                    lspec = get_spec(kind)
                    cfg = base if raw is node.config and kind == node.kind else resolve_config(node.id, lspec, raw, dims)
                    hit = groups[id(raw)] = [kind, lspec, cfg, _costs(lspec, cfg, ctx), []]
                hit[4].append(i)
            variants = tuple(Variant(k, sp, c, co, tuple(ix)) for k, sp, c, co, ix in groups.values())
    except SETTING_ERRORS as exc:
        return ResolvedNode(node.id, node.kind, node.region, spec, 0, None, (), Costs(), _message(exc), exc)
    total = Costs()
    for v in variants:
        total = total + v.costs.times(len(v.layers))
    return ResolvedNode(node.id, node.kind, node.region, spec, n, base, variants, total)


def _message(exc: BaseException) -> str:
    if isinstance(exc, TypeError):
        return f"bad settings: {exc}"
    return str(exc).split(": ", 1)[-1] if isinstance(exc, E.StudioError) else str(exc)


def _resolve(arch, scale: str, context: int | None, rev: int) -> Resolved:
    dims = arch.dims(scale)
    ctx = int(context or dims.get("context") or 1)
    repeats: dict = {}
    for region in arch.regions:
        try:
            repeats[region] = arch.repeat(region, scale)
        except SETTING_ERRORS as exc:
            repeats[region] = exc
    nodes = {nid: _resolve_node(arch, node, dims, ctx, repeats) for nid, node in arch.graph.nodes.items()}
    # An aux head (MTP) holds one more layer of the model's own kind: its last variant.
    template = sum(rn.last.costs.params for rn in nodes.values() if rn.region == "layer" and rn.variants)
    total = active = emb = mtp = flops = kv = act = 0
    regions: dict[str, dict] = {}
    for nid, rn in nodes.items():
        c = rn.costs
        act += c.act_elems
        if rn.spec.has("aux_head"):
            params = c.params + template
            rn = nodes[nid] = _replace_costs(rn, Costs(params, params, c.flops, c.kv_elems, c.act_elems))
            mtp += params
            continue
        total += c.params
        active += c.active
        flops += c.flops
        kv += c.kv_elems
        if rn.spec.has("embedding_params"):
            emb += c.params
        r = regions.setdefault(rn.region, {"params": 0, "active": 0, "flops": 0, "repeats": rn.repeats})
        r["params"] += c.params
        r["active"] += c.active
        r["flops"] += c.flops
    return Resolved(arch.id, scale, rev, ctx, MappingProxyType(dims), MappingProxyType(nodes), total, active, emb, mtp,
                    kv, flops, act, MappingProxyType({k: MappingProxyType(v) for k, v in regions.items()}))


def _replace_costs(rn: ResolvedNode, costs: Costs) -> ResolvedNode:
    return replace(rn, costs=costs)


def try_setting(arch, scale: str, node_id: str, key: str, value) -> tuple[object | None, list[str]]:
    """What an editor asks before an edit becomes an undo command: the node's own Config with
    ``key`` set to ``value`` (None unsets it) at ``scale``, and every problem with it, each
    naming the node. Never raises for a bad value: (None, [why]) when it does not resolve."""
    node = arch.graph.node(node_id)
    trial = {k: v for k, v in {**node.config, key: value}.items() if v is not None}
    try:
        cfg = resolve_config(node_id, node.spec, trial, arch.dims(scale))
    except SETTING_ERRORS as exc:
        return None, [str(exc)]
    return cfg, [f"{node_id}: {m}" for m in cfg.check()]


def config_dict(cfg) -> dict:
    """A Config as plain {field: value} (JSON-ready)."""
    return {fl.name: getattr(cfg, fl.name) for fl in fields(cfg)}


# ---------------------------------------------------------------------------- one node's settings
def resolve_config(node_id: str, spec, raw: dict, dims: dict):
    """A node's raw settings (literals, ``"$dim"`` references, fields left to follow the dim of
    their name) as the block's frozen Config; one line naming the node for a bad value."""
    where = f"{node_id} ({spec.kind})"
    values = {}
    for fl in dataclasses.fields(spec.config_cls):
        bind = fl.metadata.get("bind", fl.name)  # the dim a field follows when not set
        if fl.name in raw:
            values[fl.name] = coerce(fl, substitute(raw[fl.name], dims, where), where)
        elif bind in dims:
            values[fl.name] = coerce(fl, dims[bind], where)
    unknown = set(raw) - {fl.name for fl in dataclasses.fields(spec.config_cls)}
    if unknown:
        raise E.ConfigError(f"{where}: unknown setting {sorted(unknown)[0]!r}")
    return spec.config_cls(**values)


def coerce(fl: dataclasses.Field, value, where: str):
    """A YAML value as the field's declared type (an int field takes 4.0, never 4.5 or True)."""
    t = fl.type if isinstance(fl.type, str) else getattr(fl.type, "__name__", str(fl.type))
    try:
        if t == "bool":
            if not isinstance(value, bool):
                raise TypeError
            return value
        if t == "int":
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise TypeError
            return int(value)
        if t == "float":
            if isinstance(value, bool):
                raise TypeError
            return float(value)
        if t == "str":
            return str(value)
    except (TypeError, ValueError):
        raise E.ConfigError(f"{where}: {fl.name} must be {t}, got {value!r}") from None
    return value
