"""Architecture = graph + the numbers of each scale + per-layer overrides + metadata.

A node's config is stored raw: literal values, or ``"$name"`` references into the scale's
dims. A config field left out is bound to the dim of the same name when the scale has one
(so ``dim``, ``n_heads``, ``vocab_size``, ``context`` are edited in one place).

It holds data and its revision only: edits are the Document's methods (undo commands call
them), and every Config, cost and per-layer variant is worked out once, by
``studio.core.model.resolve.resolve`` (``resolve(arch, scale).config_of(node_id)``).

``Architecture.revision`` is an int that grows on every change: graph events (nodes, edges,
settings, positions), dims, scales, regions, overrides, meta and training, whether made through
``touch()`` or by writing to those containers directly (caught by comparing with a snapshot
when read). ``resolve`` keys its cache on it.
"""
from __future__ import annotations

import copy
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
        """Record a change (the Document's edit methods and graph events call it); returns the new revision."""
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

    def dims(self, scale: str) -> dict:
        if scale not in self.scales:
            have = ", ".join(self.scales) or "none"
            raise E.ConfigError(f"{self.id}: no {scale!r} scale (has: {have})")
        return derived_dims(self.scales[scale])

    def repeat(self, region: str, scale: str) -> int:
        if region not in self.regions:
            return 1
        return int(substitute("$" + self.regions[region], self.dims(scale), f"region {region}"))

    def __deepcopy__(self, memo) -> "Architecture":
        return self.copy()  # a fresh graph with its own signals, and a revision of its own

    def copy(self) -> "Architecture":
        return Architecture(self.id, self.graph.copy(), copy.deepcopy(self.scales), dict(self.regions),
                            copy.deepcopy(self.overrides), copy.deepcopy(self.meta), copy.deepcopy(self.training), self.source)
