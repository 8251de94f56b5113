"""File → Export → Hugging Face or GGUF…: check a training run, then write a transformers
checkpoint folder or one GGUF file for llama.cpp.

Like the llama2.c dialog it offers the run of the model on screen and lists every reason the
run cannot be written before anything is written (Export stays disabled until there are none;
the check reads no weights). The export itself runs on the app's one worker thread: importing
transformers and loading the result back to check it takes seconds, and the window stays live.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QButtonGroup, QLabel, QRadioButton, QVBoxLayout

from studio._qt.dialogs.export_dialog_parts import row
from studio._qt.dialogs.run_export_base import RunExportDialog

OUT_NAMES = {"hf": "hf", "gguf": "model.gguf"}


class OutsideExportDialog(RunExportDialog):
    def __init__(self, run_state=None, run_dir: str | None = None, on_status=None, parent=None):
        super().__init__("Export to Hugging Face or GGUF", run_state, on_status, parent)
        self.ready = False
        self.worker = None
        self.last_out: str | None = None
        self._auto_out = ""
        self._build()
        if run_dir is None and run_state is not None and run_state.run_dir is not None:
            run_dir = str(run_state.run_dir)
        if run_dir:
            self.run_edit.setText(str(run_dir))
        self.check_run()

    # ------------------------------------------------------------------ layout
    def _build(self):
        lay = QVBoxLayout(self)
        intro = QLabel("Writes a <b>Hugging Face</b> checkpoint (model.safetensors, config.json, tokenizer files "
                       "that <tt>transformers</tt> loads) or one <b>GGUF</b> file that llama.cpp, Ollama and "
                       "LM Studio load. Needs the 'export' extra: <tt>pip install 'llm-architecture-studio[export]'</tt>.")
        intro.setWordWrap(True)
        lay.addWidget(intro)
        self.hf_radio = QRadioButton("Hugging Face (LLaMA, Qwen, Mixtral, DeepSeek-V3)")
        self.gguf_radio = QRadioButton("GGUF for llama.cpp (the same families)")
        self.hf_radio.setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.hf_radio)
        group.addButton(self.gguf_radio)
        lay.addLayout(row(self.hf_radio, self.gguf_radio))
        for r in (self.hf_radio, self.gguf_radio):
            r.toggled.connect(lambda on: on and self.check_run())

        self._add_run_controls(lay, "Each block that keeps the run out of this format, and what would fix it", 2)
        self._add_output_controls(lay, "<b>Output</b> (a folder for Hugging Face, a .gguf file or a folder for GGUF)")
        self._add_result_and_buttons(lay, "What was written, and how to load it, appears here after export.")
        self.resize(640, 560)

    @property
    def fmt(self) -> str:
        return "gguf" if self.gguf_radio.isChecked() else "hf"

    # ------------------------------------------------------------------ checking
    def check_run(self):
        from studio.core.formats.outside import FORMATS, export_problems
        text = self.run_edit.text().strip()
        self.issues_list.clear()
        self.ready = False
        if self._auto_out and self.out_edit.text().strip() == self._auto_out:
            self.out_edit.clear()  # suggested for another run or format
        if not text:
            self._set_status(None, "Choose a run folder to check it.")
        else:
            what, problems = export_problems(text, self.fmt)
            for p in problems:
                self._add_issue(p)
            if problems:
                n = len(problems)
                self._set_status(False, f"{n} reason{'s' if n > 1 else ''} this run cannot be written for "
                                        f"{FORMATS[self.fmt]}:")
            else:
                self.ready = True
                self._set_status(True, f"Ready: written as {what}.")
                if not self.out_edit.text().strip():
                    self._auto_out = str(Path(text) / OUT_NAMES[self.fmt])
                    self.out_edit.setText(self._auto_out)
        self.issues_list.setVisible(self.issues_list.count() > 0)
        self._update_buttons()

    def _update_buttons(self):
        busy = self.worker is not None
        self.export_button.setEnabled(self.ready and not busy and bool(self.out_edit.text().strip()))
        self.export_button.setToolTip("" if self.ready else "The run must pass the check first")
        for w in (self.hf_radio, self.gguf_radio, self.run_edit):
            w.setEnabled(not busy)

    # ------------------------------------------------------------------ export (on the worker)
    def do_export(self):
        from studio._qt.worker import start_job
        from studio.core.jobs.export import export_job
        if not self.ready or self.worker is not None:
            return
        run, out, fmt = self.run_edit.text().strip(), self.out_edit.text().strip(), self.fmt
        self.result.clear()
        self.worker = start_job(lambda control: export_job(run, out, fmt, control), name="archstudio-export",
                                what="the export", parent=self, on_event=self._event, on_failed=self._failed,
                                on_ended=self._ended)
        self._update_buttons()

    def _event(self, ev):
        from studio.core.jobs.export import ExportStarted, ExportWritten
        if isinstance(ev, ExportStarted):
            self._set_status(None, f"Writing for {ev.what} and loading it back to check it…")
        elif isinstance(ev, ExportWritten):
            self.last_out = ev.out
            self.result.setPlainText("\n".join(ev.lines))
            self._set_status(True, f"Exported to {ev.out}.")
            self.on_status(f"Exported {Path(self.run_edit.text().strip()).name} to {ev.out}")

    def _failed(self, message: str):
        self._set_status(False, f"Nothing was exported: {message}")

    def _ended(self):
        self.worker = None
        self._update_buttons()

    def closeEvent(self, event):
        if self.worker is not None:
            self.worker.shutdown()
        super().closeEvent(event)
