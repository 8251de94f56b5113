"""The Training panel: what to train on (with the TinyStories attribution), the tokenizer, the
settings, Start / Pause / Stop, "Train N more min" (more_minutes.py), a progress bar with ETA and
tokens/s, and the latest sample."""
from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QComboBox, QFileDialog, QFormLayout, QGroupBox,
                               QHBoxLayout, QLabel, QPlainTextEdit, QProgressBar, QPushButton, QSplitter, QVBoxLayout, QWidget)

from studio._qt.training.data_choice import DataChoiceMixin
from studio._qt.training.more_minutes import MoreMinutes
from studio._qt.training.preparing_clock import PreparingClock
from studio._qt.training.preparing_clock import clock as _clock
from studio._qt.training.settings_form import build_settings, spin as _spin
from studio.core.jobs.training import Continued
from studio.core.training.events import (EvalMetrics, Finished, Preparing, Sample, SpeedSetup, StepMetrics,
                                         StepSwitched)

UNKNOWN_MARK = "⁇"  # SentencePiece's own mark for a token that stands for no text
SAMPLE_TIP = (f"What the model writes now (sampled from BOS). {UNKNOWN_MARK} marks a token that stands for no "
              "text (<unk>); \\xHH a byte that is not part of a complete character")


def readable_sample(text: str) -> str:
    """A sample as a learner reads it: the unknown token and any replacement character as one
    mark (the decoder already shows only complete UTF-8 and stray bytes as \\xHH)."""
    return text.replace("<unk>", UNKNOWN_MARK).replace("\ufffd", UNKNOWN_MARK)


