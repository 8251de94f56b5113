"""Run state: the training run that belongs to the document on screen (Qt-free, evented).

Generate, Attention, Routing and Export read this — never "the last training run in this
window". A run belongs to a document key; the first that applies wins:

    live      a training run started in the app for THIS document (kept after it finishes)
    imported  an imported llama2.c run: the document's own ``run_dir``
    project   the run a project file recorded: the document's ``run_dir``
    prepared  a run that ships with a lesson folder (``set_prepared_lookup(key -> Path | None)``)
    earlier   the newest run trained in the app for this milestone in an earlier session
              (``set_earlier_lookup(document -> Path | None)``: studio.core.runs.earlier)
    None      nothing trained for this model: views show fresh random weights

Runs are kept per document key, so going back to a model finds its run again. The live run's
latest weights arrive as :class:`Snapshot` copies (taken by the worker between steps); other
runs have no in-memory snapshot — a view loads their latest checkpoint from ``run_dir`` in its
worker, off the GUI thread.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Callable

from psygnal import Signal

from studio.core.inspect.routing_history import RoutingHistory

TRAINING_STATES = ("idle", "preparing", "running", "paused", "stopping", "finished")
SOURCES = ("live", "imported", "project", "prepared", "earlier")


@dataclasses.dataclass(frozen=True)
class Snapshot:
    """A copy of training weights: safe to read on any thread, never touched by the trainer again."""
    arch: Any            # the Architecture that was trained (its classroom dims)
    state: dict = dataclasses.field(repr=False)  # state-dict copy (CPU tensors)
    step: int
    tokenizer: Any = None  # the run's tokenizer (None: byte-level)


@dataclasses.dataclass
class _LiveRun:
    run_dir: Path | None = None      # known once the worker prepared the run folder
    training: str = "preparing"
    snapshot: Snapshot | None = None
    info: dict = dataclasses.field(default_factory=dict)
    # MoE load over this run's steps, filled on the GUI thread from its step events (record_step)
    routing_history: RoutingHistory = dataclasses.field(default_factory=RoutingHistory)


class RunState:
    """The run of the document on screen. ``changed`` fires whenever any public attribute may differ."""

    changed = Signal()

    def __init__(self):
        self._document = None
        self._live: dict[str, _LiveRun] = {}   # document key -> live run started for it
        self._prepared_lookup: Callable[[str], Path | None] | None = None
        self._prepared_describe: Callable[[Path], str] | None = None
        self._earlier_lookup: Callable[[Any], Path | None] | None = None
        self._live_key: str | None = None      # the document whose run is training now (or None)
        self._latest_key: str | None = None    # the document of the latest run started here (kept after it ends)
        self._resolved: tuple | None = None    # (source, run_dir) cached until the next change
        self._blocker: tuple | None = None     # ((source, run_dir, training), continue_blocker()) last asked

    # ------------------------------------------------------------------ following the document
    def follow(self, document) -> None:
        """Mirror ``document`` (the StudioModel's Document): re-resolve whenever it is replaced or changes."""
        if self._document is document:
            return
        if self._document is not None:
            for sig in ("replaced", "changed"):
                try:
                    getattr(self._document, sig).disconnect(self._on_document)
                except (AttributeError, ValueError, RuntimeError):
                    pass
        self._document = document
        document.replaced.connect(self._on_document)
        changed = getattr(document, "changed", None)
        if changed is not None:
            changed.connect(self._on_document)
        self._changed()

    def _on_document(self, *_):
        self._changed()

    def _changed(self) -> None:
        self._resolved = None  # every mutation passes here: the next read resolves again
        self.changed.emit()

    @property
    def document(self):
        return self._document

    @property
    def key(self) -> str | None:
        d = self._document
        return None if d is None else d.key

    def refresh(self) -> None:
        """Resolve again and tell the views (e.g. a lesson folder has just got a prepared run, or a
        run folder a checkpoint)."""
        self._blocker = None
        self._changed()

    def set_prepared_lookup(self, lookup: Callable[[str], Path | None] | None,
                            describe: Callable[[Path], str] | None = None) -> None:
        """Where lesson folders offer prepared runs: ``lookup(document key) -> run folder or None``;
        ``describe(run folder)``: one line for label() saying which run, when and how long it trained."""
        self._prepared_lookup = lookup
        self._prepared_describe = describe
        self._changed()

    def set_earlier_lookup(self, lookup: Callable[[Any], Path | None] | None) -> None:
        """Where runs trained in earlier sessions are found: ``lookup(document) -> run folder or None``."""
        self._earlier_lookup = lookup
        self._changed()

    # ------------------------------------------------------------------ what the views read
    def _current_live(self) -> _LiveRun | None:
        k = self.key
        return None if k is None else self._live.get(k)

    @property
    def source(self) -> str | None:
        return self._resolve()[0]

    @property
    def run_dir(self) -> Path | None:
        return self._resolve()[1]

    def _resolve(self) -> tuple[str | None, Path | None]:
        if self._resolved is None:
            self._resolved = self._resolve_now()  # views read this at up to 30 Hz: the lookup runs once
        return self._resolved

    def _resolve_now(self) -> tuple[str | None, Path | None]:
        d = self._document
        if d is None:
            return None, None
        live = self._live.get(d.key)
        if live is not None:
            return "live", live.run_dir
        kind = getattr(d, "kind", None)
        rd = getattr(d, "run_dir", None)
        if rd is not None and kind in ("imported", "project"):
            return kind, Path(rd)
        if self._prepared_lookup is not None:
            p = self._prepared_lookup(d.key)
            if p is not None:
                return "prepared", Path(p)
        if self._earlier_lookup is not None:
            p = self._earlier_lookup(d)
            if p is not None:
                return "earlier", Path(p)
        return None, None

    @property
    def snapshot(self) -> Snapshot | None:
        """Latest in-memory weights of the live run for this document (None for other sources)."""
        live = self._current_live()
        return None if live is None else live.snapshot

    @property
    def training(self) -> str:
        """idle / preparing / running / paused / stopping / finished — of THIS document's run."""
        live = self._current_live()
        return "idle" if live is None else live.training

    @property
    def info(self) -> dict:
        """What the worker reported when it prepared this document's live run (label, params, …)."""
        live = self._current_live()
        return {} if live is None else dict(live.info)

    @property
    def routing_history(self):
        """The routing-over-steps record of THIS document's live run (None: no live run)."""
        live = self._current_live()
        return None if live is None else live.routing_history

    @property
    def live_key(self) -> str | None:
        """The document whose run is training now (it may not be the one on screen)."""
        return self._live_key

    @property
    def latest_key(self) -> str | None:
        """The document of the latest run started in this window, training or ended (None: none, or forgotten)."""
        return self._latest_key

    def live_training(self, key: str | None) -> str:
        """The training state of document ``key``'s live run, whichever model is on screen ("idle": none)."""
        live = self._live.get(key) if key is not None else None
        return "idle" if live is None else live.training

    def live_info(self, key: str | None) -> dict:
        """What the worker reported when it prepared document ``key``'s live run ({} before that, or none)."""
        live = self._live.get(key) if key is not None else None
        return {} if live is None else dict(live.info)

    def has_run(self) -> bool:
        return self.source is not None

    def continue_blocker(self) -> str | None:
        """Why this document's run cannot be continued for more minutes now (one line), or None when
        it can: a finished or stopped run of this window, a project's or an imported run, with a
        checkpoint. Remembered per (source, folder, training state): views ask on every change."""
        if self.key is None:
            return "no model on screen"
        if self._live_key is not None:
            return "a run is training now; continue one when it has finished or been stopped"
        src, rd = self._resolve()
        memo = (src, rd, self.training)
        if self._blocker is None or self._blocker[0] != memo:
            if src == "prepared":
                why = "this is the lesson's prepared run, kept as the lesson made it; Start trains a new run"
            else:
                from studio.core.training.resume import continuable
                why = continuable(rd)
            self._blocker = (memo, why)
        return self._blocker[1]

    def label(self) -> str:
        """A learner-facing line: where the weights shown come from."""
        src, rd = self._resolve()
        if src is None:
            return "no trained run for this model (fresh random weights)"
        where = "" if rd is None else f" — {rd.parent.name}/{rd.name}" if rd.parent.name else f" — {rd.name}"
        if src == "prepared" and self._prepared_describe is not None and rd is not None:
            try:
                return f"the lesson's {self._prepared_describe(rd)}"
            except Exception:  # noqa: BLE001  a half-written run folder: the plain label below
                pass
        return {"live": "training in this window", "imported": "imported run",
                "project": "the project's run", "prepared": "the lesson's prepared run",
                "earlier": "your run of this model from an earlier session"}[src] + where

    # ------------------------------------------------------------------ the live run (the training worker feeds these)
    def start_live(self, key: str, run_dir=None) -> None:
        """A training run starts for document ``key``; it replaces that document's earlier live run
        (and its routing history). ``run_dir``: the folder, when it is known already (a continued
        run): if the continuation fails before it trains, the document keeps that run instead of losing it."""
        self._live[key] = _LiveRun(run_dir=None if run_dir is None else Path(run_dir))
        self._live_key = self._latest_key = key
        self._changed()

    def record_step(self, event, key: str | None = None) -> None:
        """A step event of document ``key``'s live run (GUI thread): its MoE routing joins the run's
        routing history, which tells its own views (``RoutingHistory.changed``); nothing else changes."""
        live = self._live_for(key)
        if live is not None:
            live.routing_history.add(event)

    def _live_for(self, key: str | None) -> _LiveRun | None:
        k = self._live_key if key is None else key
        return None if k is None else self._live.get(k)

    def live_prepared(self, run_dir, info: dict | None = None, key: str | None = None) -> None:
        live = self._live_for(key)
        if live is None:
            return
        live.run_dir, live.info, live.training = Path(run_dir), dict(info or {}), "running"
        self._changed()

    def set_training(self, state: str, key: str | None = None) -> None:
        if state not in TRAINING_STATES:
            raise ValueError(f"unknown training state {state!r}")
        live = self._live_for(key)
        if live is None or live.training == state:
            return
        live.training = state
        if state == "finished" and (key is None or key == self._live_key):
            self._live_key = None
        self._changed()

    def set_snapshot(self, snapshot: Snapshot, key: str | None = None) -> None:
        live = self._live_for(key)
        if live is None:
            return
        live.snapshot = snapshot
        self._changed()

    def live_failed(self, key: str | None = None) -> None:
        """The run never got a folder (bad data, …): forget it, the document falls back to its own run."""
        k = self._live_key if key is None else key
        live = self._live.get(k) if k is not None else None
        if live is None:
            return
        if live.run_dir is None:
            del self._live[k]
        else:
            live.training = "finished"
        if k == self._live_key:
            self._live_key = None
        self._changed()

    def forget(self, key: str) -> None:
        """Drop a document's live run (the document was closed / reset)."""
        if self._live.pop(key, None) is not None:
            if key == self._live_key:
                self._live_key = None
            if key == self._latest_key:
                self._latest_key = None
            self._changed()
