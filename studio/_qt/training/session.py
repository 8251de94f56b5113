"""The training session: one :class:`~studio._qt.worker.Worker` running the core ``training_job``,
and the run it feeds in :class:`~studio.core.state.run.RunState`.

The run belongs to the document it was started for: its training state, folder, report,
snapshots and routing history live in that document's entry in ``RunState`` (the only owner of
run state; the session's ``key``, ``state`` and ``info`` read it) even when another model is on
screen, so Generate and the inspector never show one model's weights for another. The panels of
this window (Training, Plots) listen to the session's Qt signals.

``continue_run`` trains a finished run of a document N more minutes (core ``ContinueRequest``,
the same path as ``archstudio train --resume --minutes N``); the plots go on from the run's
metrics so far, and ``continued`` says where the continuation started.
"""
from __future__ import annotations

import time

from PySide6.QtCore import QObject, QThread, Signal

from studio._qt.worker import Worker, start_job
from studio.core import errors as E
from studio.core.jobs.training import Continued, ContinueRequest, Prepared, Status, TrainRequest, training_job
from studio.core.state.run import RunState, Snapshot
from studio.core.training.events import StepMetrics

__all__ = ["ContinueRequest", "TrainRequest", "TrainingSession"]

NO_DOCUMENT = "(no document)"  # the RunState key of a run started without a document (tests, scripts)


def _after_the_click(events):
    """The job's events, after a moment for the GUI thread: the job's first imports (torch's first
    import loads its libraries holding the GIL for up to ~0.7 s on a loaded laptop) then start after
    the click's answer ("preparing…") is painted, not before. 50 ms of a time budget."""
    time.sleep(0.05)
    yield from events


