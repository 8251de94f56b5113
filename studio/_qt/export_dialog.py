"""File → Export → llama2.c…: check a training run against llama2.c, then write model.bin + tokenizer.bin.

Every reason a run cannot run in llama2.c is listed before anything is written (Export stays
disabled until there are none). The format choice is fp32 version 0 (karpathy's ``run``) or
Q8_0 version 2 (``runq``); afterwards the dialog shows the exact command line to try. Export of
even a 15M-parameter model takes well under a second, so it runs on the GUI thread.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (QButtonGroup, QDialog, QFileDialog, QFormLayout, QGroupBox, QHBoxLayout, QLabel,
                               QLineEdit, QListWidget, QListWidgetItem, QPlainTextEdit, QPushButton, QRadioButton,
                               QSpinBox, QVBoxLayout, QWidget)

from studio.core import errors as E

OK_COLOUR, BAD_COLOUR = "#009E73", "#D55E00"  # Okabe–Ito green / vermillion, always with ✓ / ✗ and words


class ExportDialog(QDialog):
    def __init__(self, parent=None, timeline_model=None, run_dir: str | None = None, on_status=None):
        super().__init__(parent)
        self.setWindowTitle("Export to llama2.c")
        self.timeline_model = timeline_model
        self.on_status = on_status or (lambda msg: None)
        self.compatible = False
        self.run_path: Path | None = None
        self.last_result = None
        self.dims: dict | None = None
        self._build()
        self._show_on_screen_model()
        if run_dir:
            self.run_edit.setText(str(run_dir))
            self.check_run()
        self._update_buttons()

    # ------------------------------------------------------------------ layout
    def _build(self):
        lay = QVBoxLayout(self)
        intro = QLabel("Writes <b>model.bin</b> and <b>tokenizer.bin</b> for karpathy's llama2.c: "
                       "<tt>run</tt> reads the fp32 file (version 0), <tt>runq</tt> the Q8_0 one (version 2).")
        intro.setWordWrap(True)
        lay.addWidget(intro)
        self.screen_label = QLabel()
        self.screen_label.setWordWrap(True)
        lay.addWidget(self.screen_label)

        self.run_edit = QLineEdit()
        self.run_edit.setPlaceholderText("a training run folder (RUN_DIR with run.yaml and checkpoints/)")
        self.run_edit.editingFinished.connect(self.check_run)
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse_run)
        lay.addWidget(QLabel("<b>Run to export</b>"))
        lay.addLayout(_row(self.run_edit, browse))

        self.status_label = QLabel("Choose a run folder to check it.")
        self.status_label.setWordWrap(True)
        self.status_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        lay.addWidget(self.status_label)
        self.issues_list = QListWidget()
        self.issues_list.setWordWrap(True)
        self.issues_list.setMinimumHeight(90)
        self.issues_list.setToolTip("Each block that keeps the run out of llama2.c, and what would fix it")
        lay.addWidget(self.issues_list, 3)

        fmt = QGroupBox("Format")
        fl = QFormLayout(fmt)
        self.fp32_radio = QRadioButton("fp32, version 0 — for run")
        self.q8_radio = QRadioButton("Q8_0, version 2 — for runq (int8 weights: a smaller file, small rounding error)")
        self.fp32_radio.setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.fp32_radio)
        group.addButton(self.q8_radio)
        self.group_spin = QSpinBox()
        self.group_spin.setRange(0, 4096)
        self.group_spin.setSpecialValueText("automatic")
        self.group_spin.setToolTip("Q8_0 group size: must divide both dim and hidden_dim (runq misreads the file otherwise)")
        self.group_note = QLabel()
        fl.addRow(self.fp32_radio)
        fl.addRow(self.q8_radio)
        fl.addRow("Group size:", _row(self.group_spin, self.group_note))
        self.prompt_edit = QLineEdit("Once upon a time")
        self.prompt_edit.setToolTip("Prompt used in the command line shown after export")
        self.new_spin = QSpinBox()
        self.new_spin.setRange(1, 100000)
        self.new_spin.setValue(200)
        self.new_spin.setToolTip("New tokens for the command line (run's -n also counts BOS and the prompt)")
        fl.addRow("Prompt:", self.prompt_edit)
        fl.addRow("New tokens:", self.new_spin)
        lay.addWidget(fmt)
        for w in (self.fp32_radio, self.q8_radio):
            w.toggled.connect(self._update_buttons)
        self.group_spin.valueChanged.connect(self._update_buttons)

        self.out_edit = QLineEdit()
        self.out_edit.setPlaceholderText("folder for model.bin and tokenizer.bin")
        self.out_edit.textChanged.connect(self._update_buttons)
        out_browse = QPushButton("Browse…")
        out_browse.clicked.connect(self._browse_out)
        lay.addWidget(QLabel("<b>Output folder</b>"))
        lay.addLayout(_row(self.out_edit, out_browse))

        self.result = QPlainTextEdit()
        self.result.setReadOnly(True)
        self.result.setPlaceholderText("The command line to try appears here after export.")
        self.result.setMinimumHeight(80)
        lay.addWidget(self.result, 1)

        self.export_button = QPushButton("Export")
        self.export_button.setDefault(True)
        self.export_button.clicked.connect(self.do_export)
        self.copy_button = QPushButton("Copy command")
        self.copy_button.clicked.connect(self._copy)
        close = QPushButton("Close")
        close.clicked.connect(self.close)
        buttons = QHBoxLayout()
        buttons.addWidget(self.copy_button)
        buttons.addStretch(1)
        buttons.addWidget(self.export_button)
        buttons.addWidget(close)
        lay.addLayout(buttons)
        self.resize(640, 640)

    # ------------------------------------------------------------------ checking
    def _show_on_screen_model(self):
        """Say whether the model on screen fits llama2.c (before any run exists) and, while no run is
        chosen, list its reasons, so the user learns what to change before training."""
        arch = getattr(self.timeline_model, "arch", None)
        if arch is None:
            self.screen_label.hide()
            return
        from studio.core.llama2c import check_llama2c
        title = arch.meta.get("title", arch.id)
        try:
            issues = check_llama2c(arch, "classroom")
        except E.StudioError as exc:
            issues = [exc]
        n = len(issues)
        self.screen_label.setText(f"The model on screen, {title}, " + (
            "fits llama2.c: train it, then export the run." if not n else
            f"does not fit llama2.c as it is ({n} reason{'s' if n > 1 else ''}"
            + (", listed below until you choose a run)." if not self.run_edit.text().strip() else ").")))
        if not self.run_edit.text().strip():
            self.issues_list.clear()
            self.issues_list.setVisible(bool(issues))
            for i in issues:
                self._add_issue(i)

    def _add_issue(self, issue):
        item = QListWidgetItem(f"✗  {issue}")
        item.setToolTip(str(issue))
        self.issues_list.addItem(item)
        self.issues_list.show()

    def check_run(self):
        from studio.core.llama2c import check_llama2c
        from studio.core.llama2c.check import match_llama2c
        from studio.core.rundir import RunDir
        text = self.run_edit.text().strip()
        self.issues_list.clear()
        self.issues_list.hide()  # shown again by the first reason; a clean run leaves room for the result
        self.compatible, self.run_path, self.dims = False, None, None
        if not text:
            self._set_status(None, "Choose a run folder to check it.")
            self._show_on_screen_model()
            self._update_buttons()
            return
        run = RunDir(text)
        try:
            arch, scale, tok = run.architecture(), run.scale(), run.tokenizer()
            issues = check_llama2c(arch, scale, tok)
            if not run.has_checkpoint():
                issues.append(E.StudioError(f"{run.path}: no checkpoint yet; train the run first"))
        except E.StudioError as exc:
            self._set_status(False, str(exc))
            self._update_buttons()
            return
        for i in issues:
            self._add_issue(i)
        self.run_path = run.path
        if issues:
            self._set_status(False, f"{len(issues)} reason{'s' if len(issues) > 1 else ''} this run cannot run in "
                                    "llama2.c; fix them in the model and train again:")
        else:
            m = match_llama2c(arch, scale, tok)
            self.dims = m.dims
            d = m.dims
            self.compatible = True
            self._set_status(True, f"Ready: dim {d['dim']}, hidden {d['hidden_dim']}, {d['n_layers']} layers, "
                                   f"{d['n_heads']} heads ({d['n_kv_heads']} kv), vocab {d['vocab_size']}, "
                                   f"seq_len {d['seq_len']}, {'tied' if m.tied else 'untied'} classifier.")
            if not self.out_edit.text().strip():
                self.out_edit.setText(str(run.path / "llama2c"))
        self._update_buttons()

    def _set_status(self, ok: bool | None, text: str):
        if ok is None:
            self.status_label.setText(text)
            return
        mark, colour = ("✓", OK_COLOUR) if ok else ("✗", BAD_COLOUR)
        self.status_label.setText(f'<span style="color:{colour}"><b>{mark}</b></span> {_html(text)}')

    def _group_problem(self) -> str | None:
        if not (self.q8_radio.isChecked() and self.dims):
            self.group_note.setText("")
            return None
        from studio.core.llama2c import pick_group_size
        try:
            gs = pick_group_size(self.dims["dim"], self.dims["hidden_dim"], self.group_spin.value() or None)
        except E.StudioError as exc:
            self.group_note.setText(f'<span style="color:{BAD_COLOUR}">✗</span> does not fit')
            return str(exc)
        self.group_note.setText(f"uses {gs}")
        return None

    def _update_buttons(self):
        self.group_spin.setEnabled(self.q8_radio.isChecked())
        problem = self._group_problem()
        self.export_button.setEnabled(self.compatible and problem is None and bool(self.out_edit.text().strip()))
        self.export_button.setToolTip(problem or ("" if self.compatible else "The run must pass the check first"))
        self.copy_button.setEnabled(self.last_result is not None)

    # ------------------------------------------------------------------ actions
    def do_export(self):
        from studio.core.llama2c.runio import export_run
        if not (self.compatible and self.run_path):
            return
        out = Path(self.out_edit.text().strip())
        QGuiApplication.setOverrideCursor(Qt.WaitCursor)
        try:
            r = export_run(self.run_path, out, quantize="q8_0" if self.q8_radio.isChecked() else None,
                           group_size=self.group_spin.value() or None, prompt=self.prompt_edit.text(),
                           max_new_tokens=self.new_spin.value())
        except (E.StudioError, OSError) as exc:
            self._set_status(False, f"Nothing was exported: {exc}")
            return
        finally:
            QGuiApplication.restoreOverrideCursor()
        self.last_result = r
        what = (f"Q8_0, group size {r.group_size}, max |error| {r.max_quant_error:.2g}" if r.version == 2 else "fp32")
        lines = [r.command, "",
                 f"Wrote {r.model_path} ({what}, {r.bytes:,} bytes) and {r.tokenizer_path}.",
                 f"-n {r.steps} counts BOS and the prompt: same text as Generate with {r.new_tokens} new tokens "
                 "at temperature 0."] + [f"Note: {n}" for n in r.notes]
        self.result.setPlainText("\n".join(lines))
        self._set_status(True, f"Exported to {out}.")
        self.on_status(f"Exported {self.run_path.name} to {out} for llama2.c")
        self._update_buttons()

    def _copy(self):
        if self.last_result is not None:
            QGuiApplication.clipboard().setText(self.last_result.command)

    def _browse_run(self):
        d = QFileDialog.getExistingDirectory(self, "Choose a training run folder", self.run_edit.text())
        if d:
            self.run_edit.setText(d)
            self.check_run()

    def _browse_out(self):
        d = QFileDialog.getExistingDirectory(self, "Folder for model.bin and tokenizer.bin", self.out_edit.text())
        if d:
            self.out_edit.setText(d)


def _row(*widgets) -> QHBoxLayout:
    h = QHBoxLayout()
    for w in widgets:
        if isinstance(w, QWidget):
            h.addWidget(w, 1 if isinstance(w, QLineEdit) else 0)
        else:
            h.addLayout(w)
    return h


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def open_dialog(window, run_dir: str | None = None) -> ExportDialog:
    dlg = getattr(window, "_llama2c_export_dialog", None)
    if dlg is None:
        dlg = ExportDialog(window, getattr(window, "timeline_model", None), run_dir,
                           on_status=getattr(window, "show_status", None))
        window._llama2c_export_dialog = dlg
    else:
        dlg._show_on_screen_model()
        if run_dir:
            dlg.run_edit.setText(str(run_dir))
            dlg.check_run()
    dlg.show()
    dlg.raise_()
    dlg.activateWindow()
    return dlg


class ImportDialog(QDialog):
    """File → Import → llama2.c model…: model.bin + tokenizer.bin → a new run folder, shown on screen."""

    def __init__(self, parent=None, on_imported=None):
        super().__init__(parent)
        self.setWindowTitle("Import a llama2.c model")
        self.on_imported = on_imported or (lambda path, arch: None)
        lay = QVBoxLayout(self)
        intro = QLabel("Turns a llama2.c <b>model.bin</b> (version 0, 1 or 2) and its <b>tokenizer.bin</b> into a "
                       "run folder: the LLaMA-2 graph at the file's size, ready for Generate, Inspect, Export "
                       "and further training.")
        intro.setWordWrap(True)
        lay.addWidget(intro)
        form = QFormLayout()
        self.model_edit, self.tok_edit, self.out_edit = QLineEdit(), QLineEdit(), QLineEdit()
        self.model_edit.setPlaceholderText("e.g. stories15M.bin")
        self.tok_edit.setPlaceholderText("the tokenizer.bin that belongs to it")
        self.out_edit.setPlaceholderText("a new, empty folder")
        for label, edit, title, folder in (("Model:", self.model_edit, "llama2.c model.bin", False),
                                           ("Tokenizer:", self.tok_edit, "Its tokenizer.bin", False),
                                           ("Run folder:", self.out_edit, "Empty folder for the run", True)):
            b = QPushButton("Browse…")
            b.clicked.connect(lambda _c=False, e=edit, t=title, f=folder: self._pick(e, t, f))
            edit.textChanged.connect(self._update)
            form.addRow(label, _row(edit, b))
        lay.addLayout(form)
        self.status_label = QLabel()
        self.status_label.setWordWrap(True)
        self.status_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        lay.addWidget(self.status_label, 1)
        self.import_button = QPushButton("Import")
        self.import_button.setDefault(True)
        self.import_button.clicked.connect(self.do_import)
        close = QPushButton("Close")
        close.clicked.connect(self.close)
        lay.addLayout(_row(QWidget(), self.import_button, close))
        self.resize(620, 260)
        self._update()

    def _update(self):
        self.import_button.setEnabled(all(e.text().strip() for e in (self.model_edit, self.tok_edit, self.out_edit)))

    def do_import(self):
        from studio.core.llama2c.runio import import_llama2c
        from studio.core.rundir import RunDir
        QGuiApplication.setOverrideCursor(Qt.WaitCursor)
        try:
            out, warnings = import_llama2c(self.model_edit.text().strip(), self.tok_edit.text().strip(),
                                           self.out_edit.text().strip())
            arch = RunDir(out).architecture()
        except (E.StudioError, OSError) as exc:
            self.status_label.setText(f'<span style="color:{BAD_COLOUR}"><b>✗</b></span> Nothing was imported: '
                                      f"{_html(str(exc))}")
            return
        finally:
            QGuiApplication.restoreOverrideCursor()
        d = arch.dims("classroom")
        text = (f"Imported into {out}: dim {d['dim']}, {d['n_layers']} layers, {d['n_heads']} heads "
                f"({d['n_kv_heads']} kv), vocab {d['vocab_size']}, seq_len {d['context']}.")
        self.status_label.setText(f'<span style="color:{OK_COLOUR}"><b>✓</b></span> {_html(text)}'
                                  + "".join(f"<br>Warning: {_html(w)}" for w in warnings))
        self.on_imported(out, arch)

    def _pick(self, edit: QLineEdit, title: str, folder: bool = False):
        if folder:
            f = QFileDialog.getExistingDirectory(self, title, edit.text())
        else:
            f = QFileDialog.getOpenFileName(self, title, edit.text(), "llama2.c files (*.bin);;All files (*)")[0]
        if f:
            edit.setText(f)


def _submenu(window, title: str):
    file_menu = window.menu("File")
    sub = next((a.menu() for a in file_menu.actions()
                if a.menu() is not None and a.menu().title().replace("&", "") == title), None)
    return sub if sub is not None else file_menu.addMenu(f"&{title}")


def open_import_dialog(window) -> ImportDialog:
    def shown(path, arch):
        tm = getattr(window, "timeline_model", None)
        if tm is not None and hasattr(tm, "set_custom"):
            tm.set_custom(None, arch)  # the imported graph goes on screen, off the timeline
        if hasattr(window, "show_status"):
            window.show_status(f"Imported {arch.meta.get('title', arch.id)} into {path}")
    dlg = getattr(window, "_llama2c_import_dialog", None)
    if dlg is None:
        dlg = window._llama2c_import_dialog = ImportDialog(window, shown)
    dlg.show()
    dlg.raise_()
    return dlg


def install(window) -> None:
    """Add File → Export → llama2.c… and File → Import → llama2.c model… to the main window."""
    act = _submenu(window, "Export").addAction("llama2.c…")
    act.setStatusTip("Check a training run against llama2.c and write model.bin + tokenizer.bin for run / runq")
    act.triggered.connect(lambda _checked=False: open_dialog(window))
    window.export_llama2c_action = act
    imp = _submenu(window, "Import").addAction("llama2.c model…")
    imp.setStatusTip("Turn a llama2.c model.bin + tokenizer.bin into a run folder and show its graph")
    imp.triggered.connect(lambda _checked=False: open_import_dialog(window))
    window.import_llama2c_action = imp
