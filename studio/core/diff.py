"""Structural diff between two architectures (the era diff the scene animates and the info
panel lists): nodes added / removed / replaced, config fields changed, edges, dims, overrides."""
from __future__ import annotations

from dataclasses import dataclass, field

from blocks.registry import get_spec


@dataclass
class ArchDiff:
    added: list[str] = field(default_factory=list)  # node ids
    removed: list[str] = field(default_factory=list)
    replaced: dict[str, tuple[str, str]] = field(default_factory=dict)  # id -> (old kind, new kind)
    changed: dict[str, dict[str, tuple]] = field(default_factory=dict)  # id -> {key: (old, new)}
    edges_added: list[str] = field(default_factory=list)
    edges_removed: list[str] = field(default_factory=list)
    dims: dict[str, dict[str, tuple]] = field(default_factory=dict)  # scale -> {dim: (old, new)}
    regions: dict[str, tuple] = field(default_factory=dict)
    overrides_changed: bool = False

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.replaced or self.changed or self.edges_added
                    or self.edges_removed or self.dims or self.regions or self.overrides_changed)

    @property
    def graph_changed(self) -> bool:
        return bool(self.added or self.removed or self.replaced or self.changed or self.edges_added
                    or self.edges_removed or self.regions or self.overrides_changed)

    def describe(self, new_arch=None, scale: str = "paper") -> list[str]:
        """The same diff in words, one short sentence per change."""
        title = (lambda nid, kind: f"{get_spec(kind).title} ({nid})")
        out = []
        for nid, (a, b) in sorted(self.replaced.items()):
            out.append(f"Replaced {get_spec(a).title} with {get_spec(b).title} ({nid})")
        for nid in self.added:
            kind = new_arch.graph.node(nid).kind if new_arch else "?"
            out.append(f"Added {title(nid, kind)}" if kind != "?" else f"Added {nid}")
        for nid in self.removed:
            out.append(f"Removed {nid}")
        for nid, ch in sorted(self.changed.items()):
            for k, (a, b) in sorted(ch.items()):
                out.append(f"{nid}: {k} {_fmt(a)} → {_fmt(b)}")
        if self.edges_added or self.edges_removed:
            out.append(f"Rewired: {len(self.edges_removed)} connection(s) removed, {len(self.edges_added)} added")
        for r, (a, b) in sorted(self.regions.items()):
            out.append(f"Region {r}: {'repeats ' + str(a) if a else 'none'} → {'repeats ' + str(b) if b else 'removed'}")
        if self.overrides_changed:
            out.append("Per-layer variations changed")
        for k, (a, b) in sorted(self.dims.get(scale, {}).items()):
            out.append(f"{k}: {_fmt(a)} → {_fmt(b)}")
        return out


def _fmt(v):
    if v is None:
        return "—"
    if isinstance(v, int) and not isinstance(v, bool) and abs(v) >= 10000:
        return f"{v:,}"
    return str(v)


def diff(a, b) -> ArchDiff:
    d = ArchDiff()
    na, nb = a.graph.nodes, b.graph.nodes
    d.added = [n for n in nb if n not in na]
    d.removed = [n for n in na if n not in nb]
    for nid in set(na) & set(nb):
        if na[nid].kind != nb[nid].kind:
            d.replaced[nid] = (na[nid].kind, nb[nid].kind)
        elif na[nid].config != nb[nid].config:
            keys = set(na[nid].config) | set(nb[nid].config)
            d.changed[nid] = {k: (na[nid].config.get(k), nb[nid].config.get(k)) for k in keys
                              if na[nid].config.get(k) != nb[nid].config.get(k)}
    ea, eb = {str(e) for e in a.graph.edges}, {str(e) for e in b.graph.edges}
    d.edges_added, d.edges_removed = sorted(eb - ea), sorted(ea - eb)
    for scale in set(a.scales) | set(b.scales):
        da, db = a.scales.get(scale, {}), b.scales.get(scale, {})
        ch = {k: (da.get(k), db.get(k)) for k in set(da) | set(db) if da.get(k) != db.get(k)}
        if ch:
            d.dims[scale] = ch
    d.regions = {r: (a.regions.get(r), b.regions.get(r)) for r in set(a.regions) | set(b.regions)
                 if a.regions.get(r) != b.regions.get(r)}
    d.overrides_changed = [o.__dict__ for o in a.overrides] != [o.__dict__ for o in b.overrides]
    return d
