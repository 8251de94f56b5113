"""The scene's decoration around the blocks: one frame per region ("× 32 layers") and the
training-pipeline strip above the graph. Rebuilt from the architecture on screen."""
from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QColor, QFontMetricsF

from studio._qt.graph.frame_items import FrameItem, StageItem, StripLabel
from studio._qt.present.present_geometry import STAGE_ARROW, stage_box_height
from studio._qt.text import training_stages
from studio._qt.theme import ui_font
from studio.core.model import provenance
from studio.core.errors import StudioError

REGION_TITLES = {"encoder": "Encoder", "layer": ""}


class SceneDecor:
    """Mixed into GraphScene: ``frames`` by region and ``stage_items``, kept up to date."""

    def frame_rects(self, settled: bool = False) -> dict[str, QRectF]:
        """Each region's frame rectangle around its blocks as they stand, or (``settled``)
        where they will stand when the running move ends (what the view fits to)."""
        arch = self.arch
        pos_of = self.target_pos if settled else (lambda it: it.pos())
        plan = getattr(self, "plan", None)
        out = {}
        for r in arch.regions:
            items = [it for it in self.nodes.values() if arch.graph.nodes.get(it.node_id) and arch.graph.node(it.node_id).region == r]
            if not items:
                continue
            wired = [it for it in items if it.edges]
            if wired:  # a block just dropped and not yet connected does not stretch the frame
                items = wired
            rect = QRectF()
            for it in items:
                rect = rect.united(QRectF(pos_of(it), pos_of(it) + QPointF(it.box_w, it.box_h)))
            if plan is not None:  # presenting: room for residual arcs, the label and the diff tags
                left, top, right, bottom = plan.frame_pad
                if any(it.diff or (plan.present.show_badges and it.badge) for it in items
                       if abs(pos_of(it).y() - rect.top()) < 1):
                    top += plan.present.pill_h + 6
                out[r] = rect.adjusted(-left, -top, right, bottom)
            else:
                out[r] = rect.adjusted(-78, -62 * max(1.0, self.font_scale), 30, 30)
        return out

    def _update_frames(self) -> None:
        arch = self.arch
        if arch is None:
            return
        scale = self.document.shown_scale()
        wanted = self.frame_rects()
        plan = getattr(self, "plan", None)
        for r in wanted:
            try:
                n = arch.repeat(r, scale)
            except StudioError:
                n = "?"
            title = REGION_TITLES.get(r, r.title())
            if r == "layer" and "encoder" in arch.regions and any(x.region == "encoder" for x in arch.graph.nodes.values()):
                title = "Decoder"
            frame = self.frames.get(r)
            if frame is None:
                frame = self.frames[r] = FrameItem(self.theme)
                self.addItem(frame)
            frame.font_scale = self.font_scale
            frame.present = plan.present if plan is not None else None
            frame.set(wanted[r], title, provenance.frame_label(arch, scale, r, n))
        for r in [r for r in self.frames if r not in wanted]:
            self.removeItem(self.frames.pop(r))
        nodes = arch.graph.nodes
        for e in self.edges.values():  # links between regions go around the frames they would cross
            src, dst = nodes.get(e.edge.src), nodes.get(e.edge.dst)
            if src is not None and dst is not None and src.region != dst.region:
                e.update_path()

    def _build_stages(self) -> None:
        """The training pipeline above the graph: full boxes, or one line of named steps when
        folded (a click on its label) or when a presentation has to drop that detail."""
        stages = training_stages(self.arch.training or {})
        # where the blocks are going, not where a running move starts (the strip does not move)
        top = min((self.target_pos(it).y() for it in self.nodes.values()), default=0.0)
        left = min((self.target_pos(it).x() for it in self.nodes.values()), default=0.0)
        plan = getattr(self, "plan", None)
        pr = plan.present if plan is not None else None
        folded = self.stages_folded
        if pr is not None and pr.stages_one_line:
            stages = []  # presenting without room for the strip: the card lists the stages on one line
        key = (tuple(stages), top, left, self.font_scale, self.theme.name, pr, folded,
               plan.stage_width if plan is not None else None)
        if key == getattr(self, "_stages_key", None):
            return  # same pipeline at the same place: keep the items (scrubbing within an era)
        self._stages_key = key
        for it in self.stage_items:
            self.removeItem(it)
        self.stage_items = []
        if not stages:
            return
        items = [StageItem(self.theme, title, detail, i, i == len(stages) - 1) for i, (title, detail) in enumerate(stages)]
        fs = self.font_scale
        for st in items:
            st.font_scale, st.present = fs, pr
            if folded:
                fm = QFontMetricsF(st.title_font())
                st.set_size(fm.horizontalAdvance(st.texts()[0][2]) + 24, fm.height() + 10, True)
            elif pr is not None:
                w = plan.stage_width
                st.set_size(w, max(stage_box_height(t, d, pr, w) for t, d in stages), False)
        h = max(st.h for st in items)
        frame_room = 62 * max(1.0, fs) if self.frames else 0.0  # the "× N layers" label above the blocks
        y = top - h - (40 if pr is not None else frame_room + (58 if not folded else 20))
        if pr is not None and any(it.diff or (pr.show_badges and it.badge) for it in self.nodes.values()
                                  if abs(self.target_pos(it).y() - top) < 1):
            y -= pr.pill_h + 6
        label = StripLabel(f"{'▸' if folded else '▾'} Training pipeline (what this milestone changed)",
                           None if pr is not None else self.toggle_stages_folded)
        if pr is not None:
            label.setText("Training pipeline")
        label.setFont(pr.text_font(bold=True) if pr is not None else ui_font(13 * fs, bold=True))
        label.setBrush(QColor(self.theme.text))
        label.setPos(left, y - QFontMetricsF(label.font()).height() - 8)
        self.addItem(label)
        self.stage_items.append(label)
        x = left
        for st in items:
            st.setPos(x, y + (h - st.h) / 2)
            self.addItem(st)
            self.stage_items.append(st)
            x += st.w + STAGE_ARROW
