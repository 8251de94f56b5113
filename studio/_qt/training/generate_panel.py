"""The Generate panel: prompt, temperature, top-k, top-p, max tokens; text streams in as tokens
are sampled. Works during training (on a weight snapshot the trainer copies between steps),
after it (the run's last snapshot), or on any run folder opened from disk."""
from __future__ import annotations

from PySide6.QtCore import QThread, Signal
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import (QDoubleSpinBox, QFileDialog, QHBoxLayout, QLabel, QLineEdit, QPlainTextEdit,
                               QPushButton, QSpinBox, QVBoxLayout, QWidget)

from studio.core import errors as E


class GenerateWorker(QThread):
    piece = Signal(str)
    failed = Signal(str)

    def __init__(self, source, prompt: str, settings: dict, parent=None):
        super().__init__(parent)
        self.source, self.prompt, self.settings = source, prompt, settings

    def _model(self):
        kind, payload = self.source
        if kind == "run":
            from studio.core.rundir import RunDir
            run = RunDir(payload)
            return run.build_model(), run.tokenizer()
        from studio.core.compiler import compile_architecture
        arch, state, _step, tok = payload
        model = compile_architecture(arch, "classroom", check=False)
        model.load_state_dict(state, strict=False)
        return model.eval(), tok

    def run(self):
        import torch

        from studio.core.training.generation import generate_stream
        try:
            torch.set_num_threads(1)  # the trainer may be using the other cores
            model, tok = self._model()
            for text in generate_stream(model, tok, self.prompt, should_stop=self.isInterruptionRequested, **self.settings):
                self.piece.emit(text)
        except E.StudioError as exc:
            self.failed.emit(str(exc))
        except Exception as exc:  # noqa: BLE001  one line in the panel, not a crash
            self.failed.emit(f"generation failed: {type(exc).__name__}: {exc}")


class GeneratePanel(QWidget):
    def __init__(self, session, parent=None):
        super().__init__(parent)
        self.session = session
        self.worker: GenerateWorker | None = None
        self.run_dir: str | None = None
        self._pending = False
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 4, 6, 4)
        row = QHBoxLayout()
        self.prompt = QLineEdit("Once upon a time")
        self.prompt.setPlaceholderText("Prompt (empty: start a new story from BOS)")
        row.addWidget(QLabel("Prompt"))
        row.addWidget(self.prompt, 1)
        self.temperature = QDoubleSpinBox()
        self.temperature.setRange(0.0, 2.0)
        self.temperature.setSingleStep(0.1)
        self.temperature.setValue(0.8)
        self.temperature.setToolTip("0 = greedy (deterministic)")
        self.top_k = QSpinBox()
        self.top_k.setRange(0, 65535)
        self.top_k.setSpecialValueText("off")
        self.top_k.setToolTip("Sample only among the k most likely tokens (off = all)")
        self.top_p = QDoubleSpinBox()
        self.top_p.setRange(0.0, 1.0)
        self.top_p.setSingleStep(0.05)
        self.top_p.setValue(0.9)
        self.top_p.setSpecialValueText("off")
        self.top_p.setToolTip("Nucleus sampling: the smallest set of tokens whose probability reaches p")
        self.max_tokens = QSpinBox()
        self.max_tokens.setRange(1, 4096)
        self.max_tokens.setValue(200)
        self.max_tokens.setToolTip("New tokens at most (the prompt is not counted); stops early at BOS")
        for label, w in (("T", self.temperature), ("top-k", self.top_k), ("top-p", self.top_p), ("max", self.max_tokens)):
            row.addWidget(QLabel(label))
            row.addWidget(w)
        self.go = QPushButton("Generate")
        self.open_btn = QPushButton("Open run…")
        self.open_btn.setToolTip("Generate from a saved run folder instead of the current training run")
        row.addWidget(self.go)
        row.addWidget(self.open_btn)
        lay.addLayout(row)
        self.source_label = QLabel("")
        lay.addWidget(self.source_label)
        self.output = QPlainTextEdit()
        self.output.setReadOnly(True)
        lay.addWidget(self.output, 1)
        self.go.clicked.connect(self.toggle)
        self.prompt.returnPressed.connect(self.toggle)
        self.open_btn.clicked.connect(self.choose_run)
        session.snapshot_ready.connect(self._snapshot_ready)
        session.prepared.connect(lambda info: self._set_run(info.get("run_dir"), quiet=True))
        self._update_source()

    def _set_run(self, path, quiet=False):
        self.run_dir = path
        self._update_source()

    def _update_source(self):
        snap = self.session.last_snapshot
        if self.session.running:
            self.source_label.setText("Source: a snapshot of the model being trained (taken when you press Generate)")
        elif self.run_dir:
            self.source_label.setText(f"Source: run folder {self.run_dir} (its latest checkpoint)")
        elif snap is not None:
            self.source_label.setText(f"Source: weights at step {snap[2]}")
        else:
            self.source_label.setText("Source: none yet — start training, or open a run folder")

    def choose_run(self):
        folder = QFileDialog.getExistingDirectory(self, "Run folder (RUN_DIR)")
        if folder:
            self._set_run(folder)

    def settings(self) -> dict:
        return {"max_new_tokens": self.max_tokens.value(), "temperature": self.temperature.value(),
                "top_k": self.top_k.value() or None, "top_p": self.top_p.value() or None,
                "seed": None if self.temperature.value() > 0 else 0}

    def toggle(self):
        if self.worker is not None:
            self.worker.requestInterruption()
            return
        if self.session.running and self.session.request_snapshot():
            self._pending = True  # the trainer copies its weights after the current step
            self.go.setEnabled(False)
            self.source_label.setText("Source: waiting for a snapshot of the model being trained…")
            return
        if self.session.running and self.session.last_snapshot is not None:
            self._start(("snapshot", self.session.last_snapshot))
        elif self.run_dir:
            self._start(("run", self.run_dir))
        elif self.session.last_snapshot is not None:
            self._start(("snapshot", self.session.last_snapshot))
        else:
            self.source_label.setText("Nothing to generate from: start training, or open a run folder")

    def _snapshot_ready(self, snap):
        if self._pending:
            self._pending = False
            self.go.setEnabled(True)
            self._start(("snapshot", snap))

    def _start(self, source):
        self.output.clear()
        if source[0] == "snapshot":
            self.source_label.setText(f"Source: weights at step {source[1][2]}")
        self.worker = GenerateWorker(source, self.prompt.text(), self.settings(), self)
        self.worker.piece.connect(self._append)
        self.worker.failed.connect(lambda m: self.source_label.setText(m))
        self.worker.finished.connect(self._finished)
        self.go.setText("Stop")
        self.worker.start(QThread.LowPriority)

    def _append(self, text: str):
        cur = self.output.textCursor()
        cur.movePosition(QTextCursor.End)
        cur.insertText(text)
        self.output.setTextCursor(cur)

    def _finished(self):
        w, self.worker = self.worker, None
        if w is not None:
            w.wait()
            w.deleteLater()
        self.go.setText("Generate")
        self.go.setEnabled(True)

    def shutdown(self):
        if self.worker is not None:
            self.worker.requestInterruption()
            self.worker.wait(30_000)
            self._finished()
