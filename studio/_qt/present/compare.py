"""Compare mode: two models side by side, their differences highlighted in both graphs
(left: removed / changed, right: added / changed) and listed between them in a learner's words
(``milestone_change_items``), each line marked by glyph and word (+ added, − removed, ~ changed),
with the two models' headline figures side by side, each with its provenance; the heading names
what is compared with what (and says when the left model is the one the right builds on). Either side may
be any milestone or the document on screen (an edited copy, a project, a run): this is the one
place where the app compares with what you viewed."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QHBoxLayout, QLabel, QListWidget,
                               QListWidgetItem, QSplitter, QVBoxLayout, QWidget)

from studio._qt.graph.graph_view import GraphView
from studio._qt.text import esc, provenance_badge
from studio._qt.theme import DIFF
from studio.core.model import provenance
from studio.core.model.accounting import human_bytes, humanize
from studio.core.model.diff import diff
from studio.core.model.lineage import milestone_change_items
from studio.core.state.document import Document

ON_SCREEN = "__on_screen__"
# the marker of each kind of change: a glyph and a word, never colour alone
MARKS = {"added": ("+", "added"), "removed": ("−", "removed"), "replaced": ("~", "replaced"),
         "changed": ("~", "changed"), "training": ("▶", "training")}
COLOUR_OF = {"added": "added", "removed": "removed", "replaced": "changed", "changed": "changed",
             "training": "changed"}
FIGURE_ROWS = (("params_total", "Parameters", humanize), ("params_active", "Active / token", humanize),
               ("kv_cache_bytes_per_token", "KV cache / token", human_bytes),
               ("context", "Context", lambda v: f"{v:,} tokens"))


def common_scale(a, b, preferred: str) -> str | None:
    """The scale both models are compared at: the window's, else paper, else classroom."""
    for sc in (preferred, "paper", "classroom"):
        if sc in a.scales and sc in b.scales:
            return sc
    return None


def figure_cells(arch, scale: str | None) -> dict[str, tuple[str, str, str]]:
    """key -> (value text, provenance badge, tooltip) of the compared figures of one model."""
    scale = scale or next(iter(arch.scales), "paper")
    try:
        figs = provenance.figures(arch, scale)
    except Exception as exc:  # noqa: BLE001  an edited model that does not count still compares by blocks
        why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return {k: ("—", "cannot count", why) for k, _label, _fmt in FIGURE_ROWS}
    out = {}
    for key, _label, fmt in FIGURE_ROWS:
        f = figs.get(key)
        if f is None:
            out[key] = ("—", "", "")
            continue
        value = "—" if f.value is None else fmt(f.value)
        tip = "\n".join(x for x in (f"{f.value:,}" if isinstance(f.value, int) else "", f.source, f.note) if x)
        out[key] = (value, provenance_badge(f.provenance), tip)
    return out


def figures_html(names: tuple[str, str], cells: tuple[dict, dict], scale: str | None) -> str:
    """The two models' figures side by side: value in bold, its provenance word below."""
    rows = ["<tr><th></th>" + "".join(f"<th align='left' title='{esc(full)}'>{esc(short_title(full))}</th>"
                                      for full in names) + "</tr>"]
    for key, label, _fmt in FIGURE_ROWS:
        tds = []
        for c in cells:
            value, badge, tip = c[key]
            tds.append(f"<td title='{esc(tip)}'><b>{esc(value)}</b><br><span style='font-size:small'>"
                       f"{esc(badge)}</span></td>")
        rows.append(f"<tr><td>{esc(label)}&nbsp;</td>{''.join(tds)}</tr>")
    at = f"<p style='font-size:small'>At {esc(scale)} scale.</p>" if scale else ""
    return f"<table cellspacing='0' cellpadding='3'>{''.join(rows)}</table>{at}"


