"""A first start prepares training for this laptop in the background (issue 21 item 3): once the
window is idle, the core's ``first_warm_job`` warms the shapes the Training dock's Start and its
"Train for 3 min" would train now (kernel, precision probe, compiled step; a niced child process;
a training started first is waited for) and the status bar says so in
one line that any temporary message covers. Train → "Prepare training in the background at first
start" and ARCHSTUDIO_NO_BACKGROUND_WARM=1 turn it off; closing the window kills the child.

    warm = BackgroundWarm(window, training_docks)   # adds the Train menu setting
    warm.when_idle()                                 # on a first start
"""
from __future__ import annotations

import dataclasses

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QThread, QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QLabel

from studio._qt.worker import start_job
from studio.core.training.first_warm import (FirstWarmRequest, WarmDone, WarmStage, budget_variants, first_warm_job,
                                             off_by_env)

SETTING = "training/background_warm"  # QSettings: prepare in the background at a first start (default on)
IDLE_POLL_MS = 1000
DONE_SHOWN_MS = 30_000
HEAD = "Preparing training for this laptop in the background"


class BackgroundWarm(QObject):
    """``window`` provides ``menu()``, ``statusBar()``, ``settings`` and the start-up's preset loading
    (``_warm_timer``/``_warm_queue``); ``training`` is its TrainingDocks (panel and session)."""

    def __init__(self, window, training):
        super().__init__(window)
        self.win, self.training = window, training
        self.worker = None
        self.request: FirstWarmRequest | None = None
        self.last: WarmDone | None = None
        self.label = QLabel()  # a normal (not permanent) widget: a temporary message covers it
        self.label.hide()
        self.shown = False  # the line is wanted now (shown whenever no temporary message covers it)
        bar = window.statusBar()
        bar.addWidget(self.label)
        bar.messageChanged.connect(self._message_changed)
        self._hide = QTimer(self, singleShot=True, interval=DONE_SHOWN_MS, timeout=self._unsay)
        self._idle = QTimer(self, interval=IDLE_POLL_MS, timeout=self._start_when_idle)
        self.action = QAction("Prepare training in the background at first start", self)
        self.action.setCheckable(True)
        self.action.setChecked(self.enabled_setting())
        self.action.setToolTip("On a first start, build the attention kernel, measure bf16 against fp32 and "
                               "compile the training step for the Training panel's settings in a background "
                               "process, so the first 'Train for N min' starts warm")
        self.action.toggled.connect(self._toggled)
        training_menu = window.menu("Train")
        training_menu.addSeparator()
        training_menu.addAction(self.action)
        window.installEventFilter(self)  # the window's Close kills the child before widgets go
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)

    def enabled_setting(self) -> bool:
        return bool(self.win.settings.value(SETTING, True, type=bool))

    def off_reason(self) -> str | None:
        if off_by_env():
            return "ARCHSTUDIO_NO_BACKGROUND_WARM is set"
        return None if self.enabled_setting() else "turned off in the Train menu"

    # ------------------------------------------------------------------ starting
    def when_idle(self) -> None:
        """Start once the window has loaded its presets and nothing trains (polled each second)."""
        if self.off_reason() is None:
            self._idle.start()

    def _start_when_idle(self) -> None:
        if self.off_reason() is not None:
            self._idle.stop()
            return
        w = self.win
        loading = getattr(w, "_warm_timer", None) is not None and (w._warm_timer.isActive() or w._warm_queue)
        if not w.isVisible() or loading or self.training.session.running:
            return
        self._idle.stop()
        self.start()

    def request_now(self) -> FirstWarmRequest | None:
        """The runs the Training dock's Start would begin now (panel.start's fields and config, and its
        "Train for N min" of 2 minutes or more) for the milestone on screen (a first start's LLaMA 2); None for an edited model (the child loads by id)."""
        panel = self.training.panel
        doc = panel.run_state.document
        if doc is None or not doc.is_milestone or not doc.milestone_id:
            return None
        data = panel.data_spec()
        if data in (None, "choose") or data.startswith("download:"):
            data = "starter"  # what trains until the user picks: the panel's first choice on a fresh laptop
        return FirstWarmRequest(doc.milestone_id, data, panel.tokenizer.currentData(), panel.vocab.value() or None,
                                panel.tokenizer_model, budget_variants(dataclasses.asdict(panel.config())))

    def start(self) -> None:
        if self.worker is not None:
            return
        req = self.request = self.request_now()
        if req is None:
            return
        self.worker = start_job(lambda control: first_warm_job(req, control), name="archstudio-first-warm",
                                what="preparing training in the background", parent=self,
                                priority=QThread.LowestPriority, on_event=self._event, on_failed=self._failed,
                                on_ended=self._ended)

    # ------------------------------------------------------------------ what it says
    def _say(self, text: str, done: bool = False, detail: str = "") -> None:
        self.label.setText(text)
        self.label.setToolTip(detail or text)
        self.shown = True
        if not self.win.statusBar().currentMessage():  # a more important message keeps the bar meanwhile
            self.label.show()
        if done:
            self._hide.start()

    def _unsay(self) -> None:
        self.shown = False
        self.label.hide()

    def _message_changed(self, message: str) -> None:
        if not message and self.shown:
            self.label.show()

    def _event(self, ev) -> None:
        if isinstance(ev, WarmStage):
            self._say(f"{HEAD}: {ev.what}…")
        elif isinstance(ev, WarmDone):
            self.last = ev
            if not ev.already:  # warm before: nothing to say
                self._say(f"Training prepared for this laptop in {ev.wall_s:.0f} s: {ev.note}", done=True,
                          detail=ev.detail)

    def _failed(self, msg: str) -> None:
        self._say(f"{msg[:1].upper()}{msg[1:]} (training still works, eagerly)", done=True)

    def _ended(self) -> None:
        self.worker = None

    # ------------------------------------------------------------------ stopping
    def _toggled(self, on: bool) -> None:
        self.win.settings.setValue(SETTING, bool(on))
        if not on:
            self._idle.stop()
            if self.worker is not None:
                self.shutdown()
                self._say("Background preparation stopped (turned off in the Train menu)", done=True)

    def eventFilter(self, obj, event):
        if obj is self.win and event.type() == QEvent.Close:
            self.shutdown()
        return False

    def shutdown(self) -> None:
        """Stop the job: its child and the child's compile workers are killed; waits for the thread."""
        self._idle.stop()
        if self.worker is not None:
            self.worker.shutdown(30_000)

