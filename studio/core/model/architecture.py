"""Architecture = graph + the numbers of each scale + per-layer overrides + metadata.

A node's config is stored raw: literal values, or ``"$name"`` references into the scale's
dims. A config field left out is bound to the dim of the same name when the scale has one
(so ``dim``, ``n_heads``, ``vocab_size``, ``context`` are edited in one place).

``Architecture.revision`` is an int that grows on every change: graph events (nodes, edges,
settings, positions), dims, scales, regions, overrides, meta and training, whether made through
the edit methods here (``set_dim``, ``set_scale``, ``set_overrides``, ``set_meta``, ``touch``) or
by writing to those containers directly (caught by comparing with a snapshot when read).
``studio.core.model.resolve.resolve`` keys its cache on it.
"""
from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field


from studio.core import errors as E
from studio.core.model.graph import ArchGraph

SCALES = ("paper", "classroom")


@dataclass
class Override:
    """Replace a layer node's kind and/or settings in some layers (DeepSeek's leading dense layers)."""
    layers: str | list  # "0:3", "1::2", ":$first_k_dense" or explicit indices
    node: str
    kind: str | None = None
    config: dict = field(default_factory=dict)

    def indices(self, n_layers: int, dims: dict) -> list[int]:
        if isinstance(self.layers, list):
            return [int(i) for i in self.layers if 0 <= int(i) < n_layers]
        parts = [substitute(p.strip(), dims, f"override of {self.node}") if p.strip() else None
                 for p in str(self.layers).split(":")]
        if len(parts) == 1:
            return [int(parts[0])]
        bounds = [None if p is None else int(p) for p in parts]
        if len(bounds) == 3 and bounds[2] == 0:  # slice() raises a bare ValueError on it
            raise E.ConfigError(f"override of {self.node}: layers {str(self.layers)!r}: a slice's step cannot be 0")
        return list(range(n_layers))[slice(*bounds)]


def substitute(value, dims: dict, where: str):
    """Resolve a ``"$name"`` reference against dims (other values pass through)."""
    if isinstance(value, str) and value.startswith("$"):
        name = value[1:]
        if name not in dims:
            raise E.ConfigError(f"{where}: refers to ${name}, which this scale does not define; add {name} to the scale's dims")
        return dims[name]
    return value


def derived_dims(dims: dict) -> dict:
    out = dict(dims)
    if "rope_head_dim" not in out and out.get("dim") and out.get("n_heads"):
        out["rope_head_dim"] = out.get("head_dim") or out["dim"] // out["n_heads"]
    out.setdefault("n_kv_heads", out.get("n_heads"))
    return out


def coerce(fl: dataclasses.Field, value, where: str):
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


_STATE = ("scales", "regions", "overrides", "meta", "training")


