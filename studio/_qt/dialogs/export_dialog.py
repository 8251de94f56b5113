"""File → Export → llama2.c…: check a training run against llama2.c, then write model.bin + tokenizer.bin.

Every reason a run cannot run in llama2.c is listed before anything is written (Export stays
disabled until there are none). The dialog follows ``RunState``: the run of the model on screen
is the one offered, and the texts describe what is chosen now (the model on screen until a run
is chosen, then that run), never what was on screen before. The format choice is fp32 version 0 (karpathy's ``run``) or
Q8_0 version 2 (``runq``); afterwards the dialog shows the exact command line to try. Export of
even a 15M-parameter model takes well under a second, so it runs on the GUI thread.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (QButtonGroup, QFormLayout, QGroupBox, QLabel, QLineEdit, QPushButton, QRadioButton,
                               QSpinBox, QVBoxLayout)

from studio._qt.dialogs.export_dialog_parts import BAD_COLOUR, OK_COLOUR, row
from studio._qt.dialogs.import_dialog import ImportDialog
from studio._qt.dialogs.run_export_base import RunExportDialog
from studio.core import errors as E

__all__ = ["ExportDialog", "ImportDialog", "Llama2cActions", "OK_COLOUR", "BAD_COLOUR"]


class ExportDialog(RunExportDialog):
    OUT_BROWSE = ("Folder for model.bin and tokenizer.bin", "llama2c-export")

    def __init__(self, run_state=None, run_dir: str | None = None, on_status=None, parent=None):
        """``run_state``: the app's RunState (the model on screen and its run); ``run_dir``: a folder to check now."""
        super().__init__("Export to llama2.c", run_state, on_status, parent)
        self.compatible = False
        self.run_path: Path | None = None
        self.last_result = None
        self.dims: dict | None = None
        self._offered: str = ""  # the folder we filled in from RunState (replaced when the model changes)
        self._auto_out: str = ""  # the output folder we suggested (replaced with the next run's)
        self._stale = False  # the model on screen changed while the dialog was hidden
        self._build()
        self._show_on_screen_model()
        if run_dir:
            self.run_edit.setText(str(run_dir))
            self.check_run()
        else:
            self.follow_run(force=True)
        self._update_buttons()
        if run_state is not None:
            run_state.changed.connect(self.follow_run)

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

        self._add_run_controls(lay, "Each block that keeps the run out of llama2.c, and what would fix it", 3,
                               status="Choose a run folder to check it.")
        self.issues_list.setMinimumHeight(90)

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
        fl.addRow("Group size:", row(self.group_spin, self.group_note))
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

        self._add_output_controls(lay, "<b>Output folder</b>", "folder for model.bin and tokenizer.bin")
        self.copy_button = QPushButton("Copy command")
        self.copy_button.clicked.connect(self._copy)
        self._add_result_and_buttons(lay, "The command line to try appears here after export.", self.copy_button)
        self.result.setMinimumHeight(80)
        self.resize(640, 640)

    # ------------------------------------------------------------------ checking
    def _on_screen_arch(self):
        doc = None if self.run_state is None else self.run_state.document
        return None if doc is None else doc.architecture

    def follow_run(self, force: bool = False):
        """Offer the run of the model on screen; a folder the user typed or browsed stays.
        A hidden dialog only notes that it is stale (scrubbing must not pay for its checks)."""
        if not (force or self.isVisible()):
            self._stale = True
            return
        self._stale = False
        rd = None if self.run_state is None else self.run_state.run_dir
        text = self.run_edit.text().strip()
        if text and text != self._offered:
            self._show_on_screen_model()
            return
        new = str(rd) if rd is not None else ""
        self._offered = new
        if new != text:
            self.run_edit.setText(new)
            self.check_run()
        else:
            self._show_on_screen_model()

    def showEvent(self, event):
        if self._stale:
            self.follow_run(force=True)
        super().showEvent(event)

    def _show_on_screen_model(self):
        """Say whether the model on screen fits llama2.c (before any run exists) and, while no run is
        chosen, list its reasons, so the user learns what to change before training. Once a run is
        chosen the run's own check is what counts: the on-screen model's reasons go away."""
        arch = self._on_screen_arch()
        if arch is None or self.run_edit.text().strip():
            self.screen_label.hide()
            self.screen_label.clear()
            return
        self.screen_label.show()
        from studio.core.formats.llama2c import check_llama2c
        title = arch.meta.get("title", arch.id)
        try:
            issues = check_llama2c(arch, "classroom")
        except E.StudioError as exc:
            issues = [exc]
        n = len(issues)
        self.screen_label.setText(f"The model on screen, {title}, " + (
            "fits llama2.c: train it, then export the run." if not n else
            f"does not fit llama2.c as it is ({n} reason{'s' if n > 1 else ''}, listed below until you choose a run)."))
        self.issues_list.clear()
        self.issues_list.setVisible(bool(issues))
        for i in issues:
            self._add_issue(i)

    def check_run(self):
        from studio.core.formats.llama2c import check_llama2c
        from studio.core.formats.llama2c.check import match_llama2c
        from studio.core.runs.rundir import RunDir
        text = self.run_edit.text().strip()
        self.issues_list.clear()
        self.issues_list.hide()  # shown again by the first reason; a clean run leaves room for the result
        self.compatible, self.run_path, self.dims = False, None, None
        if self._auto_out and self.out_edit.text().strip() == self._auto_out:
            self.out_edit.clear()  # suggested for the previous run, not for this one
        if not text:
            self._set_status(None, "Choose a run folder to check it.")
            self._show_on_screen_model()
            self._update_buttons()
            return
        self._show_on_screen_model()  # a run is chosen: the on-screen model's line goes
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
                self._auto_out = str(run.path / "llama2c")
                self.out_edit.setText(self._auto_out)
        self._update_buttons()

    def _group_problem(self) -> str | None:
        if not (self.q8_radio.isChecked() and self.dims):
            self.group_note.setText("")
            return None
        from studio.core.formats.llama2c import pick_group_size
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
        from studio.core.formats.llama2c.runio import export_run
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



