"""What the inspector looks at, and the thread that looks.

Sources: the current milestone's classroom model with fresh weights ("untrained"), a RUN_DIR's
latest checkpoint, or a weight snapshot handed over by training. The model is built and run
only inside the job thread (one job at a time, latest request wins); results come back to the
GUI thread as frozen ``Inspection``s after the thread has finished, so nothing ever blocks the
event loop and no thread outlives its work.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

from PySide6.QtCore import QObject, QThread, Signal

from studio.core.errors import StudioError
from studio.core.inspection import RoutingHistory


@dataclass(frozen=True)
class Source:
    kind: str  # untrained | run | snapshot
    label: str
    arch: object = None  # Architecture (untrained / snapshot)
    path: str = ""  # RUN_DIR (run)
    state: object = None  # state-dict copy (snapshot)
    tokenizer: object = None  # snapshot's tokenizer (None: byte-level)
    version: int = 0


class _Job(QThread):
    def __init__(self, source: Source, prompt: str, cache: dict, mask_rgb, encoder_text: str = "", parent=None):
        super().__init__(parent)
        self.source, self.prompt, self.cache, self.mask_rgb = source, prompt, cache, mask_rgb
        self.encoder_text = encoder_text
        self.result = self.error = self.images = None
        self.ms = 0.0

    def _model(self):
        """(model, tokenizer) for the source, built once per source (the cache lives with the controller)."""
        s = self.source
        key = (s.kind, s.path, id(s.arch), s.version)
        if self.cache.get("key") == key:
            return self.cache["model"], self.cache["tok"]
        import torch

        from studio.core.compiler import compile_architecture
        from studio.core.tokenizers.byte_level import ByteTokenizer
        if s.kind == "run":
            from studio.core.rundir import RunDir
            run = RunDir(s.path)
            model, tok = run.build_model(), run.tokenizer()
        else:
            torch.manual_seed(0)  # "untrained" is the same picture every time for the same milestone
            model = compile_architecture(s.arch, "classroom")
            if s.state is not None:
                model.load_state_dict(s.state, strict=False)
            tok = s.tokenizer or ByteTokenizer()
        self.cache.update(key=key, model=model.eval(), tok=tok)
        return model, tok

    def run(self):
        import torch

        from studio.core.inspection import inspect_model
        # One intra-op thread for this (fresh) thread only (OpenMP's setting is per thread): a
        # 64-token prompt takes 17-67 ms so, while with 2 threads on a box busy with training it
        # took 0.5-1.4 s fighting the trainer's threads (bench/bench_inspect.py).
        torch.set_num_threads(1)
        t0 = time.perf_counter()
        try:
            model, tok = self._model()
            ids = tok.encode(self.prompt, bos=True)
            has_encoder = "source" in model.inputs.values()
            src = tok.encode(self.encoder_text, bos=True) if has_encoder and self.encoder_text.strip() else None
            self.result = inspect_model(model, ids, tok, source=src, label=self.source.label)
            from studio._qt.inspect.widgets import attention_images
            self.images = attention_images(self.result, self.mask_rgb)  # colouring off the GUI thread too
        except StudioError as exc:
            self.error = str(exc)
        except Exception as exc:  # noqa: BLE001  shown in the dock, never a crash of the GUI
            self.error = f"{type(exc).__name__}: {exc}"
        self.ms = (time.perf_counter() - t0) * 1000


class InspectController(QObject):
    inspected = Signal(object)  # Inspection
    failed = Signal(str)
    busy_changed = Signal(bool)
    source_changed = Signal(object)  # Source
    focus_requested = Signal(str, int)  # node id, layer: the graph asked to show this block

    def __init__(self, parent=None):
        super().__init__(parent)
        self.source: Source | None = None
        self.prompt = "Once upon a time there was a little girl named Lily."
        self.encoder_text = ""  # encoder input of encoder-decoder models ("" = the prompt, as the model does)
        self.history = RoutingHistory()  # fed by training: history.record(step, model)
        self.last = None
        self.last_ms = 0.0
        self.images: dict[int, list] = {}  # id(Inspection) -> attention_images of the latest result
        from studio._qt.inspect.widgets import palette_colours
        self.mask_rgb = palette_colours()[2].getRgb()[:3]
        self._job: _Job | None = None
        self._pending = False
        self._cache: dict = {}
        self._version = 0

    # ------------------------------------------------------------------ sources
    def set_untrained(self, arch) -> None:
        title = arch.meta.get("title", arch.id)
        self._set(Source("untrained", f"{title}, classroom scale, untrained (fresh random weights)", arch=arch))

    def set_run(self, path: str) -> None:
        from pathlib import Path

        from studio.core.rundir import RunDir
        try:
            model = RunDir(path).read_config().get("model", "")
        except StudioError:
            model = ""
        p = Path(path)
        where = f"{p.parent.name}/{p.name}" if p.parent.name else p.name
        self._set(Source("run", f"{model or 'run'} — {where}, latest checkpoint", path=str(path)))

    def set_snapshot(self, arch, state_dict: dict, step: int, tokenizer=None) -> None:
        """A copy of training weights (the trainer's GUI calls this whenever it takes a snapshot)."""
        title = arch.meta.get("title", arch.id)
        self._set(Source("snapshot", f"{title}, training snapshot at step {step}", arch=arch, state=state_dict,
                         tokenizer=tokenizer))

    def _set(self, source: Source) -> None:
        self._version += 1
        self.source = Source(**{**source.__dict__, "version": self._version})
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
        self._job = _Job(self.source, self.prompt, self._cache, self.mask_rgb, self.encoder_text)
        self._job.finished.connect(self._finished)
        self.busy_changed.emit(True)
        self._job.start()

    def _finished(self):
        job, self._job = self._job, None
        job.wait()
        job.deleteLater()
        if self._pending:
            self._pending = False
            self.request()
        else:
            self.busy_changed.emit(False)
        if job.error:
            self.failed.emit(job.error)
        elif job.result is not None:
            self.last, self.last_ms = job.result, job.ms
            self.images = {id(job.result): job.images}
            self.inspected.emit(job.result)

    def shutdown(self) -> None:
        self._pending = False
        if self._job is not None:
            self._job.wait()
