"""Attention inspector dock: layers × heads grid, an enlarged map with token axes, hover readout.

The grid's image items are created once per model shape and then only fed with ``setImage``.
GQA/MQA groups are drawn as coloured frames (one colour per shared key/value head) and named
under each cell; masked cells (future tokens, outside a sliding window) are drawn in a neutral
colour distinct from weight 0.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QComboBox, QFileDialog, QLabel, QLineEdit, QScrollArea, QSplitter, QStackedWidget,
                               QVBoxLayout, QWidget)

from studio._qt.inspect.widgets import (GROUP_COLOURS, ColourBar, FitsViewport, FollowsPalette, HeatPlot,
                                        attention_images, bold, button, note_page, palette_colours, restyle_plot,
                                        rgb_image, row, wrap_label)
from studio.core.inspect.inspect_render import ATTN_GAMMA, token_label

CELL = 84  # px per grid heat map
EMPTY_TEXT = ("<b>Nothing inspected yet.</b><br>Click an attention block in the graph, or choose "
              "Inspect → Inspect the model on screen: the prompt runs through the model and each map shows "
              "which earlier tokens every token looks at.")


class AttentionInspector(FitsViewport, FollowsPalette, QWidget):
    inspect_requested = Signal()  # the empty page's button: inspect the model on screen

    def __init__(self, controller, parent=None):
        super().__init__(parent)
        self.ctl = controller
        self.ins = None
        self.sel = (0, -1)  # (attention block index, head; -1 = mean of heads)
        self._shape = None
        self._cells: list[list[pg.ImageItem]] = []
        self._boxes: list[list[tuple]] = []
        base, text, mask = palette_colours()
        self._mask_rgb = mask.getRgb()[:3]

        self.source_label = bold(QLabel("Nothing inspected yet: pick the current milestone or open a run."))
        self.prompt = QLineEdit(self.ctl.prompt)
        self.prompt.setPlaceholderText("Prompt to run through the model")
        self.prompt.setToolTip("The text whose attention is shown (tokenised with the model's tokenizer, BOS first)")
        self.prompt.returnPressed.connect(self._run)
        self.encoder = QLineEdit(self.ctl.encoder_text)
        self.encoder.setPlaceholderText("Encoder input (empty: the prompt)")
        self.encoder.setToolTip("Encoder-decoder models (2017 Transformer): the source sentence the encoder reads; "
                                "cross-attention maps show which source tokens each output token looks at")
        self.encoder.returnPressed.connect(self._run)
        self.encoder_label = QLabel("Source:")
        self.status = QLabel("")
        top = row(self.source_label, stretch_at=0)
        bar = row(QLabel("Prompt:"), self.prompt, self.encoder_label, self.encoder,
                  button("Inspect", "Run the prompt through the model (off the GUI thread)", self._run),
                  button("Save image…", "Write attention.png as the CLI does", self._save), self.status, stretch_at=1)

        self.grid = pg.GraphicsLayoutWidget()
        self.grid.setBackground(base)
        self.grid.scene().sigMouseClicked.connect(self._grid_clicked)
        self.grid.setToolTip("Click a map to enlarge it. Coloured frames: query heads that share one key/value head")
        scroll = QScrollArea()
        scroll.setWidget(self.grid)
        scroll.setWidgetResizable(False)
        self.scroll = scroll

        self.block_box = QComboBox()
        self.block_box.setToolTip("Which attention block (layer) to enlarge")
        self.block_box.currentIndexChanged.connect(lambda i: self.select(i, self.sel[1]) if i >= 0 else None)
        self.block_box.setSizeAdjustPolicy(QComboBox.AdjustToContents)
        self.head_box = QComboBox()
        self.head_box.setSizeAdjustPolicy(QComboBox.AdjustToContents)
        self.head_box.setToolTip("One head, or the average over all heads")
        self.head_box.currentIndexChanged.connect(lambda i: self.select(self.sel[0], i - 1) if i >= 0 else None)
        self.big = HeatPlot("key token (attended to) →", "query token ↓", square=True)
        self.big.setMinimumSize(220, 150)
        self.big.scene().sigMouseMoved.connect(self._hover)
        self.cbar = ColourBar("weight (√ scale)", (0, 0.01, 0.05, 0.1, 0.25, 0.5, 1), ATTN_GAMMA)
        self.readout = QLabel("Hover the map to read a weight.")
        self.info = wrap_label()
        side = QWidget()  # controls and words beside the map, so the map gets the dock's full height
        sl = QVBoxLayout(side)
        sl.setContentsMargins(0, 0, 0, 0)
        sl.addWidget(QLabel("Block:"))
        sl.addWidget(self.block_box)
        sl.addWidget(QLabel("Head:"))
        sl.addWidget(self.head_box)
        sl.addWidget(self.readout)
        sl.addWidget(self.info)
        sl.addStretch(1)
        side.setMinimumWidth(230)
        side.setMaximumWidth(340)
        self.readout.setWordWrap(True)
        right = row(self.big, self.cbar, side, stretch_at=0)
        split = QSplitter(Qt.Horizontal)
        split.addWidget(scroll)
        split.addWidget(right)
        split.setSizes([560, 800])
        self.split = split
        # before the first inspection (a restored dock, another model): words, never empty axes
        self.empty_page, self.empty_note, _ = note_page(EMPTY_TEXT, "Inspect the model on screen",
                                                        self.inspect_requested.emit)
        self.pages = QStackedWidget()
        self.pages.addWidget(self.empty_page)
        self.pages.addWidget(split)
        lay = QVBoxLayout(self)
        lay.addWidget(top)
        lay.addWidget(bar)
        lay.addWidget(self.pages, 1)
        self.encoder.setVisible(False)
        self.encoder_label.setVisible(False)
        self.ctl.inspected.connect(self.show_inspection)
        self.ctl.failed.connect(self._failed)
        self.ctl.busy_changed.connect(lambda b: self.status.setText("working…") if b else None)
        self.ctl.source_changed.connect(lambda s: self.source_label.setText(f"Model: {s.label}"))
        self.ctl.focus_requested.connect(self.focus_block)
        self.remember_palette()

    def retheme(self):
        """Another theme: backgrounds, axes, the masked-cell grey and the grid's labels follow."""
        base, text, mask = palette_colours()
        self._mask_rgb = self.ctl.mask_rgb = mask.getRgb()[:3]
        self.grid.setBackground(base)
        for plot in (self.big, self.cbar):
            restyle_plot(plot, base, text)
        self._shape = None  # the grid's labels and frames carry the old colours: built again
        if self.ins is not None:
            self.ctl.images = {}  # coloured with the old masked-cell grey
            self.show_inspection(self.ins)

    def _run(self):
        self.ctl.set_prompt(self.prompt.text(), self.encoder.text())  # runs it when a model is inspected
        if self.ctl.source is None:  # nothing inspected yet: "Inspect" means the model on screen
            self.inspect_requested.emit()

    def _failed(self, msg: str):
        self.status.setText(f"⚠ {msg}")
        if self.ins is None:
            self.empty_note.setText(f"<b>⚠ {msg}</b><br>{EMPTY_TEXT.split('<br>', 1)[1]}")

    @property
    def showing_maps(self) -> bool:
        return self.pages.currentWidget() is self.split

    def _show_encoder_box(self, ins):
        on = bool(ins.source_tokens)
        self.encoder.setVisible(on)
        self.encoder_label.setVisible(on)

    # ------------------------------------------------------------------ grid
    def _build_grid(self, ins):
        shape = tuple((a.label, a.n_heads) for a in ins.attention)
        if shape == self._shape:
            return
        self._shape = shape
        self.grid.clear()
        self._cells, self._boxes = [], []
        _, text, _ = palette_colours()
        ncols = max(n for _, n in shape) + 1
        for r, a in enumerate(ins.attention):
            self.grid.addLabel(a.label, row=2 * r, col=0, rowspan=2, color=text.name(), size="10pt", bold=True)
            cells, boxes = [], []
            for h in range(a.n_heads + 1):
                col = h + 1 if h < a.n_heads else ncols
                vb = self.grid.addViewBox(row=2 * r, col=col, enableMouse=False, invertY=True)
                vb.setMenuEnabled(False)
                img = pg.ImageItem(axisOrder="row-major")
                vb.addItem(img)
                if h < a.n_heads and a.n_kv_heads < a.n_heads:
                    vb.setBorder(pg.mkPen(GROUP_COLOURS[a.group_of[h] % len(GROUP_COLOURS)], width=3))
                else:
                    vb.setBorder(pg.mkPen(text, width=1))
                name = "mean" if h == a.n_heads else f"h{h}"
                lab = self.grid.addLabel(name, row=2 * r + 1, col=col, color=text.name(), size="8pt")
                cells.append(img)
                boxes.append((vb, lab))
            self._cells.append(cells)
            self._boxes.append(boxes)
        lay = self.grid.ci.layout  # fixed square cells: the map fills its frame whatever T is
        for col in range(1, ncols + 1):
            lay.setColumnFixedWidth(col, CELL)
        for r in range(len(shape)):
            lay.setRowFixedHeight(2 * r, CELL)
            lay.setRowFixedHeight(2 * r + 1, 18)
        lay.setColumnFixedWidth(0, 120)
        self.grid.setFixedSize(140 + ncols * (CELL + 12), len(shape) * (CELL + 40) + 20)

    def show_inspection(self, ins):
        self.ins = ins
        self.pages.setCurrentWidget(self.split)
        self._show_encoder_box(ins)
        cut = self.ctl.last_cut_from
        self.status.setText(f"{len(ins.tokens)} tokens in {self.ctl.last_ms:.0f} ms" + (
            f" · the prompt's first {len(ins.tokens)} of {cut} tokens: this model sees at most {len(ins.tokens)}"
            if cut else ""))
        self._build_grid(ins)
        images = self.ctl.images.get(id(ins)) or attention_images(ins, self._mask_rgb)
        for r, a in enumerate(ins.attention):
            for h in range(a.n_heads + 1):
                img = self._cells[r][h]
                if img.image is None or img.image.shape != images[r][h].shape:
                    img.setImage(images[r][h], autoLevels=False)
                    self._boxes[r][h][0].setRange(xRange=(0, img.width()), yRange=(0, img.height()), padding=0)
                else:
                    img.setImage(images[r][h], autoLevels=False)
                lab = self._boxes[r][h][1]
                if h < a.n_heads:
                    kv = f"·kv{a.group_of[h]}" if a.n_kv_heads < a.n_heads else ""
                    text = f"h{h}{kv} H{a.entropy[h]:.1f}"
                    if lab.text != text:  # setText re-lays out HTML: skip when unchanged
                        lab.setText(text)
        self.block_box.blockSignals(True)
        self.block_box.clear()
        self.block_box.addItems([a.label for a in ins.attention])
        self.block_box.blockSignals(False)
        b = min(self.sel[0], len(ins.attention) - 1)
        self.select(max(b, 0), self.sel[1])

    def _grid_clicked(self, ev):
        for r, boxes in enumerate(self._boxes):
            for h, (vb, _) in enumerate(boxes):
                if vb.sceneBoundingRect().contains(ev.scenePos()):
                    n = self.ins.attention[r].n_heads if self.ins else 0
                    self.select(r, -1 if h == n else h)
                    return

    # ------------------------------------------------------------------ enlarged map
    def select(self, block: int, head: int):
        if self.ins is None or not self.ins.attention:
            return
        block = int(np.clip(block, 0, len(self.ins.attention) - 1))
        a = self.ins.attention[block]
        head = head if -1 <= head < a.n_heads else -1
        self.sel = (block, head)
        for w in (self.block_box, self.head_box):
            w.blockSignals(True)
        self.block_box.setCurrentIndex(block)
        self.head_box.clear()
        self.head_box.addItems(["mean of heads"] + [
            f"head {h}" + (f" (kv head {a.group_of[h]})" if a.n_kv_heads < a.n_heads else "") for h in range(a.n_heads)])
        self.head_box.setCurrentIndex(head + 1)
        for w in (self.block_box, self.head_box):
            w.blockSignals(False)
        q_toks, k_toks = self.ins.axis_tokens(a)
        w = a.mean if head < 0 else a.weights[head]
        self.big.show_rgb(rgb_image(np.where(a.allowed(), w, np.nan), 1.0, ATTN_GAMMA, self._mask_rgb),
                          [token_label(t)[:8] for t in k_toks], [token_label(t)[:8] for t in q_toks])
        ent = ", ".join(f"h{h} {e:.2f}" for h, e in enumerate(a.entropy))
        mask = "causal (grey = future tokens)" if a.causal else "no mask (sees the whole sequence)"
        if a.window:
            mask += f"; sliding window of {a.window} tokens (grey band = out of reach)"
        groups = "" if a.n_kv_heads == a.n_heads else " · groups: " + "; ".join(
            f"kv{g} ← h{min(hs)}–h{max(hs)}" for g, hs in enumerate(a.groups))
        self.info.setText(f"<b>{a.label}</b> — {a.sharing}{groups}<br>Mask: {mask}<br>"
                          f"Entropy per head (bits; log₂ {len(k_toks)} = {np.log2(len(k_toks)):.2f} is uniform): {ent}")

    def focus_block(self, node: str, layer: int):
        if self.ins is None:
            return
        for i, a in enumerate(self.ins.attention):
            if a.node == node and a.layer == layer:
                self.select(i, -1)
                return
        for i, a in enumerate(self.ins.attention):
            if a.node == node:
                self.select(i, -1)
                return

    def _hover(self, pos):
        if self.ins is None:
            return
        cell = self.big.cell_at(pos)
        a = self.ins.attention[self.sel[0]]
        q_toks, k_toks = self.ins.axis_tokens(a)
        if cell is None or not (0 <= cell[0] < len(q_toks) and 0 <= cell[1] < len(k_toks)):
            return
        qi, ki = cell
        w = (a.mean if self.sel[1] < 0 else a.weights[self.sel[1]])[qi, ki]
        seen = "masked: cannot attend" if not a.allowed()[qi, ki] else f"weight {w:.4f}"
        self.readout.setText(f"query {qi} “{token_label(q_toks[qi])}” → key {ki} “{token_label(k_toks[ki])}”: {seen}")

    def _save(self):
        if self.ins is None:
            return
        from studio._qt.dialogs.folders import remember, start_dir
        folder = QFileDialog.getExistingDirectory(self, "Folder for attention.png", start_dir("image"))
        remember("image", folder)
        if folder:
            from studio._qt.inspect.render import render_inspection
            self.status.setText("saved " + ", ".join(render_inspection(self.ins, folder)))
