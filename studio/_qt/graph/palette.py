"""Block palette (searchable, grouped by family, each entry with its one-line explanation;
double-click or drag onto the canvas to add) and the issues list (click selects the block)."""
from __future__ import annotations

from PySide6.QtCore import QMimeData, Qt
from PySide6.QtGui import QColor, QDrag, QIcon, QPixmap
from PySide6.QtWidgets import QLineEdit, QListWidget, QListWidgetItem, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from blocks.registry import FAMILIES, REGISTRY
from studio._qt.theme import FAMILY_COLOURS

MIME = "application/x-archstudio-block"


class PaletteTree(QTreeWidget):
    def startDrag(self, actions):
        item = self.currentItem()
        kind = item.data(0, Qt.UserRole) if item else None
        if not kind:
            return
        mime = QMimeData()
        mime.setData(MIME, kind.encode())
        drag = QDrag(self)
        drag.setMimeData(mime)
        drag.exec(Qt.CopyAction)


class Palette(QWidget):
    def __init__(self, editor, parent=None):
        super().__init__(parent)
        self.editor = editor
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search blocks…")
        self.search.setClearButtonEnabled(True)
        self.search.setToolTip("Filter by name, family or explanation")
        lay.addWidget(self.search)
        self.tree = PaletteTree()
        self.tree.setHeaderHidden(True)
        self.tree.setDragEnabled(True)
        self.tree.setToolTip("Double-click or drag a block onto the graph to add it")
        lay.addWidget(self.tree, 1)
        self.groups: dict[str, QTreeWidgetItem] = {}
        for fam, label in FAMILIES.items():
            specs = [s for s in REGISTRY.values() if s.family == fam]
            if not specs:
                continue
            g = QTreeWidgetItem([label])
            g.setFlags(Qt.ItemIsEnabled)
            pm = QPixmap(14, 14)  # a colour swatch, readable in both themes (yellow text is not)
            pm.fill(QColor(FAMILY_COLOURS.get(fam, "#999999")))
            g.setIcon(0, QIcon(pm))
            f = g.font(0)
            f.setBold(True)
            g.setFont(0, f)
            self.tree.addTopLevelItem(g)
            self.groups[fam] = g
            for spec in specs:
                it = QTreeWidgetItem([spec.title])
                it.setData(0, Qt.UserRole, spec.kind)
                it.setToolTip(0, f"{spec.title} ({spec.kind})\n{spec.summary}")
                it.setStatusTip(0, spec.summary)
                g.addChild(it)
        self.tree.expandAll()
        self.tree.itemDoubleClicked.connect(self._add)
        self.search.textChanged.connect(self.filter)

    def filter(self, text: str):
        t = text.lower().strip()
        for fam, g in self.groups.items():
            shown = 0
            for i in range(g.childCount()):
                it = g.child(i)
                kind = it.data(0, Qt.UserRole)
                spec = REGISTRY[kind]
                hit = not t or any(t in s.lower() for s in (spec.title, spec.kind, spec.summary, FAMILIES[fam]))
                it.setHidden(not hit)
                shown += hit
            g.setHidden(shown == 0)

    def visible_kinds(self) -> list[str]:
        return [g.child(i).data(0, Qt.UserRole) for g in self.groups.values() if not g.isHidden()
                for i in range(g.childCount()) if not g.child(i).isHidden()]

    def _add(self, item, _col=0):
        kind = item.data(0, Qt.UserRole)
        if kind:
            self.editor.add_block(kind)


class IssuesList(QListWidget):
    """Whole-graph issues from validate(); clicking one selects and frames its block."""

    def __init__(self, editor, parent=None):
        super().__init__(parent)
        self.editor = editor
        self.setToolTip("Problems validate() found in the whole graph; click one to select its block")
        self.setWordWrap(True)
        editor.issues_changed.connect(self.show_issues)
        self.itemClicked.connect(self._select)

    def show_issues(self, issues):
        self.clear()
        if not issues:
            it = QListWidgetItem("✔ No issues: the graph is valid")
            it.setFlags(Qt.ItemIsEnabled)
            self.addItem(it)
            return
        for i in issues:
            glyph = "✖" if i.severity == "error" else "⚠"
            it = QListWidgetItem(f"{glyph} {i.node}: {i.message}")
            it.setData(Qt.UserRole, i.node)
            it.setToolTip(f"{i.severity}: {i.message}")
            self.addItem(it)

    def _select(self, item):
        nid = item.data(Qt.UserRole)
        scene = self.editor.scene
        if nid in scene.nodes:
            scene.clearSelection()
            scene.nodes[nid].setSelected(True)
            for view in scene.views():
                view.ensureVisible(scene.nodes[nid])