class TrainingPanel(DataChoiceMixin, QWidget):
    def __init__(self, session, run_state, parent=None):
        """Trains the document ``run_state`` follows (the model on screen); the run is recorded for it."""
        super().__init__(parent)
        self.session, self.run_state = session, run_state
        self.local_path: str | None = None
        self.tokenizer_model: str | None = None
        self.download_dialog = None  # the open TinyStories download, if any (closing the window stops it)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(6, 4, 6, 4)
        outer = self.split = QSplitter(Qt.Horizontal)  # data | settings | run: drag to give one more room
        outer.setChildrenCollapsible(False)
        lay.addWidget(outer)

        data_box = self._data_box()
        outer.addWidget(data_box)
        outer.setStretchFactor(0, 3)

        set_box = build_settings(self)
        outer.addWidget(set_box)
        outer.setStretchFactor(1, 3)

        run_box = QGroupBox("Run")
        v = QVBoxLayout(run_box)
        buttons = QHBoxLayout()
        self.start_btn = QPushButton("Start")
        self.start_btn.setToolTip("Train the current model's classroom scale (F6)")
        self.pause_btn = QPushButton("Pause")
        self.pause_btn.setCheckable(True)
        self.stop_btn = QPushButton("Stop")
        self.stop_btn.setToolTip("Stop after this step and save a checkpoint")
        for b in (self.start_btn, self.pause_btn, self.stop_btn):
            buttons.addWidget(b)
        v.addLayout(buttons)
        self.more = MoreMinutes(session, run_state, self.threads.value)  # continue the finished run
        v.addWidget(self.more)
        self._continued: Continued | None = None  # this run continues an earlier one from its last step
        self.progress = QProgressBar()
        self.progress.setFormat("idle")
        self.progress.setTextVisible(True)
        # centred over the whole bar: beside the chunk the text had half the width and wrapped
        self.progress.setAlignment(Qt.AlignCenter)
        v.addWidget(self.progress)
        self.numbers = QLabel("")  # loss and speed, one line under the bar (the bar keeps step and ETA only)
        self.numbers.setWordWrap(True)  # on one line it alone made the panel wider than a 1366-px screen
        v.addWidget(self.numbers)
        self.prep_clock = PreparingClock(session, self.progress, self.numbers, self)  # the budget's clock meanwhile
        self.owner = QLabel("")  # which model the run in progress belongs to, when it is not the one on screen
        self.owner.setWordWrap(True)
        self.owner.hide()
        v.addWidget(self.owner)
        self._training_title = ""
        self._speed = ""
        self.status = QLabel("")
        self.status.setWordWrap(True)
        v.addWidget(self.status)
        self.sample = QPlainTextEdit()
        self.sample.setReadOnly(True)
        self.sample.setPlaceholderText("Sample text appears here as the model learns")
        self.sample.setToolTip(SAMPLE_TIP)
        self.sample.setMaximumHeight(90)
        v.addWidget(self.sample)
        outer.addWidget(run_box)
        outer.setStretchFactor(2, 4)
        outer.setSizes([400, 560, 400])  # the data names and the progress line whole at 1366 px

        self.refresh_data_choices()
        self._restore_data_choice()
        self.data.currentIndexChanged.connect(self._data_changed)
        self.tokenizer.currentIndexChanged.connect(self._tokenizer_changed)
        self.start_btn.clicked.connect(self.start)
        self.pause_btn.toggled.connect(self._pause)
        self.stop_btn.clicked.connect(session.stop)
        self.more.button.clicked.connect(self.continue_run)
        session.state_changed.connect(self._state)
        session.job_event.connect(self._event)
        session.status.connect(self.status.setText)
        session.failed.connect(self._failed)
        session.prepared.connect(self._prepared)
        run_state.changed.connect(self._show_owner)
        run_state.changed.connect(self._follow_model)
        self._run_key = None  # the model whose run the Run box shows (None: none yet)
        self._state("idle")

    def _data_box(self) -> QGroupBox:
        """What to train on (with its attribution), the tokenizer and the vocabulary size."""
        data_box = QGroupBox("Data and tokenizer")
        form = QFormLayout(data_box)
        self.data = QComboBox()
        self.data.setToolTip("What the model trains on; a download is cached in your user cache folder")
        self.data.setSizeAdjustPolicy(QComboBox.AdjustToContents)  # the choice is read whole, never clipped
        form.addRow("Train on", self.data)
        self.tokenizer = QComboBox()
        for label, kind in (("preset default", None), ("SentencePiece BPE (llama2.c)", "bpe"),
                            ("byte-level (259 ids)", "byte"), ("Llama 2 32k (your tokenizer.model)", "llama2")):
            self.tokenizer.addItem(label, kind)
        self.tokenizer.setToolTip("All tokenizers use llama2.c's id layout: 0/1/2 = unk/BOS/EOS, 3..258 = bytes")
        form.addRow("Tokenizer", self.tokenizer)
        self.vocab = _spin(0, 8192, 0, "BPE vocabulary size (0 = the preset's default); the model's embedding "
                           "and output sizes follow it", 64)
        self.vocab.setSpecialValueText("preset default")
        form.addRow("Vocabulary", self.vocab)
        self.attribution = QLabel()
        self.attribution.setWordWrap(True)
        self.attribution.setTextInteractionFlags(Qt.TextSelectableByMouse)
        form.addRow(self.attribution)
        return data_box

    def _tokenizer_changed(self, _i) -> None:
        if self.tokenizer.currentData() == "llama2" and not self.tokenizer_model:
            from studio._qt.dialogs.folders import remember, start_dir
            path, _ = QFileDialog.getOpenFileName(self, "Llama 2 tokenizer.model", start_dir("tokenizer"),
                                                  "SentencePiece model (*.model)")
            remember("tokenizer", path)
            if path:
                self.tokenizer_model = path
            else:
                self.tokenizer.setCurrentIndex(0)
        self.vocab.setEnabled(self.tokenizer.currentData() in (None, "bpe"))

    def _schedule_follows_budget(self, minutes: float) -> None:
        """As the CLI: a time budget trains warmup-stable-decay (a run stopped early is already decayed,
        measured 6 % lower bits per byte than cosine), a step count cosine; and the budget's batch,
        context and optimizer (setup.budget_recipe: more tokens per step and AdamW's cheaper step for
        longer budgets). Each follows only
        while it still holds the value the previous budget gave it: the user's own pick stays."""
        from studio.core.training.setup import budget_recipe
        timed = minutes > 0
        if timed != getattr(self, "_timed", False):
            self._timed = timed
            self.schedule.setCurrentIndex(self.schedule.findData("wsd" if timed else "cosine"))
        before = getattr(self, "_recipe", budget_recipe(None))
        now = budget_recipe(minutes if timed else None)
        for field, box in (("batch_size", self.batch), ("context", self.context)):
            if box.value() == before[field]:
                box.setValue(now[field])
        if self.optimizer.currentData() == before["optimizer"]:
            self.optimizer.setCurrentIndex(self.optimizer.findData(now["optimizer"]))
        self._recipe = now

    # ------------------------------------------------------------------ run control
    def config(self):
        from studio.core.training import TrainConfig
        steps, minutes = self.steps.value(), self.minutes.value() or None
        # intervals as archstudio train derives them (TrainConfig.for_run): a time budget evaluates every
        # 10 % of its time, logs every step and checkpoints every 100
        return TrainConfig.for_run(steps=steps, minutes=minutes, batch_size=self.batch.value(),
                                   context=self.context.value(), lr=self.lr.value(),
                                   schedule=self.schedule.currentData(), compile="auto", attention="auto",
                                   eval_interval=None if minutes else self.eval_every.value(),
                                   optimizer=self.optimizer.currentData(), precision=self.precision.currentData(),
                                   sample_interval=max(10, self.eval_every.value()), seed=self.seed.value(),
                                   threads=self.threads.value())

    def start(self) -> None:
        from studio._qt.training.session import TrainRequest
        from studio.core.training.setup import default_run_dir
        if self.session.running:
            return
        doc = self.run_state.document
        arch = None if doc is None else doc.architecture
        if arch is None:
            self.status.setText("No model selected: pick a milestone first")
            return
        data = self.data_spec()
        if data in ("choose",) or (data or "").startswith("download:"):
            self.status.setText("Choose what to train on first")
            return
        req = TrainRequest(arch, arch.id, data, self.tokenizer.currentData(), self.vocab.value() or None,
                           self.tokenizer_model, self.config(), str(default_run_dir(arch.id)))
        self.sample.clear()
        self.numbers.setText("")
        self._speed = ""  # "· fp32, compiled" once the trainer has decided
        self._training_title = doc.title or arch.meta.get("title", arch.id)
        self._continued = None
        self.session.tensorboard = self.tensorboard.isChecked()
        self._run_key = doc.key
        self.session.start(req, doc.key)

    def continue_run(self) -> None:
        """Train the finished run of the model on screen N more minutes (the "Train N more min" button)."""
        doc = self.run_state.document
        self.sample.clear()
        self.numbers.setText("")
        self._speed = ""
        self._training_title = "" if doc is None else doc.title or doc.architecture.meta.get("title", doc.key)
        self._continued = None
        self.session.tensorboard = self.tensorboard.isChecked()
        self.more.trigger()

    def _pause(self, on: bool) -> None:
        self.session.pause(on)

    def _follow_model(self) -> None:
        """Another model on screen while nothing trains: the Run box lets go of the last run's
        step, loss, sample and status (issue 22 M10: they stayed after switching or importing)
        and says which run, if any, this model has."""
        if self.session.running or self._run_key in (None, self.run_state.key):
            return
        self._run_key = None
        self.progress.setValue(0)
        self.progress.setFormat("idle")
        self.numbers.setText("")
        self.sample.clear()
        has = self.run_state.source is not None
        self.status.setText(f"This model's run: {self.run_state.label()}" if has else "")
        self.status.setToolTip(str(self.run_state.run_dir) if has and self.run_state.run_dir else "")

    def _show_owner(self) -> None:
        s = self.session
        away = s.running and s.key is not None and s.key != self.run_state.key
        self.owner.setText(f"This run trains <b>{self._training_title}</b>, not the model on screen; "
                           "its Generate and inspector views come back with it." if away else "")
        self.owner.setVisible(away)

    def _state(self, state: str) -> None:
        self._show_owner()
        busy = state in ("preparing", "running", "paused", "stopping")
        self.start_btn.setEnabled(not busy)
        self.pause_btn.setEnabled(state in ("running", "paused"))
        self.stop_btn.setEnabled(state in ("preparing", "running", "paused"))
        self.pause_btn.blockSignals(True)
        self.pause_btn.setChecked(state == "paused")
        self.pause_btn.setText("Resume" if state == "paused" else "Pause")
        self.pause_btn.blockSignals(False)
        for w in (self.data, self.tokenizer, self.vocab, self.steps, self.batch, self.context, self.lr,
                  self.schedule, self.optimizer, self.precision, self.eval_every, self.seed, self.threads, self.minutes,
                  self.tensorboard):
            w.setEnabled(not busy and (w is not self.vocab or self.tokenizer.currentData() in (None, "bpe"))
                         and (w is not self.steps or not self.minutes.value()))
        if state == "preparing":
            self.prep_clock.begin()
        elif state == "idle":
            self.prep_clock.end()
            if self.progress.maximum() == 0:  # ended while preparing: no busy bar left running
                self.progress.setRange(0, 1)
                self.progress.setValue(0)
            if self.progress.format() in ("idle", "preparing…"):
                self.progress.setFormat("idle")
            # a finished or stopped run keeps its bar and its words (setRange to another range
            # reset the value and left the bar blank)
        if state == "paused":
            self.progress.setFormat(self.progress.format().split(" · paused")[0] + " · paused")

    def _prepared(self, info: dict) -> None:
        c = self._continued
        if not self.prep_clock.active:  # with a time budget the bar stays the budget's clock until the first step
            self.progress.setRange(c.from_step if c else 0, int(info["steps"]))
            self.progress.setValue(self.progress.minimum())
        # a file by its name (issue 22 M11: the whole path, and "NOT TinyStories" for what may well be a
        # TinyStories file: the app knows only its own downloads and its starter corpus)
        label = str(info["label"]).rsplit(os.sep, 1)[-1]
        what = " [TinyStories]" if info["is_tinystories"] else ""
        # the folder's name only (its whole path in the tooltip): in a 1366 x 768 window the wrapped path
        # pushed the last lines of the Run box out of sight
        self.status.setText(f"Training on {label}{what} · {info['params']:,} parameters · "
                            f"{info['tokenizer']} vocabulary {info['vocab']} · run folder {Path(info['run_dir']).name}")
        self.status.setToolTip(f"Run folder: {info['run_dir']}")

    def _event(self, ev) -> None:
        if isinstance(ev, StepMetrics):
            c = self._continued  # a continuation's bar spans its own extra minutes, from the step it started at
            first = c.from_step if c else 0
            if ev.planned_steps and (ev.planned_steps, first) != (self.progress.maximum(), self.progress.minimum()):
                self.progress.setRange(first, max(ev.planned_steps, ev.step))  # a time budget re-fits its steps
            total = self.progress.maximum() or 1
            self.progress.setValue(min(ev.step, total))
            rate = (ev.step - first) / max(1e-6, ev.elapsed_s)
            eta = ev.eta_s if ev.eta_s is not None else (total - ev.step) / max(1e-6, rate)
            more = f" of {c.minutes:g} more min" if c else ""
            self.progress.setFormat(f"step {ev.step} / {total} · ETA {_clock(eta)}{more}")
            bpb = f" ({ev.bpb:.2f} bits/byte)" if ev.bpb is not None else ""
            self.numbers.setText(f"loss {ev.loss:.3f}{bpb} · {ev.tokens_per_s:,.0f} tokens/s{self._speed}")
        elif isinstance(ev, Continued):
            self._continued = ev
            self.status.setText(f"Continuing the run in {ev.run_dir} from step {ev.from_step} "
                                f"for {ev.minutes:g} more minutes")
        elif isinstance(ev, Preparing):  # kernel, probes: part of a time budget
            self.prep_clock.begin(ev.what)
        elif isinstance(ev, StepSwitched):
            self._speed = self._speed.split(", ")[0] + (", compiled" if ev.compiled else ", eager")
            self.numbers.setToolTip(f"{self.numbers.toolTip()}\nfrom step {ev.step}: {ev.what} {ev.note}")
        elif isinstance(ev, SpeedSetup):
            self.prep_clock.end()
            self.progress.setRange(0, 1)
            self.progress.setValue(0)
            self.progress.setFormat("training…")
            self._speed = f" · {ev.precision}, {'compiled' if ev.compiled else 'eager'}"
            part = " (part of the budget)" if self.session.budget_s else ""
            self.numbers.setText(f"{ev.precision} · {ev.step} · prepared in {ev.preparing_s:.0f} s{part}")
            self.numbers.setToolTip(f"{ev.precision_reason}\nstep: {ev.step}\nattention: {ev.attention}\n"
                                    f"{ev.threads} thread(s)")
        elif isinstance(ev, EvalMetrics):
            self.status.setText(f"step {ev.step}: train loss {ev.train_loss:.3f} ({ev.train_bpb:.2f} bits/byte), "
                                f"val loss {ev.val_loss:.3f} ({ev.val_bpb:.3f} bits/byte)")
        elif isinstance(ev, Sample):
            self.sample.setPlainText(f"[step {ev.step}] {readable_sample(ev.text)}")
        elif isinstance(ev, Finished):
            word = "Finished" if ev.reason == "done" else "Stopped (checkpoint saved)"
            c = self._continued
            if ev.reason == "done":
                self.progress.setRange(c.from_step if c else 0, max(ev.step, 1))
            self.progress.setValue(min(ev.step, self.progress.maximum()))
            self.progress.setFormat(f"{word} at step {ev.step}")
            self.numbers.setText(f"val loss {ev.val_loss:.3f} ({ev.val_bpb:.3f} bits/byte) · "
                                 f"{ev.tokens_per_s:,.0f} tokens/s")
            since = f" (continued from step {c.from_step} for {c.minutes:g} more min)" if c else ""
            self.status.setText(f"{word}{since}: {ev.tokens:,} tokens · run folder "
                                f"{Path(self.session.info.get('run_dir', '')).name}")

    def _failed(self, msg: str) -> None:
        self.status.setText(msg)
        self.progress.setFormat("failed")
