"""The one worker thread of the app: it runs a core job (a generator of frozen-dataclass events,
see ``studio.core.jobs``) and carries each event to the GUI thread.

    w = start_job(lambda control: training_job(request, control), name="archstudio-training",
                  on_event=...,    # every event, in order, on the GUI thread
                  on_failed=...,   # one line (a StudioError's text, or the exception's type and text)
                  on_ended=...)    # the thread has REALLY ended: drop your reference now
    w.set_paused(True) / w.stop() / w.shutdown(timeout_ms)

``start_job`` is the one way a view starts a job (superqt's ``create_worker``): the Worker, its
three connections and its start in one call.

Stop is cooperative: ``stop()`` sets the job's stop flag and ``requestInterruption()``; the job
returns at its next check (training saves a checkpoint first). Pause is a flag the job polls.
Nothing the job can reach holds the QThread (``control.notify`` keeps a weak reference), and the
job callable is dropped on the GUI thread once the thread has ended: a Qt object must never be
freed by the worker thread (see window/gui_collector.py for the crash that did).

Why ``ended`` and not ``QThread.finished``: ``finished`` is emitted from the thread just before
it really ends. Dropping the last reference to a QThread that is still running destroys it
while running, which aborted the interpreter in full test runs. ``ended`` is emitted on the GUI
thread after ``wait()`` returned, and the object is then deleted with ``deleteLater()``.
"""
from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable

from PySide6.QtCore import QThread, Signal

from studio.core.errors import StudioError
from studio.core.jobs.control import JobControl


class Worker(QThread):
    # not "event": a signal of that name shadows QObject.event(), and Qt's every event to the
    # thread then went through it; a finished worker's Python object was never freed (+57 a loop
    # in the soak)
    job_event = Signal(object)  # a frozen dataclass the job yielded (or passed to control.notify)
    failed = Signal(str)
    ended = Signal()

    def __init__(self, job: Callable[[JobControl], Iterable[object]], name: str = "archstudio-job",
                 what: str = "the job", parent=None):
        """``job(control)`` returns the event iterator; it is called in the worker thread.
        ``what`` names the work in a failure line ("training failed: …")."""
        super().__init__(parent)
        self.setObjectName(name)
        self.job, self.what = job, what
        # The job's objects (its generator, the control it polls) never hold this QThread: were a
        # job's last reference dropped on the worker thread, the Qt object would go with it there.
        self.control = JobControl(notify=_emitter(weakref.ref(self)))
        self.error: str | None = None
        self._ended = False
        self.finished.connect(self._on_finished)

    def run(self):
        try:
            for ev in self.job(self.control):
                self.job_event.emit(ev)
        except StudioError as exc:
            self.error = str(exc)
            self.failed.emit(self.error)
        except Exception as exc:  # noqa: BLE001  one line in the GUI, never a crash of the app
            self.error = f"{self.what} failed: {type(exc).__name__}: {exc}"
            self.failed.emit(self.error)

    # ------------------------------------------------------------------ control (GUI thread)
    def stop(self) -> None:
        self.control.stop()
        self.requestInterruption()

    def set_paused(self, on: bool) -> None:
        self.control.paused = bool(on)

    @property
    def paused(self) -> bool:
        return self.control.paused

    def request(self, what: str) -> None:
        """A one-shot request the job takes between units of work (e.g. "snapshot")."""
        self.control.request(what)

    def shutdown(self, timeout_ms: int = 120_000) -> bool:
        """Stop and wait for the thread to end (window closing); True when it has ended."""
        if self._ended:
            return True
        self.stop()
        if self.isRunning() and not self.wait(timeout_ms):
            return False
        self._on_finished()
        return True

    def _on_finished(self) -> None:
        if self._ended:
            return
        self.wait()  # finished comes just before the thread really ends
        self._ended = True
        self.job = None  # its closure (often over GUI objects) is let go here, on the GUI thread
        self.ended.emit()
        self.deleteLater()
        from studio.core.jobs.heap import give_back
        give_back()  # the job's tensors are freed by now: their pages go back to the system


def _emitter(worker_ref):
    """``control.notify`` for a job: emits on the worker's ``event`` signal while it exists."""
    def notify(event) -> None:
        worker = worker_ref()
        if worker is not None:
            worker.job_event.emit(event)
    return notify


def start_job(job: Callable[[JobControl], Iterable[object]], *, name: str = "archstudio-job", what: str = "the job",
              parent=None, on_event=None, on_failed=None, on_ended=None, priority=None) -> Worker:
    """Run ``job(control)`` on a new worker thread with its events, its one-line failure and its
    real end delivered to the callbacks on the GUI thread; returns the started Worker (events
    are queued to the GUI thread, so the caller may keep the reference after this returns)."""
    w = Worker(job, name=name, what=what, parent=parent)
    for signal, slot in ((w.job_event, on_event), (w.failed, on_failed), (w.ended, on_ended)):
        if slot is not None:
            signal.connect(slot)
    w.start() if priority is None else w.start(priority)
    return w