@dataclass
class Architecture:
    id: str
    graph: ArchGraph
    scales: dict[str, dict] = field(default_factory=dict)
    regions: dict[str, str] = field(default_factory=lambda: {"layer": "n_layers"})
    overrides: list[Override] = field(default_factory=list)
    meta: dict = field(default_factory=dict)
    training: dict = field(default_factory=dict)  # stages, tokens, precision...: shown, not run
    source: str = ""  # file or preset id it came from

    # ------------------------------------------------------------------ revision
    def __setattr__(self, name, value):
        object.__setattr__(self, name, value)
        if name == "graph":  # (re)subscribe: every graph event is a change
            value.changed.connect(self.touch)
            value.node_moved.connect(self._moved)
        if name in ("graph", "id", "source") + _STATE:
            self.touch()

    def touch(self) -> int:
        """Record a change (the edit methods and graph events call it); returns the new revision."""
        rev = self.__dict__.get("_rev", 0) + 1
        object.__setattr__(self, "_rev", rev)
        object.__setattr__(self, "_snapshot", None)
        return rev

    def _moved(self, *_):
        self.touch()

    @property
    def revision(self) -> int:
        """Grows on every change. Direct writes into scales/regions/overrides/meta/training are
        found by comparing with a deep snapshot (a few µs; the snapshot is retaken on change)."""
        snap = self.__dict__.get("_snapshot")
        now = tuple(getattr(self, k) for k in _STATE)
        if snap is None or snap != now:
            if snap is not None:
                self.touch()
            object.__setattr__(self, "_snapshot", copy.deepcopy(now))
        return self.__dict__.get("_rev", 0)

    def set_dim(self, scale: str, key: str, value) -> object:
        """Set (or with None remove) one dim of a scale; returns the old value."""
        dims = self.scales.setdefault(scale, {})
        old = dims.get(key)
        if value is None:
            dims.pop(key, None)
        else:
            dims[key] = value
        self.touch()
        return old

    def set_scale(self, scale: str, dims: dict) -> None:
        self.scales[scale] = dict(dims)
        self.touch()

    def set_overrides(self, overrides: list) -> None:
        self.overrides[:] = list(overrides)
        self.touch()

    def set_meta(self, key: str, value) -> None:
        if value is None:
            self.meta.pop(key, None)
        else:
            self.meta[key] = value
        self.touch()

    def dims(self, scale: str) -> dict:
        if scale not in self.scales:
            have = ", ".join(self.scales) or "none"
            raise E.ConfigError(f"{self.id}: no {scale!r} scale (has: {have})")
        return derived_dims(self.scales[scale])

    def repeat(self, region: str, scale: str) -> int:
        if region not in self.regions:
            return 1
        return int(substitute("$" + self.regions[region], self.dims(scale), f"region {region}"))

    def layer_variant(self, node_id: str, scale: str, layer: int) -> tuple[str, dict]:
        """(kind, raw config) of a layer node in one layer, overrides applied."""
        node = self.graph.node(node_id)
        kind, raw = node.kind, dict(node.config)
        dims = self.dims(scale)
        n = self.repeat(node.region, scale)
        for ov in self.overrides:
            if ov.node == node_id and layer in ov.indices(n, dims):
                if ov.kind and ov.kind != kind:
                    kind, raw = ov.kind, {}
                raw.update(ov.config)
        return kind, raw

    def config(self, node_id: str, scale: str, layer: int | None = None):
        """(Config, kind) of a node (of one layer's variant when ``layer`` is given); read from
        the cached ``resolve(self, scale)``, raising what resolving the node raised."""
        from studio.core.model.resolve import resolve
        rn = resolve(self, scale).node(node_id)
        if layer is None:
            return rn.require().config, rn.kind
        if node_id in self.graph.nodes and self.graph.node(node_id).region in self.regions \
                and 0 <= layer < len(rn.require().layers):
            v = rn.layers[layer]
            return v.config, v.kind
        from blocks.registry import get_spec  # a layer outside the region (rare): resolve it here
        kind, raw = self.layer_variant(node_id, scale, layer)
        return resolve_config(node_id, get_spec(kind), raw, self.dims(scale)), kind

    def variants(self, node_id: str, scale: str) -> list[tuple[int, str, object]]:
        """Every layer's (index, kind, Config) for a node; one entry for non-repeated regions."""
        from studio.core.model.resolve import resolve
        rn = resolve(self, scale).node(node_id).require()
        return [(v.layer, v.kind, v.config) for v in rn.layers]

    def __deepcopy__(self, memo) -> "Architecture":
        return self.copy()  # a fresh graph with its own signals, and a revision of its own

    def copy(self) -> "Architecture":
        return Architecture(self.id, self.graph.copy(), copy.deepcopy(self.scales), dict(self.regions),
                            copy.deepcopy(self.overrides), copy.deepcopy(self.meta), copy.deepcopy(self.training), self.source)


def resolve_config(node_id: str, spec, raw: dict, dims: dict):
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
