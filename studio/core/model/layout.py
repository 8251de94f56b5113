"""Layered layout of an architecture graph (Qt-free; networkx only).

Regions are columns read left to right (stem, encoder, layer, head), the way the model runs
(an encoder-decoder's decoder-side stem stands between the encoder and the decoder);
inside a region each connected chain is a column of blocks ordered by their longest-path
depth, so a transformer layer reads top to bottom like the diagrams in the papers, with the
residual skips as arcs beside it. The head starts level with the layer stack's exit so the
stream's last edge stays short.

Stability: when the graph changes, the new layout is moved as a whole so that most blocks
whose kind, region and wiring are unchanged keep their previous position (scrubbing must not
shuffle what did not change), while the regions keep their own arrangement (no drift over a
long session); a position the user set (``Node.pos``) always wins.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx

REGION_ORDER = ("stem", "encoder", "layer", "head")
NODE_W, NODE_H = 190.0, 68.0
COL, ROW = 250.0, 100.0  # grid pitch
REGION_GAP = 120.0  # room for residual arcs and frame labels between region columns


@dataclass
class Layout:
    pos: dict[str, tuple[float, float]] = field(default_factory=dict)  # top-left of each node
    signature: dict[str, tuple] = field(default_factory=dict)  # what "unchanged" compares

    def rect(self, node_id: str) -> tuple[float, float, float, float]:
        x, y = self.pos[node_id]
        return x, y, NODE_W, NODE_H

    def bounds(self, ids=None) -> tuple[float, float, float, float] | None:
        ids = list(self.pos) if ids is None else [i for i in ids if i in self.pos]
        if not ids:
            return None
        xs = [self.pos[i][0] for i in ids]
        ys = [self.pos[i][1] for i in ids]
        return min(xs), min(ys), max(xs) + NODE_W, max(ys) + NODE_H


def node_signature(graph, node_id: str) -> tuple:
    return signatures(graph)[node_id]


def signatures(graph) -> dict[str, tuple]:
    """(kind, region, inputs, outputs) of every node, in one pass over the edges."""
    ins: dict[str, list] = {nid: [] for nid in graph.nodes}
    outs: dict[str, list] = {nid: [] for nid in graph.nodes}
    for e in graph.edges:  # sorted, so the tuples are deterministic
        ins[e.dst].append((e.src, e.src_port, e.dst_port))
        outs[e.src].append((e.dst, e.dst_port, e.src_port))
    return {nid: (n.kind, n.region, tuple(ins[nid]), tuple(outs[nid])) for nid, n in graph.nodes.items()}


_GRID_CACHE: dict[tuple, dict] = {}


def _region_grid(graph, members: list[str]) -> dict[str, tuple[int, int]]:
    """(column, row) of each member: one column group per connected chain, rows by depth.
    Cached by the region's structure: scrubbing revisits the same few shapes again and again."""
    inside = set(members)
    edges = [(e.src, e.dst) for e in graph.edges if e.src in inside and e.dst in inside]
    key = (tuple(members), tuple(edges), tuple(graph.node(v).spec.has("input") for v in members))
    hit = _GRID_CACHE.get(key)
    if hit is None:
        if len(_GRID_CACHE) > 2048:
            _GRID_CACHE.clear()
        hit = _GRID_CACHE[key] = _compute_grid(graph, members, edges)
    return hit