def _submenu(file_menu, title: str):
    sub = next((a.menu() for a in file_menu.actions()
                if a.menu() is not None and a.menu().title().replace("&", "") == title), None)
    return sub if sub is not None else file_menu.addMenu(f"&{title}")


class Llama2cActions:
    """File → Export → llama2.c… and File → Import → llama2.c model…, on the app's model.

    ``model`` is the StudioModel: the export dialog reads ``model.run``; an import opens the
    new run folder as an "imported" document (``model.open_architecture``), so Generate,
    Attention, Routing and Export all use it.
    """

    def __init__(self, model, parent=None, show_status=None):
        self.model, self.parent = model, parent
        self.show_status = show_status or (lambda msg, timeout_ms=8000: None)
        self.export_dialog: ExportDialog | None = None
        self.import_dialog: ImportDialog | None = None
        self.outside_dialog = None  # File → Export → Hugging Face or GGUF… (outside_export_dialog.py)
        self.export_action = self.import_action = None

    def fill_file_menu(self, file_menu) -> None:
        act = _submenu(file_menu, "Export").addAction("llama2.c…")
        act.setStatusTip("Check a training run against llama2.c and write model.bin + tokenizer.bin for run / runq")
        act.triggered.connect(lambda _checked=False: self.open_export())
        out = _submenu(file_menu, "Export").addAction("Hugging Face or GGUF…")
        out.setStatusTip("Check a training run and write a transformers checkpoint or a GGUF file for llama.cpp")
        out.triggered.connect(lambda _checked=False: self.open_outside_export())
        imp = _submenu(file_menu, "Import").addAction("llama2.c model…")
        imp.setStatusTip("Turn a llama2.c model.bin + tokenizer.bin into a run folder and show its graph")
        imp.triggered.connect(lambda _checked=False: self.open_import())
        self.export_action, self.import_action = act, imp

    def open_export(self, run_dir: str | None = None) -> ExportDialog:
        dlg = self.export_dialog
        if dlg is None:
            dlg = self.export_dialog = ExportDialog(self.model.run, run_dir, on_status=self.show_status,
                                                    parent=self.parent)
        elif run_dir:
            dlg.run_edit.setText(str(run_dir))
            dlg.check_run()
        dlg.show()
        dlg.raise_()
        dlg.activateWindow()
        return dlg

    def open_outside_export(self, run_dir: str | None = None):
        from studio._qt.dialogs.outside_export_dialog import OutsideExportDialog
        if self.outside_dialog is None:
            self.outside_dialog = OutsideExportDialog(self.model.run, run_dir, on_status=self.show_status,
                                                      parent=self.parent)
        elif run_dir:
            self.outside_dialog.run_edit.setText(str(run_dir))
            self.outside_dialog.check_run()
        self.outside_dialog.show()
        self.outside_dialog.raise_()
        return self.outside_dialog

    def imported(self, path, arch) -> None:
        """The imported graph goes on screen as a document of its own, off the timeline, with its run."""
        title = arch.meta.get("title", arch.id)
        self.model.open_architecture(arch, "imported", title, run_dir=path)
        self.show_status(f"Imported {title} into {path}")

    def open_import(self) -> ImportDialog:
        dlg = self.import_dialog
        if dlg is None:
            dlg = self.import_dialog = ImportDialog(self.parent, self.imported)
        dlg.show()
        dlg.raise_()
        return dlg
