"""The controls every "check a run, then write it out" dialog shares (llama2.c; Hugging Face or
GGUF): the run folder, typed or browsed and checked on each change; a status line and the list of
every reason the run cannot be written; the output path; the result text; Export and Close.
A subclass lays out its own options between them and implements ``check_run``, ``do_export`` and
``_update_buttons``."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QFileDialog, QHBoxLayout, QLabel, QLineEdit, QListWidget, QListWidgetItem, \
    QPlainTextEdit, QPushButton

from studio._qt.dialogs.export_dialog_parts import BAD_COLOUR, OK_COLOUR, html, row


class RunExportDialog(QDialog):
    OUT_BROWSE = ("Output folder", "outside-export")  # the output Browse… dialog's title and remembered key

    def __init__(self, title: str, run_state=None, on_status=None, parent=None):
        """``run_state``: the app's RunState (the model on screen and its run); ``on_status``: the status bar."""
        super().__init__(parent)
        self.setWindowTitle(title)
        self.run_state = run_state
        self.on_status = on_status or (lambda msg: None)

    def _add_run_controls(self, lay, issues_tip: str, issues_stretch: int, status: str = "") -> None:
        self.run_edit = QLineEdit()
        self.run_edit.setPlaceholderText("a training run folder (with run.yaml and checkpoints/)")
        self.run_edit.editingFinished.connect(self.check_run)
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse_run)
        lay.addWidget(QLabel("<b>Run to export</b>"))
        lay.addLayout(row(self.run_edit, browse))
        self.status_label = QLabel(status)
        self.status_label.setWordWrap(True)
        self.status_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        lay.addWidget(self.status_label)
        self.issues_list = QListWidget()
        self.issues_list.setWordWrap(True)
        self.issues_list.setToolTip(issues_tip)
        lay.addWidget(self.issues_list, issues_stretch)

    def _add_output_controls(self, lay, label: str, placeholder: str = "") -> None:
        self.out_edit = QLineEdit()
        if placeholder:
            self.out_edit.setPlaceholderText(placeholder)
        self.out_edit.textChanged.connect(self._update_buttons)
        out_browse = QPushButton("Browse…")
        out_browse.clicked.connect(self._browse_out)
        lay.addWidget(QLabel(label))
        lay.addLayout(row(self.out_edit, out_browse))

    def _add_result_and_buttons(self, lay, placeholder: str, *left_buttons) -> None:
        """The read-only result text, then [left_buttons … stretch, Export, Close]."""
        self.result = QPlainTextEdit()
        self.result.setReadOnly(True)
        self.result.setPlaceholderText(placeholder)
        lay.addWidget(self.result, 1)
        self.export_button = QPushButton("Export")
        self.export_button.setDefault(True)
        self.export_button.clicked.connect(self.do_export)
        close = QPushButton("Close")
        close.clicked.connect(self.close)
        buttons = QHBoxLayout()
        for b in left_buttons:
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(self.export_button)
        buttons.addWidget(close)
        lay.addLayout(buttons)

    def _add_issue(self, issue) -> None:
        item = QListWidgetItem(f"✗  {issue}")
        item.setToolTip(str(issue))
        self.issues_list.addItem(item)
        self.issues_list.show()

    def _set_status(self, ok: bool | None, text: str):
        if ok is None:
            self.status_label.setText(text)
            return
        mark, colour = ("✓", OK_COLOUR) if ok else ("✗", BAD_COLOUR)
        self.status_label.setText(f'<span style="color:{colour}"><b>{mark}</b></span> {html(text)}')

    def _browse_run(self):
        from studio._qt.dialogs.folders import app_folder, existing_or, remember
        d = QFileDialog.getExistingDirectory(self, "Choose a training run folder",
                                             existing_or(self.run_edit.text(), "run", app_folder("runs")))
        remember("run", d)
        if d:
            self.run_edit.setText(d)
            self.check_run()

    def _browse_out(self):
        from studio._qt.dialogs.folders import existing_or, remember
        title, key = self.OUT_BROWSE
        d = QFileDialog.getExistingDirectory(self, title, existing_or(self.out_edit.text(), key))
        remember(key, d)
        if d:
            self.out_edit.setText(d)