def _compute_grid(graph, members: list[str], edges) -> dict[str, tuple[int, int]]:
    sub = nx.DiGraph()
    sub.add_nodes_from(members)
    sub.add_edges_from(edges)
    order = list(nx.lexicographical_topological_sort(sub)) if nx.is_directed_acyclic_graph(sub) else sorted(members)
    depth = {}
    for v in order:
        depth[v] = max((depth[u] + 1 for u in sub.predecessors(v) if u in depth), default=0)
    # chains in order of their first node's position in the topological order
    rank = {v: i for i, v in enumerate(order)}
    # the token stream's chain (it starts at an input block) first, side tables (RoPE) after it
    comps = sorted(nx.weakly_connected_components(sub),
                   key=lambda c: (not any(graph.node(v).spec.has("input") for v in c), -len(c), min(rank[v] for v in c)))
    grid, col0 = {}, 0
    prev = None  # (first column, last row) of the previous chain
    for comp in comps:
        by_depth: dict[int, list[str]] = {}
        for v in sorted(comp, key=lambda v: rank[v]):
            by_depth.setdefault(depth[v], []).append(v)
        if len(comp) == 1 and prev is not None:  # a lone table (RoPE) goes under the chain before it
            (v,) = comp
            grid[v] = (prev[0], prev[1] + 1)
            prev = (prev[0], prev[1] + 1)
            continue
        width = max(len(vs) for vs in by_depth.values())
        for d, vs in by_depth.items():
            for i, v in enumerate(vs):
                grid[v] = (col0 + i, d)
        prev = (col0, max(by_depth))
        col0 += width
    return grid


def _bands(graph) -> list[tuple[str, list[str]]]:
    """(region, members) column groups, left to right. An encoder-decoder model's stem is split:
    the chains that feed the decoder stand between the encoder and the decoder, so their edges
    do not cross the encoder's frame (2017, GShard: the target tokens' embedding sat left of
    the encoder and its links ran across it)."""
    by_region = {r: [nid for nid, n in graph.nodes.items() if n.region == r] for r in REGION_ORDER}
    dec_stem: list[str] = []
    if by_region["encoder"] and by_region["layer"] and by_region["stem"]:
        stem = set(by_region["stem"])
        sub = nx.Graph()
        sub.add_nodes_from(stem)
        sub.add_edges_from((e.src, e.dst) for e in graph.edges if e.src in stem and e.dst in stem)
        for comp in nx.connected_components(sub):
            into = {graph.node(e.dst).region for e in graph.edges if e.src in comp and e.dst not in stem}
            if "layer" in into and "encoder" not in into:
                dec_stem += [nid for nid in by_region["stem"] if nid in comp]
    bands = [("stem", [n for n in by_region["stem"] if n not in dec_stem]), ("encoder", by_region["encoder"]),
             ("stem", dec_stem), ("layer", by_region["layer"]), ("head", by_region["head"])]
    return [(r, members) for r, members in bands if members]


def compute_layout(graph, previous: Layout | None = None) -> Layout:
    """Positions for every node of ``graph`` (an ArchGraph)."""
    out = Layout()
    out.signature = signatures(graph)
    canon: dict[str, tuple[float, float]] = {}  # the layout of this graph alone
    right = None  # right edge of the previous region column
    layer_exit_y = 0.0
    for r, members in _bands(graph):
        grid = _region_grid(graph, members)
        ox = 0.0 if right is None else right + REGION_GAP
        oy = layer_exit_y if r == "head" else 0.0
        for nid, (c, row) in grid.items():
            node = graph.node(nid)
            canon[nid] = (float(node.pos[0]), float(node.pos[1])) if node.pos is not None else (ox + c * COL, oy + row * ROW)
        right = max(canon[n][0] for n in members) + NODE_W
        if r in ("layer", "encoder"):
            layer_exit_y = max(layer_exit_y, max(canon[n][1] for n in members))
    # Stability: the whole graph moves by one translation that keeps most unchanged blocks where
    # they were. One for the whole graph, not one per region: per-region shifts kept a region
    # where a neighbour had pushed it, and a long session drifted the stem rows away from the
    # layer stack (9,400 px after 3,000 random steps; the Transformer's inputs ≈ 450 px low).
    keep = sorted(nid for nid, node in graph.nodes.items() if node.pos is None and previous is not None
                  and nid in previous.pos and previous.signature.get(nid) == out.signature[nid])
    dx = dy = 0.0
    if keep:
        dx = sorted(previous.pos[n][0] - canon[n][0] for n in keep)[len(keep) // 2]
        dy = sorted(previous.pos[n][1] - canon[n][1] for n in keep)[len(keep) // 2]
    for nid, (x, y) in canon.items():
        out.pos[nid] = (x, y) if graph.node(nid).pos is not None else (x + dx, y + dy)
    return out
