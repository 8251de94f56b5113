"""Compare mode: two models side by side, their differences highlighted in both graphs
(left: removed / changed, right: added / changed) and listed in words between them. Either
side may be any milestone or the document on screen (an edited copy, a project, a run): this
is the one place where the app compares with what you viewed."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QHBoxLayout, QLabel, QListWidget, QSplitter,
                               QVBoxLayout, QWidget)

from studio._qt.graph_view import GraphView
from studio.core.diff import diff
from studio.core.state.document import Document

ON_SCREEN = "__on_screen__"


class CompareDialog(QDialog):
    def __init__(self, model, left_id: str | None, right_id: str | None, theme, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Compare milestones")
        self.model = model
        self.resize(1300, 720)
        self.holders = [Document(model.document.scale), Document(model.document.scale)]
        tl, doc = model.timeline, model.document
        self.boxes, self.views = [], []
        split = QSplitter(Qt.Horizontal, self)
        for side, pid in enumerate((left_id, right_id)):
            w = QWidget()
            lay = QVBoxLayout(w)
            lay.setContentsMargins(0, 0, 0, 0)
            box = QComboBox()
            if not doc.is_milestone and doc.architecture is not None:
                box.addItem(f"On screen: {doc.title}", ON_SCREEN)
            for info in tl.infos:
                box.addItem(f"{info.date}  {info.title}" if info.date else info.title, info.id)
            box.setToolTip("Milestone shown on this side")
            lay.addWidget(box)
            view = GraphView(self.holders[side], theme, w)
            view.auto_fit = True
            lay.addWidget(view, 1)
            split.addWidget(w)
            self.boxes.append(box)
            self.views.append(view)
            box.setCurrentIndex(max(0, box.findData(pid if pid is not None else ON_SCREEN)))
            box.currentIndexChanged.connect(self._load)
        self.diff_list = QListWidget()
        self.diff_list.setWordWrap(True)
        self.diff_list.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.diff_list.setToolTip("What differs from the left model to the right one")
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.addWidget(QLabel("<b>Differences (left → right)</b>"))
        rl.addWidget(self.summary)
        rl.addWidget(self.diff_list, 1)
        split.addWidget(right)
        split.setSizes([520, 520, 260])
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(split, 1)
        h = QHBoxLayout()
        h.addStretch(1)
        h.addWidget(buttons)
        lay.addLayout(h)
        self._load()

    def _show(self, side: int):
        """Put the chosen model into this side's own Document (its view mirrors it)."""
        pid, holder, doc = self.boxes[side].currentData(), self.holders[side], self.model.document
        if pid == ON_SCREEN:
            holder.show(doc.kind, doc.architecture.copy(), doc.title, key=doc.key)
        else:
            holder.show_milestone(pid, self.model.timeline.canonical(pid).copy(), self.model.timeline.info(pid).title)
        return holder.architecture

    def _load(self):
        a, b = self._show(0), self._show(1)
        for view in self.views:
            view.graph_scene._end_animation()
        d = diff(a, b)
        self.last = d
        left, right = self.views[0].graph_scene, self.views[1].graph_scene
        for scene in (left, right):
            for item in scene.nodes.values():
                item.diff = None
        for nid in d.removed:
            if nid in left.nodes:
                left.nodes[nid].diff = "removed"
        for nid in d.added:
            if nid in right.nodes:
                right.nodes[nid].diff = "added"
        for nid in list(d.replaced) + list(d.changed):
            for scene in (left, right):
                if nid in scene.nodes:
                    scene.nodes[nid].diff = "changed"
        for scene in (left, right):
            for item in scene.nodes.values():
                item.update()
            for view in self.views:
                view.fit_all()
        self.diff_list.clear()
        lines = d.describe(b, self.model.document.shown_scale())
        self.diff_list.addItems(lines or ["No differences"])
        self.summary.setText(f"{len(d.added)} added · {len(d.removed)} removed · "
                             f"{len(d.replaced) + len(d.changed)} changed blocks")
