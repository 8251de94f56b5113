"""What a running job polls: a stop flag, a pause flag and one-shot requests (thread-safe)."""
from __future__ import annotations

import threading
from typing import Callable


class JobControl:
    """Set from the GUI thread, read by the job between units of work.

    ``should_stop`` may also consult an outside flag (the worker passes
    ``QThread.isInterruptionRequested``, so ``requestInterruption`` stops the job too).
    ``notify`` lets a job pass on events produced inside callback-style helpers (download
    progress, preparation status) through the same channel as the events it yields.
    """

    def __init__(self, should_stop: Callable[[], bool] | None = None, notify: Callable[[object], None] | None = None):
        self._stop = threading.Event()
        self._outside = should_stop
        self._lock = threading.Lock()
        self._requests: set[str] = set()
        self.paused = False
        self.notify: Callable[[object], None] = notify or (lambda event: None)

    def stop(self) -> None:
        self.paused = False  # a parked job must wake up to see the stop
        self._stop.set()

    def should_stop(self) -> bool:
        return self._stop.is_set() or (self._outside is not None and self._outside())

    def is_paused(self) -> bool:
        return self.paused

    def request(self, what: str) -> None:
        with self._lock:
            self._requests.add(what)

    def take(self, what: str) -> bool:
        """True once per ``request(what)``: the job acts on it and it is cleared."""
        with self._lock:
            if what in self._requests:
                self._requests.discard(what)
                return True
            return False
