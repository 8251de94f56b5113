"""Python's cyclic garbage collector runs on the GUI thread only, from a timer.

Why: CPython starts a cyclic collection in whichever thread happens to cross the allocation
threshold. During a training, an inspection or a tokenizer run that is the worker thread (it
allocates far more than the GUI thread). A collection there finalises every unreachable cycle,
including PySide wrappers of GUI objects that a closed window, dialog or view left in a cycle
(a widget whose Python subclass holds a bound method of itself, a lambda slot closing over its
owner, ...). PySide turns the deletion of a QObject that lives in another thread into a
``deleteLater``, so the GUI thread later runs ``~QWidget`` → ``~QGraphicsScene`` →
``QGraphicsScene::clear`` while the worker thread is still tearing down the same cycle's other
wrappers (scene items, which are not QObjects and are deleted where the collector runs): the
GUI thread then deletes items that are already gone — a SIGSEGV at a random moment of a long
session. The cure used by long-running PyQt/PySide programs (calibre, pyqtgraph, NeXpy):
disable automatic collection and collect from a ``QTimer`` on the GUI thread, where deleting a
Qt object is always legal.

A library may switch automatic collection back on (``gc.enable()``); every tick switches it
off again, and ``gc.callbacks`` counts collections that still start on another thread (an
explicit ``gc.collect()`` in a library) so a soak run can prove there are none.
"""
from __future__ import annotations

import gc
import sys
import threading
import time

from PySide6.QtCore import QObject, QTimer

INTERVAL_MS = 500
FREEZE_AFTER_MODULES = 200  # an import this large (torch's first: ~800 modules) is frozen once it has ended
MAX_POSTPONED_TICKS = 60    # collections wait for an import for at most 30 s
OBJECT_NAME = "archstudio-gui-thread-collector"


class GuiThreadCollector(QObject):
    """Owned by the QApplication (its child); ``install(app)`` makes or returns the one instance."""

    def __init__(self, app, interval_ms: int = INTERVAL_MS):
        super().__init__(app)
        self.setObjectName(OBJECT_NAME)
        self.thresholds = gc.get_threshold()
        self.gui_thread = threading.get_ident()
        self.collections = 0          # collections this timer ran
        self.off_thread = 0           # collections that started on another thread (want 0)
        self.worst_ms = 0.0           # the longest single collection, a GUI-thread stall
        self._modules = self._frozen_modules = len(sys.modules)
        self._postponed = 0           # ticks in a row that skipped collecting while modules were imported
        gc.disable()
        gc.callbacks.append(self._seen)
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.tick)
        self.timer.start()
        self.destroyed.connect(_restore_automatic_collection)

    def tick(self) -> None:
        """Collect the generations whose thresholds were crossed, the way CPython would have."""
        if gc.isenabled():
            gc.disable()
        modules = len(sys.modules)
        importing, self._modules = modules != self._modules, modules
        if importing and self._postponed < MAX_POSTPONED_TICKS:
            # a worker is importing (torch's first import: seconds, ~800 modules): a collection now
            # would scan all it allocated since the last tick, then again; its objects live as long
            # as the app, so they are frozen (below) once the import has ended instead
            self._postponed += 1
            return
        self._postponed = 0
        if modules - self._frozen_modules >= FREEZE_AFTER_MODULES:
            self._frozen_modules = modules
            gc.freeze()  # as settle() does for start-up (a cycle of garbage made meanwhile stays: bounded, once)
        generation = self._due()
        if generation is not None:
            self.collect(generation)

    def collect(self, generation: int = 2) -> int:
        start = time.perf_counter()
        found = gc.collect(generation)
        self.collections += 1
        self.worst_ms = max(self.worst_ms, (time.perf_counter() - start) * 1000)
        return found

    def settle(self) -> None:
        """Start-up is over: what is alive now (PySide, torch, the presets: ~270 000 objects) lives
        as long as the app. One collection, then ``gc.freeze()`` takes it out of every later one, so
        a full collection scans only what the class made since (measured: 1.5-1.9 s → ~0 ms on the
        loaded 2-core machine; a full collection on the GUI thread is a stall)."""
        self.collect(2)
        gc.freeze()

    def _due(self) -> int | None:
        counts, due = gc.get_count(), None
        for generation in range(3):
            if counts[generation] <= self.thresholds[generation]:
                break
            due = generation
        return due

    def _seen(self, phase: str, info: dict) -> None:
        if phase == "start" and threading.get_ident() != self.gui_thread:
            self.off_thread += 1


def _restore_automatic_collection() -> None:
    """The application is gone (interpreter exit, or a test process that made its own): nothing
    Qt-owned is left to protect, so Python collects as usual again."""
    gc.callbacks[:] = [cb for cb in gc.callbacks if not isinstance(getattr(cb, "__self__", None), GuiThreadCollector)]
    gc.enable()


def installed(app) -> GuiThreadCollector | None:
    return app.findChild(GuiThreadCollector, OBJECT_NAME) if app is not None else None


def install(app, interval_ms: int = INTERVAL_MS) -> GuiThreadCollector:
    """Idempotent; call on the GUI thread right after the QApplication exists."""
    return installed(app) or GuiThreadCollector(app, interval_ms)
