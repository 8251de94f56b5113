"""Figures: what the panels show about the document and the timeline, derived and cached.

Accounting of the document on screen (cached by document key, version and scale: scrubbing
published milestones is O(1) once warm, an edit recomputes once), the timeline chart's
series (published milestones and recipes only: the timeline never shows edited copies),
the llama2.c markers, and each milestone's change against the model it builds on (its
lineage, ``meta.builds_on``: what the card lists and the scene animates). Views subscribe to ``changed`` and read.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from psygnal import Signal

from studio.core.errors import StudioError


@dataclass(frozen=True)
class TimelinePoint:
    """One figure of the timeline chart (paper scale; None where undisclosed)."""
    id: str
    params_total: float | None
    kv_bytes: float | None


@dataclass(frozen=True)
class Change:
    """A milestone against the model it builds on: node ids for the scene, sentences (kind,
    text) for the card, headline first. Empty for the root of the timeline."""
    since: str | None = None  # the id it is compared with
    added: tuple = ()
    removed: tuple = ()
    changed: tuple = ()  # replaced or retuned blocks
    sentences: tuple = field(default_factory=tuple)
    builds_on: tuple = ()  # ``since`` and the ideas it merges (LLaMA 1: GPT-3 + RMSNorm, SwiGLU, RoPE, …)

    @property
    def empty(self) -> bool:
        return not self.sentences and not (self.added or self.removed or self.changed)


NO_CHANGE = Change()


def _account(arch, scale):
    from studio.core.model.accounting import account  # reads the one cached resolution where it exists
    return account(arch, scale)


def _sentence_kind(text: str) -> str:
    for word, kind in (("Added", "added"), ("Removed", "removed"), ("Replaced", "replaced"),
                       ("Rewired", "rewired")):
        if text.startswith(word):
            return kind
    return "changed"


def compute_change(prev, arch, since: str | None) -> Change:
    """The change from ``prev`` to ``arch`` in learner words (studio.core.model.lineage)."""
    from studio.core.model.diff import diff
    from studio.core.model.lineage import milestone_change_items, told_blocks
    d = diff(prev, arch)
    # the (kind, text) pairs: the card's glyph says removed / added, not "~" for every line
    sentences = _as_sentences(milestone_change_items(prev, arch))
    told = told_blocks(prev, arch, sentences)  # the blocks the sentences talk about are marked too
    return Change(since, tuple(d.added), tuple(d.removed), tuple(sorted(set(d.replaced) | set(d.changed) | told)),
                  sentences)


def _as_sentences(result) -> tuple:
    """Accept what milestone_change returns: sentences, (kind, text) pairs or items with .kind/.text."""
    items = getattr(result, "sentences", None) or getattr(result, "lines", None) or result or []
    out = []
    for it in items:
        if isinstance(it, str):
            out.append((_sentence_kind(it), it))
        elif isinstance(it, tuple) and len(it) == 2:
            out.append((str(it[0]), str(it[1])))
        else:
            out.append((str(getattr(it, "kind", "changed")), str(getattr(it, "text", it))))
    return tuple(out)


class Figures:
    changed = Signal()  # the document's figures may differ (it was replaced, edited or rescaled)
    series_changed = Signal()

    def __init__(self, timeline, document):
        self.timeline, self.document = timeline, document
        self._acc: dict[tuple, object] = {}  # (document key, version, scale) -> Accounting
        self._series: dict[str, TimelinePoint] = {}
        self._changes: dict[str, Change] = {}
        self._llama2c: dict[str, bool] | None = None
        document.replaced.connect(self._on_document)
        document.changed.connect(self._on_document)
        document.scale_changed.connect(self._on_document)
        document.listed.connect(self._drop_closed)
        timeline.entries_changed.connect(self._on_entries)

    def _on_document(self, *_):
        self.changed.emit()

    def _on_entries(self):
        """A user's milestone came or went: the figures of the user's entries are dropped (an id
        may come back with other content), the timeline's series and markers are rebuilt."""
        tl = self.timeline
        kept = {f"milestone:{i}" for i in tl.ids if not tl.is_user(i)}
        self._acc = {k: v for k, v in self._acc.items() if not k[0].startswith("milestone:") or k[0] in kept}
        self._series.clear()
        self._changes.clear()
        self._llama2c = None
        self.series_changed.emit()

    # ------------------------------------------------------------------ the document on screen
    def accounting(self, scale: str | None = None):
        """Accounting of the document on screen at ``scale`` (the document's by default).
        Raises StudioError when its settings are invalid."""
        doc = self.document
        arch = doc.architecture
        if arch is None:
            return None
        scale = scale or doc.shown_scale()
        if doc.is_milestone:
            return self.milestone_accounting(doc.milestone_id, scale, arch)
        key = (doc.key, doc.version, scale)  # the version is the architecture's revision
        acc = self._acc.get(key)
        if acc is None:
            # an edit or an undo makes a new revision, never an old one: the document's older
            # versions are not shown again (kept, a class's edits grew the cache by one a loop)
            self._acc = {k: v for k, v in self._acc.items() if k[0] != doc.key or k[1] == doc.version}
            acc = self._acc[key] = _account(arch, scale)
        return acc

    def _drop_closed(self):
        """A closed document (File → New project) is not shown again: its figures go."""
        doc, opened = self.document, self.document.opened
        self._acc = {k: v for k, v in self._acc.items()
                     if k[0].startswith("milestone:") or k[0] in opened or k[0] == doc.key}

    def milestone_accounting(self, preset_id: str, scale: str, arch=None):
        key = (f"milestone:{preset_id}", 0, 0, scale)
        acc = self._acc.get(key)
        if acc is None:
            acc = self._acc[key] = _account(arch if arch is not None else self.timeline.canonical(preset_id), scale)
        return acc

    def change(self) -> Change:
        """What the card lists and the scene marks for the document on screen: a milestone
        against the model it builds on; an edited copy against its milestone; a user's
        architecture that names ``meta.builds_on`` against that model."""
        doc = self.document
        if doc.is_milestone:
            return self.milestone_change(doc.milestone_id)
        own = (doc.architecture.meta.get("builds_on") if doc.architecture is not None and doc.kind != "edited" else None)
        if isinstance(own, list):
            own = own[0] if own else None
        if isinstance(own, str) and own in self.timeline.ids:  # a user's milestone names its own lineage
            try:
                return compute_change(self.timeline.canonical(own), doc.architecture, own)
            except (StudioError, KeyError, TypeError, ValueError):
                return NO_CHANGE
        if doc.kind == "edited" and doc.origin in self.timeline.ids and doc.architecture is not None:
            base = self.timeline.try_canonical(doc.origin)
            if base is not None:
                try:
                    return compute_change(base, doc.architecture, doc.origin)
                except (StudioError, KeyError, TypeError, ValueError):
                    return NO_CHANGE
        return NO_CHANGE

    def milestone_change(self, preset_id: str) -> Change:
        """A milestone against the model it builds on (``meta.builds_on``: its lineage, not the
        previous tick; studio.core.model.lineage)."""
        ch = self._changes.get(preset_id)
        if ch is None:
            from studio.core.model.lineage import base_id
            arch = self.timeline.try_canonical(preset_id)
            prev_id = base_id(arch) if arch is not None else None
            prev = self.timeline.try_canonical(prev_id) if prev_id in self.timeline.ids else None
            ch = NO_CHANGE if prev is None or arch is None else compute_change(prev, arch, prev_id)
            if ch is not NO_CHANGE:
                from dataclasses import replace

                from studio.core.model.lineage import builds_on
                ch = replace(ch, builds_on=builds_on(arch.meta, preset_id))
            self._changes[preset_id] = ch
        return ch

    # ------------------------------------------------------------------ the timeline
    def warm_one(self, preset_id: str) -> bool:
        """Load one preset and its figures (idle time after start-up), so scrubbing is O(1)."""
        arch = self.timeline.try_canonical(preset_id)
        if arch is None:
            return False
        try:
            for sc in arch.scales:
                self.milestone_accounting(preset_id, sc)
            self.milestone_change(preset_id)
        except StudioError as exc:
            self.timeline.broken[preset_id] = str(exc)
            return False
        return True

    def warm(self) -> None:
        for pid in self.timeline.ids:
            self.warm_one(pid)
        self.series()

    def series(self) -> list[TimelinePoint]:
        """Paper-scale params and KV bytes per token of every timeline entry (cached)."""
        out = []
        for pid in self.timeline.ids:
            pt = self._series.get(pid)
            if pt is None:
                try:
                    arch = self.timeline.canonical(pid)
                    scale = "paper" if "paper" in arch.scales else next(iter(arch.scales))
                    acc = self.milestone_accounting(pid, scale)
                    hidden = scale == "paper" and arch.meta.get("disclosure") in ("undisclosed", "stand-in")
                    pt = TimelinePoint(pid, None if hidden else acc.params_total,
                                       None if hidden else acc.kv_cache_bytes_per_token)
                except StudioError:
                    pt = TimelinePoint(pid, None, None)
                self._series[pid] = pt
            out.append(pt)
        return out

    def llama2c_markers(self) -> dict[str, bool]:
        """Which timeline entries export to llama2.c unchanged (cached; empty without the exporter)."""
        if self._llama2c is None:
            try:
                from studio.core.formats.llama2c import check_llama2c
            except ImportError:
                return {}
            out = {}
            for pid in self.timeline.ids:
                arch = self.timeline.try_canonical(pid)
                try:
                    out[pid] = arch is not None and not [
                        i for i in check_llama2c(arch) if getattr(i, "severity", "error") == "error"]
                except (StudioError, KeyError, TypeError, ValueError):  # a marker is optional, never fatal
                    out[pid] = False
            self._llama2c = out
            self.series_changed.emit()
        return self._llama2c