def differences_heading(names: tuple[str, str], a, b) -> str:
    """'Differences: LLaMA 1 → LLaMA 2 (the model it builds on → the model)', naming what is compared
    with what, and saying so when the left model is the one the right builds on (its lineage)."""
    from studio.core.model.lineage import builds_on
    try:
        lineage = builds_on(b.meta, b.id)
    except Exception:  # noqa: BLE001 - a malformed builds_on only loses the remark
        lineage = ()
    left_id = a.meta.get("id") or getattr(a, "source", None)
    remark = " (the model it builds on)" if lineage and left_id == lineage[0] else ""
    return f"Differences: {names[0]}{remark} → {names[1]}"


def short_title(title: str, limit: int = 20) -> str:
    """A column header: the title without its parenthesised remark when that makes it too long."""
    if len(title) > limit and "(" in title:
        title = title[:title.index("(")].rstrip() or title
    return title if len(title) <= limit else title[:limit - 1].rstrip() + "…"


def swatch(colour: str) -> QIcon:
    """The kind's colour beside its glyph and word (a second cue, never the only one)."""
    pm = QPixmap(6, 16)
    pm.fill(QColor(colour))
    return QIcon(pm)


class CompareDialog(QDialog):
    def __init__(self, model, left_id: str | None, right_id: str | None, theme, parent=None):
        super().__init__(parent)
        self.setAttribute(Qt.WA_DeleteOnClose)  # closed means gone: a dialog per Compare leaked ≈ 240 objects
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
        self.figures = QLabel()
        self.figures.setTextFormat(Qt.RichText)
        self.figures.setWordWrap(True)
        self.figures.setAccessibleName("Figures of the two models")
        self.diff_list = QListWidget()
        self.diff_list.setWordWrap(True)
        self.diff_list.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.diff_list.setToolTip("What differs from the left model to the right one")
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(6, 0, 0, 0)
        rl.addWidget(self.figures)
        self.heading = QLabel("<b>Differences (left → right)</b>")
        self.heading.setWordWrap(True)
        rl.addWidget(self.heading)
        rl.addWidget(self.summary)
        rl.addWidget(self.diff_list, 1)
        split.addWidget(right)
        split.setSizes([480, 480, 340])
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
        scale = common_scale(a, b, self.model.document.shown_scale())
        items = milestone_change_items(a, b, scale)
        from studio.core.model.lineage import told_blocks  # the blocks the list talks about, as the scene marks
        for nid in list(d.replaced) + list(d.changed) + sorted(told_blocks(a, b, items, scale)):
            for scene in (left, right):
                if nid in scene.nodes:
                    scene.nodes[nid].diff = "changed"
        for scene in (left, right):
            for item in scene.nodes.values():
                item.update()
            for view in self.views:
                view.fit_all()
        names = tuple(h.title for h in self.holders)
        self.figures.setText(figures_html(names, (figure_cells(a, scale), figure_cells(b, scale)), scale))
        self.heading.setText(f"<b>{esc(differences_heading(names, a, b))}</b>")
        self._list_changes(items, d)

    def _list_changes(self, items: list[tuple[str, str]], d) -> None:
        self.diff_list.clear()
        self.items = items
        for kind, text in items:
            glyph, word = MARKS.get(kind, MARKS["changed"])
            it = QListWidgetItem(swatch(DIFF[COLOUR_OF.get(kind, "changed")]), f"{glyph} {word} · {text}")
            it.setToolTip(f"{word}: {text}")
            self.diff_list.addItem(it)
        if not items:
            self.diff_list.addItem("= The same architecture" if d.empty else
                                   "= No difference a learner would see (only ids or wiring details)")
        counts = {k: sum(1 for kind, _ in items if COLOUR_OF.get(kind) == k) for k in ("added", "removed", "changed")}
        self.summary.setText(" · ".join(f"{MARKS[k][0]} {n} {MARKS[k][1]}" for k, n in counts.items() if n)
                             or "No differences")
