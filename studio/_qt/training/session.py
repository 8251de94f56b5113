"""The training session: a QThread that only carries ``train_steps``' events to the GUI.

The worker prepares the run (data, tokenizer, model: slow, so not on the GUI thread), then loops
over the core generator. Stop is cooperative (``requestInterruption``: the generator saves a
checkpoint and returns); pause is a flag the generator polls. The model being trained is built
from a *copy* of the architecture, so editing the graph during training cannot corrupt the run.
Weight snapshots for the Generate panel are copied in the worker between steps, on request.
"""
from __future__ import annotations

import dataclasses
import time

from PySide6.QtCore import QObject, QThread, Signal

from studio.core import errors as E


@dataclasses.dataclass(frozen=True)
class TrainRequest:
    arch: object                 # the Architecture to train (copied before use)
    model_spec: str              # what run.yaml records as MODEL
    data_spec: str | None        # None / quick / full / starter / path
    tokenizer: str | None        # bpe / byte / llama2 (None: the preset's default)
    vocab_size: int | None
    tokenizer_model: str | None
    config: object               # TrainConfig
    run_dir: str


class TrainWorker(QThread):
    event = Signal(object)       # a frozen dataclass from studio.core.training.events
    status = Signal(str)
    prepared = Signal(object)    # {"run_dir", "label", "params", "vocab", "tokenizer"}
    snapshot = Signal(object)    # (arch, state_dict copy, step, tokenizer)
    failed = Signal(str)

    def __init__(self, request: TrainRequest, routing_history=None, parent=None):
        super().__init__(parent)
        self.request = request
        self.paused = False
        self.snapshot_wanted = False
        self.routing_history = routing_history
        self.setObjectName("archstudio-training")

    def run(self):
        from studio.core.training import Finished, StepMetrics, train_steps
        from studio.core.training.setup import prepare_new_run
        r = self.request
        try:
            # torch.optim's first optimizer imports torch._dynamo (≈800 modules, seconds on a slow CPU),
            # which holds the GIL in chunks; do it while the panel says "preparing", not mid-training
            import torch._dynamo  # noqa: F401
            arch = r.arch.copy()
            model, data, run, cfg = prepare_new_run(arch, r.model_spec, r.data_spec, r.tokenizer, r.vocab_size,
                                                    r.tokenizer_model, r.config, r.run_dir, self.status.emit)
            trained_arch = run.architecture()
            n = sum(p.numel() for p in {id(p): p for p in model.parameters()}.values())
            self.prepared.emit({"run_dir": str(run.path), "label": data.label, "params": n, "steps": cfg.steps,
                                "vocab": data.tokenizer.vocab_size, "tokenizer": data.tokenizer.kind,
                                "is_tinystories": data.corpus.is_tinystories})
            if self.isInterruptionRequested():
                return
            self.status.emit("training")
            for ev in train_steps(model, data, cfg, self.isInterruptionRequested, lambda: self.paused, run=run):
                if isinstance(ev, StepMetrics) and self.routing_history is not None:
                    self.routing_history.record(ev.step, model)  # right after the step, in this thread
                self.event.emit(ev)
                if self.snapshot_wanted or isinstance(ev, Finished):  # final weights for Generate / Inspect
                    self.snapshot_wanted = False
                    state = {k: v.detach().clone().cpu() for k, v in model.state_dict().items()}
                    self.snapshot.emit((trained_arch, state, ev.step, data.tokenizer))
        except E.StudioError as exc:
            self.failed.emit(str(exc))
        except Exception as exc:  # noqa: BLE001  shown as one line in the panel, never a crash of the GUI
            self.failed.emit(f"training failed: {type(exc).__name__}: {exc}")


class TrainingSession(QObject):
    """State the Training, Plots and Generate panels share: the worker, metrics, the last snapshot."""
    state_changed = Signal(str)   # idle, preparing, running, paused, stopping
    event = Signal(object)
    status = Signal(str)
    prepared = Signal(object)
    failed = Signal(str)
    snapshot_ready = Signal(object)

    def __init__(self, parent=None, routing_history=None):
        super().__init__(parent)
        from studio.core.training import MetricsHistory
        self.history = MetricsHistory(4096)
        self.worker: TrainWorker | None = None
        self.state = "idle"
        self.info: dict = {}
        self.last_snapshot = None
        self.routing_history = routing_history
        self.routing_history_provider = None  # callable -> a RoutingHistory (the inspector may come later)
        self.started_at = 0.0

    def _set_state(self, s: str):
        self.state = s
        self.state_changed.emit(s)

    @property
    def running(self) -> bool:
        return self.worker is not None and self.worker.isRunning()

    def start(self, request: TrainRequest) -> None:
        if self.running:
            raise E.StudioError("a training run is already in progress; stop it first")
        self.history.clear()
        self.info = {}
        self.last_snapshot = None
        if self.routing_history_provider is not None:
            self.routing_history = self.routing_history_provider()
        w = TrainWorker(request, self.routing_history)
        w.event.connect(self._on_event)
        w.status.connect(self.status)
        w.prepared.connect(self._on_prepared)
        w.failed.connect(self._on_failed)
        w.snapshot.connect(self._on_snapshot)
        w.finished.connect(self._on_finished)
        self.worker = w
        self.started_at = time.monotonic()
        self._set_state("preparing")
        w.start(QThread.LowPriority)  # the GUI thread keeps priority: no jank while training

    def _on_prepared(self, info: dict):
        self.info = info
        self.prepared.emit(info)
        self.started_at = time.monotonic()
        self._set_state("running")

    def _on_event(self, ev):
        self.history.add(ev)
        self.event.emit(ev)

    def _on_failed(self, msg: str):
        self.failed.emit(msg)

    def _on_snapshot(self, snap):
        self.last_snapshot = snap
        self.snapshot_ready.emit(snap)

    def _on_finished(self):
        w, self.worker = self.worker, None
        if w is not None:
            # QThread.finished is emitted just before the thread really ends: wait for it, or
            # dropping the last reference destroys a QThread that is still running (a crash).
            w.wait()
            w.deleteLater()
        self._set_state("idle")

    def pause(self, on: bool) -> None:
        if self.worker is not None and self.state in ("running", "paused"):
            self.worker.paused = on
            if on:
                self.worker.snapshot_wanted = True  # taken before the trainer parks: Generate can use it
            self._set_state("paused" if on else "running")

    def request_snapshot(self) -> bool:
        if self.worker is None or self.state not in ("running", "paused"):
            return False
        if self.state == "paused":
            return False  # the worker is parked between steps; the last snapshot is current enough
        self.worker.snapshot_wanted = True
        return True

    def stop(self) -> None:
        if self.worker is not None:
            self.worker.paused = False
            self.worker.requestInterruption()
            self._set_state("stopping")

    def shutdown(self, timeout_ms: int = 120_000) -> None:
        """Stop, let the trainer save its checkpoint, and wait for the thread (window closing)."""
        w = self.worker
        if w is None:
            return
        w.paused = False
        w.requestInterruption()
        w.wait(timeout_ms)
        self._on_finished()
