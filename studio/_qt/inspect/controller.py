"""What the inspector looks at, and the worker that looks.

The source follows :class:`~studio.core.state.run.RunState` (the run of the model on screen):
its live training snapshot, its run folder's latest checkpoint (imported, project, prepared),
or, when it has no run, fresh random weights of its classroom scale ("untrained"). Nothing is
computed until the user first asks (a click on an attention block, the Inspect menu); from then on the
inspector follows the document. One job at a time on the generic worker, latest request wins;
results come back to the GUI thread as frozen ``Inspection``s.
"""
from __future__ import annotations

import dataclasses

from PySide6.QtCore import QObject, Signal

from studio._qt.worker import Worker, start_job
from studio.core.inspect.routing_history import RoutingHistory
from studio.core.jobs.inspect import Inspected, inspect_job
from studio.core.jobs.weights import WeightsSource, run_label, source_for

Source = WeightsSource  # what ``source_changed`` carries: kind untrained | run | snapshot, label, …


def _attention_job(source, prompt, encoder_text, cache, mask_rgb):
    """The core inspection, then its colouring (pure numpy), both in the worker thread."""
    from studio._qt.inspect.widgets import attention_images

    def job(control):
        for ev in inspect_job(source, prompt, encoder_text, cache, control):
            yield ev, attention_images(ev.inspection, mask_rgb)
    return job


class InspectController(QObject):
    inspected = Signal(object)  # Inspection
    failed = Signal(str)
    busy_changed = Signal(bool)
    source_changed = Signal(object)  # Source
    focus_requested = Signal(str, int)  # node id, layer: the graph asked to show this block

    def __init__(self, run_state, parent=None):
        super().__init__(parent)
        self.run_state = run_state
        self.active = False  # the user asked to inspect; from then on the source follows the document
        self.source: Source | None = None
        self.prompt = "Once upon a time there was a little girl named Lily."
        self.encoder_text = ""  # encoder input of encoder-decoder models ("" = the prompt, as the model does)
        self._no_history = RoutingHistory()
        self.last = None
        self.last_ms = 0.0
        self.last_cut_from = 0  # the prompt's length in tokens when it was cut to the model's context
        self.images: dict[int, list] = {}  # id(Inspection) -> attention_images of the latest result
        from studio._qt.inspect.widgets import palette_colours
        self.mask_rgb = palette_colours()[2].getRgb()[:3]
        self._job: Worker | None = None
        self._pending = False
        self._cache: dict = {}
        self._version = 0
        self._identity = None
        run_state.changed.connect(self._run_changed)

    @property
    def history(self) -> RoutingHistory:
        """MoE load over training steps of the run on screen (empty when it is not training here)."""
        h = self.run_state.routing_history
        return h if h is not None else self._no_history

    # ------------------------------------------------------------------ sources
    def activate(self) -> bool:
        """Start inspecting the model on screen; False (and ``failed``) when there is nothing to run."""
        self.active = True
        return self.follow(force=self.source is None)

    def _run_changed(self):
        if self.active:
            self.follow()

    def follow(self, force: bool = False) -> bool:
        doc = self.run_state.document
        arch = None if doc is None else doc.architecture
        src = source_for(self.run_state, arch)
        if src is None:
            what = "No model on screen" if arch is None else f"{arch.id} has no classroom scale to run"
            self.source, self._identity = None, None
            self.failed.emit(what)
            return False
        ident = (src.kind, src.path, id(src.snapshot), id(src.arch), getattr(doc, "version", 0))
        if force or ident != self._identity:
            self._identity = ident
            self._set(src)
        return True

    def set_run(self, path: str) -> None:
        """Look at one run folder's latest checkpoint (until the model on screen changes)."""
        self._identity = ("run", str(path))
        self._set(WeightsSource("run", run_label(path), path=str(path)))

    def _set(self, source: Source) -> None:
        self._version += 1
        self.source = dataclasses.replace(source, version=self._version)
        self.source_changed.emit(self.source)
        self.request()

    # ------------------------------------------------------------------ running
    def set_prompt(self, text: str, encoder_text: str | None = None) -> None:
        self.prompt = text
        if encoder_text is not None:
            self.encoder_text = encoder_text
        self.request()

    def busy(self) -> bool:
        return self._job is not None

    def request(self) -> None:
        if self.source is None:
            return
        if self._job is not None:  # latest wins: one rerun after the current job
            self._pending = True
            return
        self._job = start_job(_attention_job(self.source, self.prompt, self.encoder_text, self._cache, self.mask_rgb),
                              name="archstudio-inspect", what="inspection", parent=self, on_event=self._result,
                              on_failed=self.failed.emit, on_ended=self._ended)
        self.busy_changed.emit(True)

    def _result(self, pair):
        ev, images = pair
        if isinstance(ev, Inspected):
            self.last, self.last_ms, self.last_cut_from = ev.inspection, ev.ms, ev.cut_from
            self.images = {id(ev.inspection): images}
            if not self._pending:  # a newer request is queued: its result is the one to show
                self.inspected.emit(ev.inspection)

    def _ended(self):
        self._job = None
        if self._pending:
            self._pending = False
            self.request()
        else:
            self.busy_changed.emit(False)

    def shutdown(self) -> None:
        self._pending = False
        if self._job is not None:
            self._job.shutdown(60_000)
