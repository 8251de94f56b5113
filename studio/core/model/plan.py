"""Execution plan of an architecture: which regions repeat, where the stream enters and leaves.

Each repeated region (``encoder``, ``layer``) is contracted to one step; the stream enters it
through hidden- or streams-typed edges from non-repeated regions (one source) and leaves through one exit
node. Other edges into a region (RoPE tables, the encoder's output into cross-attention) are
broadcasts: the same value for every repetition.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx

from studio.core import errors as E

STREAM_TYPES = ("hidden", "streams")  # the residual stream: one vector, or mHC's hc_mult of them


@dataclass
class RegionPlan:
    name: str
    repeat_key: str
    order: list[str]  # node ids, topological
    entry: tuple[str, str] | None = None  # (source node, port) outside the region
    entry_targets: list[tuple[str, str]] = field(default_factory=list)  # (node, port) inside
    exit: tuple[str, str] | None = None  # (node, port) inside whose last value leaves
    broadcasts: list[tuple[str, str, str, str]] = field(default_factory=list)  # src, sport, dst, dport


@dataclass
class Plan:
    steps: list[tuple[str, str]]  # ("node", id) or ("region", name)
    regions: dict[str, RegionPlan]


def _ptype(graph, node_id, port):
    return graph.node(node_id).spec.output(port).type


def build_plan(arch) -> Plan:
    graph = arch.graph
    repeated = {r: k for r, k in arch.regions.items() if any(n.region == r for n in graph.nodes.values())}
    region_of = {n.id: n.region for n in graph.nodes.values()}

    def unit(nid):
        return ("region", region_of[nid]) if region_of[nid] in repeated else ("node", nid)

    cond = nx.DiGraph()
    for nid in graph.nodes:
        cond.add_node(unit(nid))
    for e in graph.edges:
        a, b = unit(e.src), unit(e.dst)
        if a != b:
            cond.add_edge(a, b)
    try:
        steps = list(nx.lexicographical_topological_sort(cond, key=lambda u: (u[0] == "region", u[1])))
    except nx.NetworkXUnfeasible:
        raise E.CycleError(f"{arch.id}: the regions depend on each other in a cycle") from None

    plans = {}
    for r, key in repeated.items():
        members = [n for n in graph.topological_order() if region_of[n] == r]
        rp = RegionPlan(r, key, members)
        inside = set(members)
        for e in graph.edges:
            if e.dst in inside and e.src not in inside:
                stream = _ptype(graph, e.src, e.src_port) in STREAM_TYPES and region_of[e.src] not in repeated
                if stream:
                    if rp.entry and rp.entry != (e.src, e.src_port):
                        raise E.GraphEditError(f"region {r}: the stream enters from two places ({rp.entry[0]} and {e.src}); feed it from one block")
                    rp.entry = (e.src, e.src_port)
                    rp.entry_targets.append((e.dst, e.dst_port))
                else:
                    rp.broadcasts.append((e.src, e.src_port, e.dst, e.dst_port))
            if e.src in inside and e.dst not in inside:
                if rp.exit and rp.exit != (e.src, e.src_port):
                    raise E.GraphEditError(f"region {r}: the stream leaves from two blocks ({rp.exit[0]} and {e.src}); one block must end each layer")
                rp.exit = (e.src, e.src_port)
        plans[r] = rp
    return Plan(steps, plans)
