"""Property editor generated from the selected block's Config dataclass (field metadata: help,
unit, choices, min), plus the model's shared dimensions edited in one place.

A value is checked with the core (resolve.try_setting; validate.try_dim for a shared
dimension) before it becomes an undo command; an impossible value is refused with the core's
message, shown right under the field and in the status bar, and the field reverts. The
form mirrors the Document: rebuilt when it is replaced, edited or shown at another scale.
"""
from __future__ import annotations

import dataclasses

import shiboken6

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFormLayout, QGroupBox, QLabel, QLineEdit, QScrollArea,
                               QSpinBox, QVBoxLayout, QWidget)

from blocks.registry import get_spec
from studio._qt.text import fmt_value
from studio.core.model.resolve import resolve, try_setting
from studio.core.model.validate import try_dim

SHARED_DIMS = ("dim", "n_layers", "n_enc_layers", "n_heads", "n_kv_heads", "hidden_dim", "vocab_size", "context")


class PropertyEditor(QWidget):
    def __init__(self, model, editor, parent=None):
        super().__init__(parent)
        self.editor, self.document = editor, model.document
        self.node_id: str | None = None
        self._refusal: tuple[str, str, str] | None = None  # (form, field, why) shown under that field
        self.fields: dict[str, QWidget] = {}
        self.dim_fields: dict[str, QWidget] = {}
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        outer.addWidget(scroll)
        body = QWidget()
        scroll.setWidget(body)
        self.lay = QVBoxLayout(body)
        self.title = QLabel("Select a block to edit its settings.")
        self.title.setWordWrap(True)
        self.lay.addWidget(self.title)
        self.block_box = QGroupBox("Block settings")
        self.block_form = QFormLayout(self.block_box)
        self.lay.addWidget(self.block_box)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #D55E00; font-weight: bold")
        self.message.hide()
        self.lay.addWidget(self.message)
        self._fallback_message = self.message  # for a refusal with no field to sit under
        self.dims_box = QGroupBox("Model dimensions (shared by the blocks)")
        self.dims_form = QFormLayout(self.dims_box)
        self.lay.addWidget(self.dims_box)
        self.lay.addStretch(1)
        editor.scene.selectionChanged.connect(self._on_selection)
        self._rebuild_soon = QTimer(self)  # one rebuild per turn however fast the slider moves
        self._rebuild_soon.setSingleShot(True)
        self._rebuild_soon.setInterval(0)
        self._rebuild_soon.timeout.connect(self.rebuild)
        self.document.replaced.connect(self._on_replaced)
        self.document.scale_changed.connect(lambda _s: self.rebuild())
        # rebuilt on the next turn: the widget that emitted the edit must not be deleted under it
        self.document.changed.connect(self._on_changed)
        self.rebuild()

    def _on_replaced(self):
        self.node_id = None
        self._clear_refusal()
        self._rebuild_soon.start()

    def _on_changed(self, _version=None):
        self._clear_refusal()  # an edit went through: the last refusal is no longer news
        QTimer.singleShot(0, self, self.rebuild)

    def _clear_refusal(self):
        self._refusal = None
        self._show_refusal()

    def _on_selection(self):
        try:
            sel = self.editor.selected_nodes()
        except RuntimeError:  # the scene is being torn down
            return
        self.show_node(sel[0] if len(sel) == 1 else None)

    def show_node(self, node_id: str | None):
        self.node_id = node_id
        self._clear_refusal()
        self.rebuild()

    # ------------------------------------------------------------------ building
    def _scale(self) -> str:
        return self.document.shown_scale()

    def rebuild(self):
        arch = self.document.architecture
        _clear(self.block_form)
        _clear(self.dims_form)
        self.fields, self.dim_fields = {}, {}
        if arch is None:
            return
        scale = self._scale()
        dims = arch.dims(scale)
        for key in SHARED_DIMS:
            if key in arch.scales[scale]:
                w = QSpinBox()
                w.setRange(1, 2_000_000_000)
                w.setValue(int(dims[key]))
                w.setToolTip(f"{key} at {scale} scale; every block that follows ${key} changes with it")
                w.editingFinished.connect(lambda k=key, w=w: self._dim_edited(k, w.value()))
                self.dims_form.addRow(key, w)
                self.dim_fields[key] = w
        if self.node_id is None or self.node_id not in arch.graph.nodes:
            self.title.setText("Select a block to edit its settings.")
            self.block_box.hide()
            self._show_refusal()
            return
        node = arch.graph.node(self.node_id)
        spec = get_spec(node.kind)
        self.title.setText(f"<b>{spec.title}</b> ({node.id}) · {node.region}<br>"
                           f"<span style='font-size:small'>{spec.summary}</span>")
        self.block_box.show()
        cfg = resolve(arch, self._scale()).node(node.id).config  # None when its settings do not resolve
        for fl in dataclasses.fields(spec.config_cls):
            md = fl.metadata
            value = getattr(cfg, fl.name) if cfg is not None else node.config.get(fl.name, fl.default)
            w = self._widget(fl, value)
            bound = fl.name not in node.config and md.get("bind", fl.name) in dims
            tip = md.get("help", "") + (f" ({md['unit']})" if md.get("unit") else "")
            if bound:
                tip += f"\nFollows the model's {md.get('bind', fl.name)} ({fmt_value(value)}) until you set it here"
            w.setToolTip(tip)
            label = QLabel(fl.name + (" ⇢" if bound else ""))
            label.setToolTip(tip)
            self.block_form.addRow(label, w)
            self.fields[fl.name] = w
        self._show_refusal()

    def _widget(self, fl, value) -> QWidget:
        md = fl.metadata
        t = fl.type if isinstance(fl.type, str) else getattr(fl.type, "__name__", "")
        name = fl.name
        if md.get("choices"):
            w = QComboBox()
            for c in md["choices"]:
                w.addItem(str(c), c)
            w.setCurrentIndex(max(0, w.findData(value)))
            w.activated.connect(lambda _i, w=w: self._edited(name, w.currentData()))
        elif t == "bool":
            w = QCheckBox()
            w.setChecked(bool(value))
            w.toggled.connect(lambda on: self._edited(name, bool(on)))
        elif t == "int":
            w = QSpinBox()
            w.setRange(-1_000_000, 2_000_000_000)
            w.setValue(int(value or 0))
            if md.get("unit"):
                w.setSuffix(f" {md['unit']}")
            w.editingFinished.connect(lambda w=w: self._edited(name, w.value()))
        else:  # float and str: a line edit keeps 1e-05 and ids readable
            w = QLineEdit(fmt_value(value) if t == "float" else str(value if value is not None else ""))
            w.editingFinished.connect(lambda w=w, t=t: self._text_edited(name, w.text(), t))
        return w

    # ------------------------------------------------------------------ applying
    def _text_edited(self, key: str, text: str, t: str):
        if t == "float":
            try:
                value = float(text.replace(",", ""))
            except ValueError:
                return self._refuse(f"{key}: {text!r} is not a number", "block", key)
        else:
            value = text.strip()
        self._edited(key, value)

    def _edited(self, key: str, value):
        arch = self.document.architecture
        if self.node_id is None or self.node_id not in arch.graph.nodes:
            return
        node = arch.graph.node(self.node_id)
        scale = self._scale()
        current = resolve(arch, scale).node(node.id).config
        if getattr(current, key, None) == value and key not in node.config:
            return  # unchanged (focus left the field)
        if node.config.get(key) == value:
            return
        _cfg, problems = try_setting(arch, scale, node.id, key, value)  # the core decides; its words are read
        if problems:
            return self._refuse(problems[0], "block", key)
        self._clear_refusal()
        self.editor.set_config(node.id, key, value, shown_old=getattr(current, key, None))

    def _dim_edited(self, key: str, value: int):
        arch = self.document.architecture
        scale = self._scale()
        if arch.scales[scale].get(key) == value:
            return
        why = try_dim(arch, scale, key, value)
        if why:
            return self._refuse(f"{key} {value}: {why}", "dims", key)
        self._clear_refusal()
        self.editor.set_dim(scale, key, value)

    def _refuse(self, msg: str, form: str = "", key: str = ""):
        self._refusal = (form, key, f"Refused: {msg}")
        self._show_refusal()
        self.editor.status.emit(f"Refused: {msg}")
        QTimer.singleShot(0, self, self.rebuild)  # the field shows the value that is still in force

    def _show_refusal(self):
        """The refusal's reason in a row right under the field it is about (the form is rebuilt
        after a refusal, so this runs again on the rebuilt form); else under the block settings."""
        self._fallback_message.hide()
        if self.message is not self._fallback_message and shiboken6.isValid(self.message):
            self.message.hide()  # the previous refusal's row, until the rebuild removes it
        self.message = self._fallback_message
        if self._refusal is None:
            return
        form_name, key, text = self._refusal
        form, fields = ((self.block_form, self.fields) if form_name == "block" else
                        (self.dims_form, self.dim_fields) if form_name == "dims" else (None, {}))
        field = fields.get(key)
        if form is not None and field is not None:
            row, _role = form.getWidgetPosition(field)
            label = QLabel(text)
            label.setWordWrap(True)
            label.setStyleSheet(self._fallback_message.styleSheet())
            label.setAccessibleName(f"Why {key} was refused")
            form.insertRow(row + 1, label)
            self.message = label
        else:
            self.message.setText(text)
        self.message.show()


def _clear(form: QFormLayout):
    while form.rowCount():
        form.removeRow(0)
