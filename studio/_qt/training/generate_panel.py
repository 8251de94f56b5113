"""The Generate panel: prompt, temperature, top-k, top-p, max tokens; text streams in as tokens
are sampled. It generates from the run of the model on screen (``RunState``): a weight snapshot
of its live training run (copied between steps), or its run folder's latest checkpoint (an
imported run, a project's run, a lesson's prepared run). Another model on screen: the output
of the previous one is cleared, never carried over. A run that carries a chat template (the
ChatGPT experiment's folder) is talked to turn by turn instead: each Send is one user turn, and
the conversation so far stays in the model's context."""
from __future__ import annotations

from PySide6.QtCore import QThread
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import (QDoubleSpinBox, QHBoxLayout, QLabel, QLineEdit, QPlainTextEdit, QPushButton, QSpinBox,
                               QVBoxLayout, QWidget)

from studio._qt.text import STRAY_NOTE, stray_bytes_marked
from studio._qt.training.panel import readable_sample
from studio._qt.worker import Worker, start_job
from studio.core.jobs.generate import TextPiece, generate_job
from studio.core.jobs.weights import WeightsSource, source_for


class GeneratePanel(QWidget):
    def __init__(self, run_state, session=None, parent=None):
        """``run_state``: whose run to generate from; ``session``: asked for a fresh snapshot while training."""
        super().__init__(parent)
        self.run_state, self.session = run_state, session
        self.worker: Worker | None = None
        self._retired: list[Worker] = []  # stopped for an older model, kept until their thread has ended
        self._pending = None   # the snapshot we had when we asked the trainer for a fresh one
        self._waiting = False
        self._identity = None  # (document key, source, run folder) the output belongs to
        self._chat, self._turns, self._reply = None, [], []  # chat template, [(user, reply)], this reply's pieces
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
        row.addWidget(self.go)
        lay.addLayout(row)
        self.source_label = QLabel("")
        self.source_label.setWordWrap(True)
        lay.addWidget(self.source_label)
        self.output = QPlainTextEdit()
        self.output.setReadOnly(True)
        self.output.setToolTip(STRAY_NOTE)
        lay.addWidget(self.output, 1)
        self.go.clicked.connect(self.toggle)
        self.prompt.returnPressed.connect(self.toggle)
        run_state.changed.connect(self._run_changed)
        self._run_changed()

    # ------------------------------------------------------------------ mirroring the run
    def _identity_now(self):
        r = self.run_state
        return (r.key, r.source, None if r.run_dir is None else str(r.run_dir))

    def _run_changed(self):
        ident = self._identity_now()
        if ident != self._identity:  # another model (or another run of it): nothing of the old one stays
            self._identity = ident
            self._waiting, self._pending = False, None
            self.go.setEnabled(True)
            if self.worker is not None:
                self.worker.stop()
                self._retired.append(self.worker)
                self.worker = None
                self.go.setText("Generate")
            self.output.clear()
            self._set_chat(self._chat_template())
        if self._waiting and self.run_state.snapshot is not None and self.run_state.snapshot is not self._pending:
            self._waiting, self._pending = False, None
            self.go.setEnabled(True)
            self._start(self._source())
            return
        if self.worker is None and not self._waiting:
            self._update_source()

    def _chat_template(self):
        """The chat template of the run folder on screen (not while a snapshot of training is shown)."""
        from studio.core.errors import StudioError
        from studio.core.experiments.chat_template import template_of_run
        rd = self.run_state.run_dir
        if rd is None or self.run_state.snapshot is not None:
            return None
        try:
            return template_of_run(rd)
        except StudioError:
            return None

    def _set_chat(self, template) -> None:
        self._chat, self._turns, self._reply = template, [], []
        self.go.setText("Send" if template else "Generate")
        self.prompt.setPlaceholderText("Your turn: Enter sends it to the chat model" if template
                                       else "Prompt (empty: start a new story from BOS)")
        if template is not None and self.prompt.text() == "Once upon a time":
            self.prompt.clear()

    def _source(self) -> WeightsSource | None:
        """The live run's latest snapshot, else the run folder's checkpoint; never random weights."""
        return source_for(self.run_state, None)

    def _training_here(self) -> bool:
        """The model on screen is the one being trained in this window right now."""
        s = self.session
        return s is not None and s.running and s.key is not None and s.key == self.run_state.key

    def _update_source(self):
        src = self._source()
        if self._chat is not None and src is not None:
            self.source_label.setText(f"Chat with {src.label}: it carries a chat template, so each Send is one "
                                      "turn of a conversation")
        elif self._training_here():
            self.source_label.setText("Source: a snapshot of the model being trained (taken when you press Generate)")
        elif src is not None:
            self.source_label.setText(f"Source: {src.label} ({self.run_state.label()})")
        elif self.run_state.source is not None:
            self.source_label.setText(f"Source: {self.run_state.label()} — no checkpoint yet")
        else:
            self.source_label.setText("Source: none for this model — train it, or import or open a run")

    # ------------------------------------------------------------------ generating
    def settings(self) -> dict:
        return {"max_new_tokens": self.max_tokens.value(), "temperature": self.temperature.value(),
                "top_k": self.top_k.value() or None, "top_p": self.top_p.value() or None,
                "seed": None if self.temperature.value() > 0 else 0}

    def toggle(self):
        if self.worker is not None:
            self.worker.stop()
            return
        if self._training_here() and self.session.request_snapshot():
            self._pending, self._waiting = self.run_state.snapshot, True  # copied after the current step
            self.go.setEnabled(False)
            self.source_label.setText("Source: waiting for a snapshot of the model being trained…")
            return
        src = self._source()
        if src is None:
            self.source_label.setText("Nothing to generate from for this model: train it, or import or open a run")
            return
        self._start(src)

    def _start(self, source: WeightsSource | None):
        if source is None:
            return
        prompt, settings = self.prompt.text(), self.settings()
        if self._chat is not None:
            job = self._chat_turn(source, prompt, settings)
            if job is None:
                return
        else:
            self.output.clear()
            self.source_label.setText(f"Source: {source.label}")
            job = lambda control: generate_job(source, prompt, settings, control)  # noqa: E731
        this = []  # the job's own worker, for its callbacks (an older job's last pieces are dropped)
        w = start_job(job, name="archstudio-generate",
                      what="generation", parent=self, priority=QThread.LowPriority,
                      on_event=lambda ev: self._event(this[0], ev),
                      on_failed=lambda msg: this[0] is self.worker and self.source_label.setText(msg),
                      on_ended=lambda: self._ended(this[0]))
        this.append(w)  # before any event: they are queued to this (GUI) thread
        self.worker = w
        self.go.setText("Stop")

    def _chat_turn(self, source, text: str, settings: dict):
        """The job of one user turn (None for an empty one); the transcript shows it."""
        from studio.core.experiments.chat_template import chat_job
        text = text.strip()
        if not text:
            self.source_label.setText("Type your turn first, then Send")
            return None
        turns = [*self._turns, (text, None)]
        self._turns, self._reply = turns, []
        self.prompt.clear()
        cur = self.output.textCursor()
        cur.movePosition(QTextCursor.End)
        cur.insertText(("\n" if self.output.toPlainText() else "") + f"You: {text}\nModel: ")
        self.output.setTextCursor(cur)
        template = self._chat
        return lambda control: chat_job(source, template, turns, settings, control)

    def _event(self, w, ev):
        if isinstance(ev, TextPiece) and w is self.worker:  # a stopped older job's last pieces: dropped
            if self._chat is not None:
                self._reply.append(ev.text)
            cur = self.output.textCursor()
            cur.movePosition(QTextCursor.End)
            cur.insertText(stray_bytes_marked(readable_sample(ev.text)))  # <unk> and stray bytes as ⁇
            self.output.setTextCursor(cur)

    def _ended(self, w):
        if w in self._retired:
            self._retired.remove(w)
        if w is self.worker:
            self.worker = None
            if self._chat is not None and self._turns and self._turns[-1][1] is None:
                self._turns[-1] = (self._turns[-1][0], "".join(self._reply))  # the reply joins the context
            self.go.setText("Send" if self._chat is not None else "Generate")
            self.go.setEnabled(True)  # the label keeps naming the weights the output came from

    def shutdown(self):
        for w in [self.worker, *self._retired]:
            if w is not None:
                w.shutdown(30_000)
