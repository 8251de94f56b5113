"""File → Import → llama2.c model…: model.bin + tokenizer.bin → a new run folder, shown on screen."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QFileDialog, QFormLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

from studio._qt.dialogs.export_dialog_parts import BAD_COLOUR, OK_COLOUR, html, row


class ImportDialog(QDialog):
    """File → Import → llama2.c model…: model.bin + tokenizer.bin → a new run folder, shown on screen."""

    def __init__(self, parent=None, on_imported=None):
        super().__init__(parent)
        self.setWindowTitle("Import a llama2.c model")
        self.on_imported = on_imported or (lambda path, arch: None)
        self.worker = None  # the import running on the worker thread, if any
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
            form.addRow(label, row(edit, b))
        lay.addLayout(form)
        self._auto_tokenizer = ""  # the tokenizer path filled in for the model (replaced when the model changes)
        self.model_edit.textChanged.connect(self._prefill_tokenizer)
        self.status_label = QLabel()
        self.status_label.setWordWrap(True)
        self.status_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        lay.addWidget(self.status_label, 1)
        self.import_button = QPushButton("Import")
        self.import_button.setDefault(True)
        self.import_button.clicked.connect(self.do_import)
        close = QPushButton("Close")
        close.clicked.connect(self.close)
        lay.addLayout(row(QWidget(), self.import_button, close))
        self.resize(620, 260)
        self._update()

    def _prefill_tokenizer(self, model_path: str) -> None:
        """The tokenizer lying next to the model (llama2.c keeps them together: tokenizer.bin, or
        one tok*.bin as stories260K's tok512.bin), unless the user typed another one."""
        if self.tok_edit.text().strip() not in ("", self._auto_tokenizer):
            return
        found = tokenizer_beside(model_path.strip())
        self._auto_tokenizer = found
        self.tok_edit.setText(found)

    def _update(self):
        self.import_button.setEnabled(self.worker is None and all(
            e.text().strip() for e in (self.model_edit, self.tok_edit, self.out_edit)))

    def do_import(self):
        """Import on the worker thread (torch and the checkpoint: seconds); the dialog stays live."""
        from studio._qt.worker import start_job
        from studio.core.jobs.llama2c_import import llama2c_import_job
        if self.worker is not None:
            return
        model, tok, out = (e.text().strip() for e in (self.model_edit, self.tok_edit, self.out_edit))
        self.status_label.setText("Importing…")
        self.worker = start_job(lambda control: llama2c_import_job(model, tok, out, control),
                                name="archstudio-llama2c-import", what="the import", parent=self,
                                on_event=self._imported, on_failed=self._failed, on_ended=self._ended)
        self._update()

    def _imported(self, ev):
        d = ev.arch.dims("classroom")
        text = (f"Imported into {ev.out}: dim {d['dim']}, {d['n_layers']} layers, {d['n_heads']} heads "
                f"({d['n_kv_heads']} kv), vocab {d['vocab_size']}, seq_len {d['context']}.")
        self.status_label.setText(f'<span style="color:{OK_COLOUR}"><b>✓</b></span> {html(text)}'
                                  + "".join(f"<br>Warning: {html(w)}" for w in ev.warnings))
        self.on_imported(ev.out, ev.arch)

    def _failed(self, message: str):
        self.status_label.setText(f'<span style="color:{BAD_COLOUR}"><b>✗</b></span> Nothing was imported: '
                                  f"{html(message)}")

    def _ended(self):
        self.worker = None
        self._update()

    def closeEvent(self, event):  # noqa: N802  Qt virtual
        if self.worker is not None:
            self.worker.shutdown()  # the import finishes its folder; nothing is left half-written
        super().closeEvent(event)

    def _pick(self, edit: QLineEdit, title: str, folder: bool = False):
        from studio._qt.dialogs.folders import existing_or, remember
        start = existing_or(edit.text(), "llama2c-import")
        if folder:
            f = QFileDialog.getExistingDirectory(self, title, start)
        else:
            f = QFileDialog.getOpenFileName(self, title, start, "llama2.c files (*.bin);;All files (*)")[0]
        remember("llama2c-import", f)
        if f:
            edit.setText(f)


def tokenizer_beside(model_path: str) -> str:
    """``tokenizer.bin`` in the model's folder, else the only ``tok*.bin`` there; "" when none or several."""
    from pathlib import Path
    if not model_path:
        return ""
    folder = Path(model_path).expanduser().parent
    try:
        if (folder / "tokenizer.bin").is_file():
            return str(folder / "tokenizer.bin")
        candidates = sorted(p for p in folder.glob("tok*.bin") if p.is_file())
    except OSError:
        return ""
    return str(candidates[0]) if len(candidates) == 1 else ""
