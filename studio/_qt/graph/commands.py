"""Undo commands: every edit of the architecture is one QUndoCommand on the Document.

Commands hold the Document and plain data (ids, kinds, configs, positions), never an editor,
a view or scene items. Each redo/undo is one Document edit method, which bumps the version
and emits ``changed``: the scene, the figures, validation and the title follow from there,
nobody is refreshed by hand. Stacks are per architecture (studio._qt.graph.editing), so a command
only ever runs while its document is on screen.
"""
from __future__ import annotations

import copy

from PySide6.QtGui import QUndoCommand

from studio.core.model.accounting import humanize
from studio.core.model.graph import Edge, Node


def _fmt(v) -> str:
    if v is None:
        return "default"
    if isinstance(v, int) and not isinstance(v, bool) and abs(v) >= 100000:
        return humanize(v)
    return str(v)


class DocumentCommand(QUndoCommand):
    def __init__(self, document, text: str):
        super().__init__(text)
        self.document = document


class AddNode(DocumentCommand):
    def __init__(self, document, node: Node, edges: list[Edge] = ()):
        super().__init__(document, f"Add {node.spec.title}")
        self.node, self.edges = copy.deepcopy(node), list(edges)

    def redo(self):
        self.document.add_node(self.node, self.edges)

    def undo(self):
        self.document.remove_node(self.node.id)


class RemoveNode(DocumentCommand):
    def __init__(self, document, node_id: str):
        node = document.graph.node(node_id)
        super().__init__(document, f"Delete {node.spec.title} ({node_id})")
        self.node_id = node_id
        self.removed = None  # what the removal took away (links, per-layer overrides)

    def redo(self):
        self.removed = self.document.remove_node(self.node_id)

    def undo(self):
        self.document.restore_node(self.removed)


class Connect(DocumentCommand):
    def __init__(self, document, edge: Edge):
        super().__init__(document, f"Connect {edge.src}.{edge.src_port} → {edge.dst}.{edge.dst_port}")
        self.edge = edge

    def redo(self):
        self.document.connect(self.edge.src, self.edge.src_port, self.edge.dst, self.edge.dst_port)

    def undo(self):
        self.document.disconnect(self.edge)


class Disconnect(DocumentCommand):
    def __init__(self, document, edge: Edge):
        super().__init__(document, f"Disconnect {edge.src} → {edge.dst}.{edge.dst_port}")
        self.edge = edge

    def redo(self):
        self.document.disconnect(self.edge)

    def undo(self):
        self.document.connect(self.edge.src, self.edge.src_port, self.edge.dst, self.edge.dst_port)


class SetConfig(DocumentCommand):
    """Change one setting; shown as "Change n_kv_heads 32 → 8"."""

    def __init__(self, document, node_id: str, key: str, new, shown_old=None):
        old = document.graph.node(node_id).config.get(key)
        super().__init__(document, f"Change {key} {_fmt(shown_old if old is None else old)} → {_fmt(new)}")
        self.node_id, self.key, self.old, self.new = node_id, key, old, new

    def redo(self):
        self.document.set_config(self.node_id, self.key, self.new)

    def undo(self):
        self.document.set_config(self.node_id, self.key, self.old)


class SetDim(DocumentCommand):
    """Change a model dimension shared by the blocks (dim, n_layers, vocab_size, context...)."""

    def __init__(self, document, scale: str, key: str, new):
        old = document.architecture.scales[scale].get(key)
        super().__init__(document, f"Change {key} {_fmt(old)} → {_fmt(new)} ({scale})")
        self.scale, self.key, self.old, self.new = scale, key, old, new

    def redo(self):
        self.document.set_dim(self.scale, self.key, self.new)

    def undo(self):
        self.document.set_dim(self.scale, self.key, self.old)


class SetOverrides(DocumentCommand):
    """Replace the per-layer overrides (DeepSeek's leading dense layers and the like)."""

    def __init__(self, document, overrides: list, text: str = "Change per-layer variations"):
        super().__init__(document, text)
        self.new, self.old = copy.deepcopy(list(overrides)), copy.deepcopy(document.architecture.overrides)

    def redo(self):
        self.document.set_overrides(self.new)

    def undo(self):
        self.document.set_overrides(self.old)


class MoveNode(DocumentCommand):
    def __init__(self, document, node_id: str, old: tuple | None, new: tuple):
        super().__init__(document, f"Move {node_id}")
        self.node_id, self.old, self.new = node_id, old, new

    def redo(self):
        self.document.move_node(self.node_id, self.new)

    def undo(self):
        self.document.move_node(self.node_id, self.old)

    def id(self):
        return 7  # consecutive moves of the same block merge into one undo step

    def mergeWith(self, other):
        if not isinstance(other, MoveNode) or other.node_id != self.node_id:
            return False
        self.new = other.new
        return True
