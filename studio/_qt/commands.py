"""Undo commands: every edit of the architecture is one QUndoCommand on the core model.

Commands hold plain data (ids, kinds, configs, positions), never scene items, so undo/redo
restore exactly the previous graph and the scene follows through the graph's events.
"""
from __future__ import annotations

import copy

from PySide6.QtGui import QUndoCommand

from studio.core.accounting import humanize
from studio.core.graph import Edge, Node


def _fmt(v) -> str:
    if v is None:
        return "default"
    if isinstance(v, int) and not isinstance(v, bool) and abs(v) >= 100000:
        return humanize(v)
    return str(v)


class ArchCommand(QUndoCommand):
    def __init__(self, editor, text: str):
        super().__init__(text)
        self.editor = editor
        self.arch = editor.model.arch  # the architecture this edit belongs to (stacks are per model)

    def _done(self):
        self.editor.edited(self.arch)


class AddNode(ArchCommand):
    def __init__(self, editor, node: Node, edges: list[Edge] = ()):
        super().__init__(editor, f"Add {node.spec.title}")
        self.node, self.edges = copy.deepcopy(node), list(edges)

    def redo(self):
        self.arch.graph.add_node(copy.deepcopy(self.node))
        for e in self.edges:
            self.arch.graph.connect(e.src, e.src_port, e.dst, e.dst_port)
        self._done()

    def undo(self):
        self.arch.graph.remove_node(self.node.id)
        self._done()


class RemoveNode(ArchCommand):
    def __init__(self, editor, node_id: str):
        node = editor.model.arch.graph.node(node_id)
        super().__init__(editor, f"Delete {node.spec.title} ({node_id})")
        self.node = copy.deepcopy(node)
        self.edges = [e for e in editor.model.arch.graph.edges if node_id in (e.src, e.dst)]
        self.overrides = [o for o in editor.model.arch.overrides if o.node == node_id]

    def redo(self):
        self.arch.graph.remove_node(self.node.id)
        self.arch.overrides[:] = [o for o in self.arch.overrides if o.node != self.node.id]
        self._done()

    def undo(self):
        self.arch.graph.add_node(copy.deepcopy(self.node))
        for e in self.edges:
            self.arch.graph.connect(e.src, e.src_port, e.dst, e.dst_port)
        self.arch.overrides.extend(copy.deepcopy(self.overrides))
        self._done()


class Connect(ArchCommand):
    def __init__(self, editor, edge: Edge):
        super().__init__(editor, f"Connect {edge.src}.{edge.src_port} → {edge.dst}.{edge.dst_port}")
        self.edge = edge

    def redo(self):
        self.arch.graph.connect(self.edge.src, self.edge.src_port, self.edge.dst, self.edge.dst_port)
        self._done()

    def undo(self):
        self.arch.graph.disconnect(self.edge)
        self._done()


class Disconnect(ArchCommand):
    def __init__(self, editor, edge: Edge):
        super().__init__(editor, f"Disconnect {edge.src} → {edge.dst}.{edge.dst_port}")
        self.edge = edge

    def redo(self):
        self.arch.graph.disconnect(self.edge)
        self._done()

    def undo(self):
        self.arch.graph.connect(self.edge.src, self.edge.src_port, self.edge.dst, self.edge.dst_port)
        self._done()


class SetConfig(ArchCommand):
    """Change one setting; shown as "Change n_kv_heads 32 → 8"."""

    def __init__(self, editor, node_id: str, key: str, new, shown_old=None):
        old = editor.model.arch.graph.node(node_id).config.get(key)
        super().__init__(editor, f"Change {key} {_fmt(shown_old if old is None else old)} → {_fmt(new)}")
        self.node_id, self.key, self.old, self.new = node_id, key, old, new

    def redo(self):
        self.arch.graph.set_config(self.node_id, self.key, self.new)
        self._done()

    def undo(self):
        self.arch.graph.set_config(self.node_id, self.key, self.old)
        self._done()


class SetDim(ArchCommand):
    """Change a model dimension shared by the blocks (dim, n_layers, vocab_size, context...)."""

    def __init__(self, editor, scale: str, key: str, new):
        old = editor.model.arch.scales[scale].get(key)
        super().__init__(editor, f"Change {key} {_fmt(old)} → {_fmt(new)} ({scale})")
        self.scale, self.key, self.old, self.new = scale, key, old, new

    def _set(self, v):
        dims = self.arch.scales[self.scale]
        if v is None:
            dims.pop(self.key, None)
        else:
            dims[self.key] = v
        self.arch.graph.changed.emit()  # dims are not graph events; views refresh on "changed"

    def redo(self):
        self._set(self.new)
        self._done()

    def undo(self):
        self._set(self.old)
        self._done()


class MoveNode(ArchCommand):
    def __init__(self, editor, node_id: str, old: tuple | None, new: tuple):
        super().__init__(editor, f"Move {node_id}")
        self.node_id, self.old, self.new = node_id, old, new
        self.first = True

    def redo(self):
        self.arch.graph.move_node(self.node_id, self.new)
        self._done()

    def undo(self):
        node = self.arch.graph.node(self.node_id)
        if self.old is None:
            node.pos = None
            self.arch.graph.node_moved.emit(self.node_id, None)
        else:
            self.arch.graph.move_node(self.node_id, self.old)
        self._done()

    def id(self):
        return 7  # consecutive moves of the same block merge into one undo step

    def mergeWith(self, other):
        if not isinstance(other, MoveNode) or other.node_id != self.node_id:
            return False
        self.new = other.new
        return True
