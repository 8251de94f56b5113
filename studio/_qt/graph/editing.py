"""Editing: undo stacks, the edit actions, delete/copy/paste, connecting ports, validation marks.

Every edit is a QUndoCommand (studio._qt.graph.commands) on the Document, pushed on the stack of the
architecture it changes (a QUndoGroup switches stacks whenever another document is shown, so
undo never reaches into a model that is not on screen). The first edit of a milestone forks
it into its own document ("LLaMA 2 (edited)"); the published milestone stays as it was.
Validation re-runs shortly after the document changes; nothing here refreshes other views.
"""
from __future__ import annotations

import copy
import re

from PySide6.QtCore import QObject, QPointF, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence, QUndoGroup, QUndoStack

from studio._qt.graph.commands import AddNode, Connect, Disconnect, MoveNode, RemoveNode, SetConfig, SetDim
from studio._qt.graph.edge_item import EdgeItem
from studio._qt.graph.graph_items import NodeItem
from studio.core.errors import GraphEditError, StudioError
from studio.core.model.graph import Node
from studio.core.model.validate import validate


class Editor(QObject):
    issues_changed = Signal(object)  # list[Issue]
    status = Signal(str)  # one line for the status bar (refusals, copies)

    def __init__(self, model, scene, parent=None):
        super().__init__(parent)
        self.model, self.document, self.scene = model, model.document, scene
        self.group = QUndoGroup(self)
        self.stacks: dict[int, QUndoStack] = {}
        self.issues = []
        self._clipboard: list[Node] = []
        self._validate_timer = QTimer(self)
        self._validate_timer.setSingleShot(True)
        self._validate_timer.setInterval(120)
        self._validate_timer.timeout.connect(self.validate_now)
        self.document.replaced.connect(self._on_replaced)
        self.document.listed.connect(self._drop_closed_stacks)
        self.document.changed.connect(lambda _v: self._validate_timer.start())
        self.document.scale_changed.connect(lambda _s: self._validate_timer.start())
        scene.editable = True
        scene.connect_requested.connect(self.connect_ports)
        scene.connect_probe = self.probe
        scene.node_dragged.connect(self._moved)
        self._build_actions()
        self._on_replaced()

    # ------------------------------------------------------------------ stacks
    def stack(self) -> QUndoStack:
        return self.group.activeStack()

    def _on_replaced(self):
        arch = self.document.architecture
        if arch is None:
            return
        st = self.stacks.get(id(arch))
        if st is None or getattr(st, "arch", None) is not arch:
            st = QUndoStack(self.group)
            st.arch = arch
            self.stacks[id(arch)] = st
        self.group.setActiveStack(st)
        self._drop_closed_stacks()
        self._validate_timer.start()

    def _drop_closed_stacks(self):
        """Keep the stack on screen and those of documents that can be reopened. Scrubbing leaves
        an empty stack per copy shown; a document closed (File → New project, or closed from the
        list) cannot be reopened, so its history is unreachable: kept, a class that starts afresh
        a few times would keep every edited architecture alive through its stack's commands."""
        current = self.document.architecture
        reopenable = {id(e.architecture) for e in self.document.opened.values()}
        for key, old in list(self.stacks.items()):
            if old.arch is not current and (old.count() == 0 or id(old.arch) not in reopenable):
                del self.stacks[key]
                self.group.removeStack(old)
                old.deleteLater()

    def push(self, cmd) -> bool:
        try:
            self.stack().push(cmd)  # push runs redo()
            return True
        except StudioError as exc:
            self.status.emit(str(exc))
            return False

    # ------------------------------------------------------------------ actions
    def _build_actions(self):
        self.undo_action = self.group.createUndoAction(self, "Undo")
        self.undo_action.setShortcut(QKeySequence.Undo)
        self.redo_action = self.group.createRedoAction(self, "Redo")
        # explicit keys: QKeySequence.Redo already is Ctrl+Shift+Z on Linux (twice = "ambiguous", dead)
        self.redo_action.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])

        def act(text, slot, key, tip):
            a = QAction(text, self)
            a.setShortcut(QKeySequence(key))
            a.setToolTip(tip)
            a.setStatusTip(tip)
            a.triggered.connect(slot)
            a.setShortcutContext(a.shortcutContext().WidgetWithChildrenShortcut)  # the graph's keys only
            return a
        self.delete_action = act("&Delete", self.delete_selected, QKeySequence.Delete,
                                 "Remove the selected blocks or links")
        self.copy_action = act("&Copy", self.copy_selected, QKeySequence.Copy, "Copy the selected blocks")
        self.paste_action = act("&Paste", self.paste, QKeySequence.Paste, "Paste copied blocks")

    @property
    def graph_actions(self) -> list[QAction]:
        """The actions that act on the graph's selection (the window adds them to the view)."""
        return [self.delete_action, self.copy_action, self.paste_action]

    # ------------------------------------------------------------------ edits
    def unique_id(self, base: str) -> str:
        base = re.sub(r"\W", "_", base) or "block"
        nodes = self.document.graph.nodes
        if base not in nodes:
            return base
        i = 2
        while f"{base}_{i}" in nodes:
            i += 1
        return f"{base}_{i}"

    def add_block(self, kind: str, pos: QPointF | None = None, region: str | None = None) -> str | None:
        from blocks.registry import get_spec
        spec = get_spec(kind)
        if region is None:
            sel = self.selected_nodes()
            region = self.document.graph.node(sel[0]).region if sel else "layer"
        if pos is None:
            pos = self.scene.free_spot()
        nid = self.unique_id(spec.kind)
        node = Node(nid, spec.kind, region, {}, (round(pos.x(), 1), round(pos.y(), 1)))
        return nid if self.push(AddNode(self.document, node)) else None

    def probe(self, src, sport, dst, dport) -> str | None:
        """Why a connection would be refused (None: it would be accepted)."""
        try:
            self.document.check_connect(src, sport, dst, dport)
            return None
        except GraphEditError as exc:
            return str(exc)

    def connect_ports(self, src, sport, dst, dport) -> bool:
        try:
            edge = self.document.check_connect(src, sport, dst, dport)
        except GraphEditError as exc:  # refused: the core's reason, nothing changes
            self.status.emit(f"Cannot connect: {exc}")
            return False
        return self.push(Connect(self.document, edge))

    def set_config(self, node_id: str, key: str, value, shown_old=None) -> bool:
        return self.push(SetConfig(self.document, node_id, key, value, shown_old))

    def set_dim(self, scale: str, key: str, value) -> bool:
        return self.push(SetDim(self.document, scale, key, value))

    def selected_nodes(self) -> list[str]:
        return [it.node_id for it in self.scene.selectedItems() if isinstance(it, NodeItem)]

    def delete_selected(self):
        nodes = self.selected_nodes()
        edges = [it.edge for it in self.scene.selectedItems() if isinstance(it, EdgeItem)
                 and it.edge.src not in nodes and it.edge.dst not in nodes]
        if not nodes and not edges:
            return
        st = self.stack()
        st.beginMacro(f"Delete {len(nodes) + len(edges)} item(s)" if len(nodes) + len(edges) > 1 else
                      (f"Delete {nodes[0]}" if nodes else f"Disconnect {edges[0].src} → {edges[0].dst}"))
        for e in edges:
            st.push(Disconnect(self.document, e))
        for nid in nodes:
            st.push(RemoveNode(self.document, nid))
        st.endMacro()

    def copy_selected(self):
        g = self.document.graph
        self._clipboard = [copy.deepcopy(g.node(n)) for n in self.selected_nodes()]
        if self._clipboard:
            self.status.emit(f"Copied {len(self._clipboard)} block(s)")

    def paste(self):
        if not self._clipboard:
            return
        st = self.stack()
        st.beginMacro(f"Paste {len(self._clipboard)} block(s)")
        for n in self._clipboard:
            x, y = n.pos or (self.scene.nodes[n.id].pos().x(), self.scene.nodes[n.id].pos().y()) \
                if n.id in self.scene.nodes else (0.0, 0.0)
            st.push(AddNode(self.document, Node(self.unique_id(n.id), n.kind, n.region, dict(n.config),
                                                (x + 40.0, y + 40.0))))
        st.endMacro()

    def _moved(self, nid: str, old: QPointF, new: QPointF):
        if nid in self.document.graph.nodes:
            self.push(MoveNode(self.document, nid, (old.x(), old.y()), (round(new.x(), 1), round(new.y(), 1))))

    # ------------------------------------------------------------------ validation
    def validate_now(self):
        arch = self.document.architecture
        if arch is None:
            return
        scale = self.document.scale if self.document.scale in arch.scales else None
        try:
            self.issues = validate(arch, scale)
        except StudioError as exc:
            self.issues = []
            self.status.emit(str(exc))
        by_node: dict[str, list] = {}
        for i in self.issues:
            by_node.setdefault(i.node, []).append(i)
        for nid, item in self.scene.nodes.items():
            errs = [i.message for i in by_node.get(nid, []) if i.severity == "error"]
            warns = [i.message for i in by_node.get(nid, []) if i.severity != "error"]
            item.set_issues("\n".join(errs) or None, "\n".join(warns) or None)
        self.issues_changed.emit(self.issues)
