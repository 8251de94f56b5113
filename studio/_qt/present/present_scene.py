"""Mixed into GraphScene: the presentation placement (studio._qt.present.present_geometry) and the
measurements tests and the view use (every text the scene draws, its on-screen size).

In normal mode nothing here changes what the scene does: blocks sit at the layout's positions
as 190×68 boxes. ``set_presentation(area)`` lays the same graph out for a projector in the
given viewport area (scene pixels sized for a view scale near 1), and ``None`` goes back.
"""
from __future__ import annotations

from PySide6.QtCore import QPointF

from studio._qt.present.present_geometry import Plan, font_px, plan_layout
from studio._qt.text import training_stages
from studio.core.model.layout import NODE_H, NODE_W, Layout, signatures


class PresentMixin:
    present_area: tuple[float, float] | None = None
    plan: Plan | None = None
    stages_folded = False  # normal mode: the training-stage strip folded to one line

    def set_presentation(self, area: tuple[float, float] | None) -> None:
        """Lay the graph out for a projector in ``area`` (viewport pixels beside the card), or
        back to the normal layout with None."""
        if area is not None:
            area = (round(area[0]), round(area[1]))
        if area == self.present_area and (area is None) == (self.plan is None):
            return
        units = self._present_units() if self.plan is not None else None
        self.present_area = area
        self._relayout(units)

    stages_user_choice: bool | None = None  # None: the view folds the strip when the graph would not fit

    def toggle_stages_folded(self) -> None:
        self.set_stages_folded(not self.stages_folded)
        self.stages_user_choice = self.stages_folded

    def set_stages_folded(self, on: bool) -> None:
        if on == self.stages_folded:
            return
        self.stages_folded = on
        self._stages_key = None
        if self.arch is not None:
            self._build_stages()
            self._update_frames()

    def _relayout(self, units=None) -> None:
        if self.arch is None:
            return
        self._end_animation()
        self._forced_units = units
        self.set_architecture(animate=False)
        self._forced_units = None

    # ---------------------------------------------------------------- used by set_architecture
    def _present_units(self) -> dict[str, tuple[float, float]]:
        return dict(getattr(self, "_units", {}))

    def units_layout(self) -> Layout | None:
        """The layout positions (grid units) while the items sit at presentation positions."""
        forced = getattr(self, "_forced_units", None)
        if self.plan is None and forced is None:
            return None
        lay = Layout()
        lay.pos = dict(forced if forced is not None else self._present_units())
        g = self._graph
        sigs = signatures(g) if g is not None else {}
        lay.signature = {n: sigs[n] for n in lay.pos if n in sigs}
        return lay

    def place(self, layout, marks) -> dict[str, QPointF]:
        """Scene positions of every node for ``layout``; plans the presentation when one is on."""
        self._units = dict(layout.pos)
        if self.present_area is None:
            self.plan = None
            return {nid: QPointF(*p) for nid, p in layout.pos.items()}
        from studio._qt.graph.block_face import block_face
        scale = self.document.shown_scale()
        faces = {}
        for nid in layout.pos:
            _k, _s, lines, badge, _tip, variant, _t = block_face(self.arch, scale, nid)
            faces[nid] = (lines, badge, variant)
        tagged = set(marks.added) | set(marks.changed)
        stages = training_stages(self.arch.training or {})
        self.plan = plan_layout(self.arch, layout.pos, faces, tagged, stages, self.present_area)
        return {nid: QPointF(*np.pos) for nid, np in self.plan.nodes.items()}

    def apply_box(self, item) -> None:
        """The item's box for the current plan (or the normal 190×68 block)."""
        np = self.plan.nodes.get(item.node_id) if self.plan is not None else None
        if np is None:
            if item.present is not None or (item.box_w, item.box_h) != (NODE_W, NODE_H):
                item.set_box(NODE_W, NODE_H)
            movable = True
        else:
            item.set_box(np.size[0], np.size[1], np.title_lines, self.plan.present)
            movable = False  # presenting: nothing moves under the pointer
        item.setFlag(item.GraphicsItemFlag.ItemIsMovable, movable and self.editable_moves)

    editable_moves = True

    # ---------------------------------------------------------------- measuring
    def drawn_texts(self):
        """(item, role, font, text) of every text the scene draws, from the items themselves."""
        out = []
        for it in self.items():
            if not it.isVisible() or not hasattr(it, "texts"):
                continue
            for role, font, text in it.texts():
                if text:
                    out.append((it, role, font, text))
        return out

    def text_px_on_screen(self, view) -> list[tuple[str, str, float]]:
        """(role, text, on-screen pixel height of its font) for every drawn text in ``view``."""
        dpi = view.viewport().logicalDpiY() if view is not None else 96.0
        k = view.transform().m22() if view is not None else 1.0
        return [(role, text, font_px(font, dpi) * k) for _it, role, font, text in self.drawn_texts()]
