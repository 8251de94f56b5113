"""ArchGraph: the evented, Qt-free block graph (nodes with typed ports, regions, edges).

Views subscribe to the psygnal signals and mirror the graph; every edit goes through the
methods here so that impossible edits raise a typed error before anything changes.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field

import networkx as nx
from psygnal import Signal

from blocks.registry import get_spec, UnknownBlockKind
from studio.core import errors as E

REGIONS = ("stem", "encoder", "layer", "head")


@dataclass
class Node:
    id: str
    kind: str
    region: str = "layer"
    config: dict = field(default_factory=dict)  # raw values; strings "$name" refer to the scale's dims
    pos: tuple[float, float] | None = None

    @property
    def spec(self):
        return get_spec(self.kind)


@dataclass(frozen=True, order=True)
class Edge:
    src: str
    src_port: str
    dst: str
    dst_port: str

    def __str__(self):
        return f"{self.src}.{self.src_port} -> {self.dst}.{self.dst_port}"


class ArchGraph:
    node_added = Signal(object)  # Node
    node_removed = Signal(object)  # Node
    edge_added = Signal(object)  # Edge
    edge_removed = Signal(object)  # Edge
    config_changed = Signal(str, str, object, object)  # node id, key, old, new
    node_moved = Signal(str, object)  # node id, (x, y)
    changed = Signal()  # any structural or config change

    def __init__(self):
        self._nodes: dict[str, Node] = {}
        self._edges: set[Edge] = set()

    # ------------------------------------------------------------------ reading
    @property
    def nodes(self) -> dict[str, Node]:
        return self._nodes

    @property
    def edges(self) -> list[Edge]:
        return sorted(self._edges)

    def node(self, node_id: str) -> Node:
        try:
            return self._nodes[node_id]
        except KeyError:
            raise E.UnknownNodeError(f"no block with id {node_id!r}") from None

    def in_edges(self, node_id: str) -> list[Edge]:
        return sorted(e for e in self._edges if e.dst == node_id)

    def out_edges(self, node_id: str) -> list[Edge]:
        return sorted(e for e in self._edges if e.src == node_id)

    def input_edge(self, node_id: str, port: str) -> Edge | None:
        return next((e for e in self._edges if e.dst == node_id and e.dst_port == port), None)

    def nx(self) -> nx.MultiDiGraph:
        g = nx.MultiDiGraph()
        for n in self._nodes.values():
            g.add_node(n.id, kind=n.kind, region=n.region)
        for e in self._edges:
            g.add_edge(e.src, e.dst, src_port=e.src_port, dst_port=e.dst_port)
        return g

    def topological_order(self) -> list[str]:
        return list(nx.lexicographical_topological_sort(self.nx()))

    def copy(self) -> "ArchGraph":
        g = ArchGraph()
        g._nodes = {k: copy.deepcopy(v) for k, v in self._nodes.items()}
        g._edges = set(self._edges)
        return g

    def __eq__(self, other):
        return isinstance(other, ArchGraph) and self._edges == other._edges and {
            k: (n.kind, n.region, n.config) for k, n in self._nodes.items()
        } == {k: (n.kind, n.region, n.config) for k, n in other._nodes.items()}

    # ------------------------------------------------------------------ editing
    def add_node(self, node: Node) -> Node:
        if not node.id.isidentifier():
            raise E.GraphEditError(f"block id {node.id!r} must be a Python identifier (letters, digits, _)")
        if node.id in self._nodes:
            raise E.GraphEditError(f"a block with id {node.id!r} already exists")
        if node.region not in REGIONS:
            raise E.GraphEditError(f"{node.id}: unknown region {node.region!r}; use one of {', '.join(REGIONS)}")
        try:
            spec = get_spec(node.kind)
        except UnknownBlockKind as exc:
            raise E.GraphEditError(f"{node.id}: {exc.args[0]}") from None
        node.kind = spec.kind
        check_config_keys(node.id, spec, node.config)
        self._nodes[node.id] = node
        self.node_added.emit(node)
        self.changed.emit()
        return node

    def remove_node(self, node_id: str) -> tuple[Node, list[Edge]]:
        node = self.node(node_id)
        dropped = [e for e in self.edges if node_id in (e.src, e.dst)]
        for e in dropped:
            self.disconnect(e)
        del self._nodes[node_id]
        self.node_removed.emit(node)
        self.changed.emit()
        return node, dropped

    def check_connect(self, src: str, src_port: str, dst: str, dst_port: str) -> Edge:
        """Raise the typed reason an edge cannot be added; return the Edge if it can."""
        a, b = self.node(src), self.node(dst)
        out = a.spec.output(src_port)
        if out is None:
            raise E.UnknownPortError(f"{src} has no output port {src_port!r} (outputs: {', '.join(p.name for p in a.spec.outputs) or 'none'})")
        inp = b.spec.input(dst_port)
        if inp is None:
            raise E.UnknownPortError(f"{dst} has no input port {dst_port!r} (inputs: {', '.join(p.name for p in b.spec.inputs) or 'none'})")
        if out.type != inp.type:
            raise E.PortTypeError(f"cannot connect {src}.{src_port} ({out.type}) to {dst}.{dst_port} ({inp.type}): port types differ")
        edge = Edge(src, src_port, dst, dst_port)
        if edge in self._edges:
            raise E.DuplicateEdgeError(f"{edge} already exists")
        taken = self.input_edge(dst, dst_port)
        if taken is not None:
            raise E.InputTakenError(f"{dst}.{dst_port} is already fed by {taken.src}.{taken.src_port}; disconnect it first")
        if src == dst or nx.has_path(self.nx(), dst, src):
            raise E.CycleError(f"connecting {src} -> {dst} would make a cycle; blocks must flow one way (layers repeat by region, not by loops)")
        return edge

    def can_connect(self, src: str, src_port: str, dst: str, dst_port: str) -> bool:
        try:
            self.check_connect(src, src_port, dst, dst_port)
            return True
        except E.GraphEditError:
            return False

    def connect(self, src: str, src_port: str, dst: str, dst_port: str) -> Edge:
        edge = self.check_connect(src, src_port, dst, dst_port)
        self._edges.add(edge)
        self.edge_added.emit(edge)
        self.changed.emit()
        return edge

    def disconnect(self, edge: Edge) -> None:
        if edge not in self._edges:
            raise E.GraphEditError(f"there is no edge {edge}")
        self._edges.discard(edge)
        self.edge_removed.emit(edge)
        self.changed.emit()

    def set_config(self, node_id: str, key: str, value) -> object:
        node = self.node(node_id)
        check_config_keys(node_id, node.spec, {key: value})
        old = node.config.get(key)
        if value is None:
            node.config.pop(key, None)
        else:
            node.config[key] = value
        self.config_changed.emit(node_id, key, old, value)
        self.changed.emit()
        return old

    def move_node(self, node_id: str, pos: tuple[float, float]) -> None:
        self.node(node_id).pos = (float(pos[0]), float(pos[1]))
        self.node_moved.emit(node_id, self.node(node_id).pos)


def check_config_keys(node_id: str, spec, config: dict) -> None:
    from dataclasses import fields
    known = {f.name for f in fields(spec.config_cls)}
    for key in config:
        if key not in known:
            raise E.ConfigError(f"{node_id}: {spec.kind} has no setting {key!r}; known: {', '.join(sorted(known)) or 'none'}")