class TrainingSession(QObject):
    """The worker of this window's training run, and what only the panels need of it (metrics for
    the plots, the budget's clock); the run's own state is RunState's."""
    state_changed = Signal(str)   # idle, preparing, running, paused, stopping
    job_event = Signal(object)    # (not "event", which shadows QObject.event()) train_steps' events (StepMetrics, EvalMetrics, Sample, Finished, …)
    status = Signal(str)
    prepared = Signal(object)     # Prepared.info(): {"run_dir", "label", "params", "steps", "vocab", …}
    failed = Signal(str)

    def __init__(self, run_state: RunState | None = None, parent=None):
        super().__init__(parent)
        from studio.core.training import MetricsHistory
        self.run_state = run_state if run_state is not None else RunState()
        self.history = MetricsHistory(4096)
        self.worker: Worker | None = None
        self.started_at = 0.0                # time.perf_counter() at the click (a time budget's clock)
        self.budget_s: float | None = None   # this run's time budget, preparing included
        self.continued: Continued | None = None  # set when this run continues an earlier one
        self.tensorboard = False  # the panel's setting: also write RUN_DIR/tensorboard/ event files
        self._tb = None  # its TensorBoardLog while a run with the setting is live

    @property
    def key(self) -> str | None:
        """The document this window's latest run was started for (RunState's ``latest_key``)."""
        return self.run_state.latest_key

    @property
    def state(self) -> str:
        """idle, preparing, running, paused or stopping: RunState's state of this session's run."""
        if not self.running:
            return "idle"
        s = self.run_state.live_training(self.key)
        return "idle" if s == "finished" else s

    @property
    def info(self) -> dict:
        """Prepared.info() of the latest run, as RunState keeps it ({} until it is prepared)."""
        return self.run_state.live_info(self.key)

    def _set_state(self, s: str):
        if self.key is not None:
            self.run_state.set_training("finished" if s == "idle" else s, self.key)
        self.state_changed.emit(s)

    @property
    def running(self) -> bool:
        return self.worker is not None

    def start(self, request: TrainRequest | ContinueRequest, key: str | None = None) -> None:
        """Train ``request``; ``key`` is the document it belongs to (the one on screen)."""
        if self.running:
            raise E.StudioError("a training run is already in progress; stop it first")
        import dataclasses
        if request.started_at is None:  # the budget runs from the click: preparing is part of it
            request = dataclasses.replace(request, started_at=time.perf_counter())
        self.started_at = request.started_at
        minutes = request.minutes if isinstance(request, ContinueRequest) else getattr(request.config, "minutes", None)
        self.budget_s = 60.0 * minutes if minutes else None
        self.history.clear()  # a continuation's earlier metrics replace it when they arrive
        self.continued = None
        known = request.run_dir if isinstance(request, ContinueRequest) else None  # a new run's folder comes later
        self.run_state.start_live(key if key is not None else NO_DOCUMENT, run_dir=known)
        self.worker = start_job(lambda control: _after_the_click(training_job(request, control)),
                                name="archstudio-training", what="training", parent=self,
                                priority=QThread.LowPriority,  # the GUI thread keeps priority: no jank while training
                                on_event=self._on_event, on_failed=self._on_failed, on_ended=self._on_ended)
        self._set_state("preparing")

    def budget_clock(self) -> tuple[float, float] | None:
        """(seconds since the click, the budget's seconds) of a running time budget, else None."""
        if self.budget_s is None or not self.running:
            return None
        return time.perf_counter() - self.started_at, self.budget_s

    def continue_run(self, run_dir, minutes: float, threads: int | None = None, key: str | None = None) -> None:
        """Train the run in ``run_dir`` ``minutes`` more minutes; ``key``: the document it belongs to."""
        self.start(ContinueRequest(str(run_dir), float(minutes), threads), key)

    def _on_event(self, ev):
        if isinstance(ev, Status):
            self.status.emit(ev.text)
        elif isinstance(ev, Continued):
            self.continued = ev
            self.history = ev.history  # the run's steps so far: the plots continue, not restart from 0
            self.job_event.emit(ev)
        elif isinstance(ev, Prepared):
            self.run_state.live_prepared(ev.run_dir, ev.info(), self.key)
            self.prepared.emit(self.info)
            self._open_tensorboard(ev.run_dir)
            self._set_state("running")
        elif isinstance(ev, Snapshot):
            self.run_state.set_snapshot(ev, self.key)
        else:
            if isinstance(ev, StepMetrics):
                self.run_state.record_step(ev, self.key)  # the Routing dock's history, on this (the GUI) thread
            if self._tb is not None and hasattr(ev, "record"):
                self._tb.write(ev.record())  # the same records metrics.jsonl gets
            self.history.add(ev)
            self.job_event.emit(ev)

    def _open_tensorboard(self, run_dir) -> None:
        if not self.tensorboard:
            return
        from studio.core.runs.tensorboard import TensorBoardLog
        try:
            self._tb = TensorBoardLog(run_dir)
        except E.StudioError as exc:  # no tensorboardX: say so, keep training
            self.status.emit(f"TensorBoard log off: {exc}")

    def _on_failed(self, msg: str):
        if self.key is not None:
            self.run_state.live_failed(self.key)
        self.failed.emit(msg)

    def _on_ended(self):
        if self._tb is not None:
            self._tb.close()
            self._tb = None
        self.worker = None
        self._set_state("idle")

    def pause(self, on: bool) -> None:
        if self.worker is not None and self.state in ("running", "paused"):
            self.worker.set_paused(on)
            if on:
                self.worker.request("snapshot")  # taken before the trainer parks: Generate can use it
            self._set_state("paused" if on else "running")

    def request_snapshot(self) -> bool:
        """Ask for fresh weights after the current step; False when none will come (paused, idle)."""
        if self.worker is None or self.state != "running":
            return False  # paused: the worker is parked between steps; the last snapshot is current
        self.worker.request("snapshot")
        return True

    def stop(self) -> None:
        if self.worker is not None:
            self.worker.stop()
            self._set_state("stopping")

    def shutdown(self, timeout_ms: int = 120_000) -> None:
        """Stop, let the trainer save its checkpoint, and wait for the thread (window closing)."""
        if self.worker is not None:
            self.worker.shutdown(timeout_ms)
