"""Document: the architecture on screen, what it is, and every edit made to it (Qt-free, evented).

A document is a published milestone, an edited copy of one, a project opened from a file, or
an imported llama2.c run. Its architecture is always a private copy, so edits never touch the
preset cache. Every edit goes through the methods here (undo commands call them); each bumps
``version`` and emits ``changed(version)``. Fine-grained graph events (node added, edge
removed, …) still come from ``architecture.graph``, which the scene mirrors one at a time.

The first edit of a milestone forks it: the document becomes "LLaMA 2 (edited)" (kind
``edited``, its own key) and is listed in ``opened``, so it can be reopened after the
milestone's original was shown again. The milestone itself is never replaced.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path

from psygnal import Signal

from studio.core import errors as E
from studio.core.model.architecture import Architecture, Override
from studio.core.model.graph import REGIONS, Edge, Node

KINDS = ("milestone", "edited", "project", "imported")


@dataclass
class Entry:
    """One document: identity and content (kept while it is off screen)."""
    kind: str
    key: str
    title: str
    architecture: Architecture
    run_dir: Path | None = None
    origin: str | None = None  # the milestone it was branched from, when there is one
    path: Path | None = None  # the project file it was opened from / saved to

    @property
    def version(self) -> int:
        """The one change counter: the architecture's revision (every edit, graph event, dim,
        override or meta change bumps it; resolve() keys its cache on the same number)."""
        return self.architecture.revision


@dataclass
class RemovedNode:
    """What removing a block took away (its links and per-layer overrides): undo puts it back."""
    node: Node
    edges: list[Edge] = field(default_factory=list)
    overrides: list[Override] = field(default_factory=list)


class Document:
    replaced = Signal()  # a different document is on screen now
    changed = Signal(int)  # an edit (or a change of identity: fork, save); carries the version
    scale_changed = Signal(str)
    listed = Signal()  # the list of reopenable documents (``opened``) changed

    def __init__(self, scale: str = "paper"):
        self._e: Entry | None = None
        self.scale = scale
        self.opened: dict[str, Entry] = {}  # non-milestone documents of this session, by key

    # ------------------------------------------------------------------ reading
    @property
    def entry(self) -> Entry | None:
        return self._e

    @property
    def architecture(self) -> Architecture | None:
        return self._e.architecture if self._e else None

    @property
    def kind(self) -> str | None:
        return self._e.kind if self._e else None

    @property
    def key(self) -> str | None:
        return self._e.key if self._e else None

    @property
    def title(self) -> str:
        return self._e.title if self._e else ""

    @property
    def run_dir(self) -> Path | None:
        return self._e.run_dir if self._e else None

    @property
    def origin(self) -> str | None:
        return self._e.origin if self._e else None

    @property
    def path(self) -> Path | None:
        return self._e.path if self._e else None

    @property
    def version(self) -> int:
        return self._e.version if self._e else 0

    @property
    def is_milestone(self) -> bool:
        return self.kind == "milestone"

    @property
    def milestone_id(self) -> str | None:
        """The published milestone on screen (None for every other kind of document)."""
        return self._e.origin if self.is_milestone else None

    def shown_scale(self) -> str:
        """The scale in force for the architecture on screen (its first one if it lacks ours)."""
        arch = self.architecture
        if arch is None or self.scale in arch.scales:
            return self.scale
        return next(iter(arch.scales), self.scale)

    def edited_copies(self, milestone_id: str | None = None) -> list[Entry]:
        return [e for e in self.opened.values() if e.kind == "edited"
                and (milestone_id is None or e.origin == milestone_id)]

    # ------------------------------------------------------------------ what is on screen
    def show_milestone(self, preset_id: str, arch: Architecture, title: str) -> None:
        """Show a published milestone (``arch``: a private copy of the preset)."""
        self._show(Entry("milestone", f"milestone:{preset_id}", title, arch, origin=preset_id))

    def show(self, kind: str, arch: Architecture, title: str, *, key: str | None = None,
             run_dir=None, origin: str | None = None, path=None) -> Entry:
        """Show a document that is not a published milestone; it is listed for reopening."""
        if kind not in KINDS or kind == "milestone":
            raise E.StudioError(f"a document opened from outside the timeline is edited, project or imported, not {kind!r}")
        key = key or self._free_key(f"{kind}:{path or run_dir or title}")
        entry = Entry(kind, key, title, arch, Path(run_dir) if run_dir else None, origin,
                      path=Path(path) if path else None)
        self.opened[key] = entry
        self._show(entry)
        self.listed.emit()
        return entry

    def reopen(self, key: str) -> None:
        """Show a listed document again, with its edits and undo history intact."""
        if key not in self.opened:
            raise E.StudioError(f"no open document {key!r}")
        self._show(self.opened[key])

    def close_listed(self, key: str) -> None:
        if self.opened.pop(key, None) is not None:
            self.listed.emit()

    def close_all_listed(self) -> None:
        if self.opened:
            self.opened.clear()
            self.listed.emit()

    def _show(self, entry: Entry) -> None:
        if entry is self._e:
            return
        self._e = entry
        self.replaced.emit()

    def set_scale(self, scale: str) -> None:
        """Which scale the numbers are shown at (a view setting, not an edit: no version bump)."""
        if scale != self.scale:
            self.scale = scale
            self.scale_changed.emit(scale)

    def set_identity(self, *, title: str | None = None, path=None, run_dir=None) -> None:
        """A save names the document or gives it a file / a run folder."""
        e = self._require()
        if title is not None:
            e.title = title
        if path is not None:
            e.path = Path(path)
        if run_dir is not None:
            e.run_dir = Path(run_dir)
        self.changed.emit(e.version)

    def _free_key(self, base: str) -> str:
        key, n = base, 2
        while key in self.opened:
            key, n = f"{base}#{n}", n + 1
        return key

    def _require(self) -> Entry:
        if self._e is None:
            raise E.StudioError("no document is open")
        return self._e

    # ------------------------------------------------------------------ edits
    def _after_edit(self) -> None:
        e = self._require()
        if e.kind == "milestone":  # fork: the milestone stays as published
            pid = e.origin
            e = Entry("edited", self._free_key(f"edited:{pid}"), "", e.architecture, None, pid)
            n = len(self.edited_copies(pid)) + 1
            e.title = f"{self._e.title} (edited)" if n == 1 else f"{self._e.title} (edited {n})"
            self.opened[e.key] = e
            self._e = e
            self.listed.emit()
        e.architecture.touch()  # a change the revision would not see by itself (a fork)
        self.changed.emit(e.version)

    @property
    def graph(self):
        return self._require().architecture.graph

    def check_connect(self, src: str, src_port: str, dst: str, dst_port: str) -> Edge:
        """Why an edge would be refused (a typed GraphEditError), without changing anything."""
        return self.graph.check_connect(src, src_port, dst, dst_port)

    def add_node(self, node: Node, edges=()) -> Node:
        g = self.graph
        added = g.add_node(copy.deepcopy(node))
        for e in edges:
            g.connect(e.src, e.src_port, e.dst, e.dst_port)
        self._after_edit()
        return added

    def remove_node(self, node_id: str) -> RemovedNode:
        arch = self._require().architecture
        overrides = [o for o in arch.overrides if o.node == node_id]
        node, edges = arch.graph.remove_node(node_id)
        arch.overrides[:] = [o for o in arch.overrides if o.node != node_id]
        self._after_edit()
        return RemovedNode(copy.deepcopy(node), list(edges), copy.deepcopy(overrides))

    def restore_node(self, removed: RemovedNode) -> None:
        arch = self._require().architecture
        arch.graph.add_node(copy.deepcopy(removed.node))
        for e in removed.edges:
            arch.graph.connect(e.src, e.src_port, e.dst, e.dst_port)
        arch.overrides.extend(copy.deepcopy(removed.overrides))
        self._after_edit()

    def connect(self, src: str, src_port: str, dst: str, dst_port: str) -> Edge:
        edge = self.graph.connect(src, src_port, dst, dst_port)
        self._after_edit()
        return edge

    def disconnect(self, edge: Edge) -> None:
        self.graph.disconnect(edge)
        self._after_edit()

    def set_config(self, node_id: str, key: str, value) -> object:
        """Set one setting of a block (None: back to its default / the model's dim); returns the old value."""
        old = self.graph.set_config(node_id, key, value)
        self._after_edit()
        return old

    def set_dim(self, scale: str, key: str, value) -> object:
        """Set a shared dimension of one scale (None removes it); returns the old value."""
        arch = self._require().architecture
        if scale not in arch.scales:
            raise E.ConfigError(f"{arch.id}: no {scale!r} scale (has: {', '.join(arch.scales) or 'none'})")
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise E.ConfigError(f"{key} must be a number, got {value!r}")
        dims = arch.scales[scale]
        old = dims.get(key)
        if value is None:
            dims.pop(key, None)
        else:
            dims[key] = value
        self._after_edit()
        return old

    def set_overrides(self, overrides: list[Override]) -> list[Override]:
        """Replace the per-layer overrides (undo passes the old list back); returns the old list."""
        arch = self._require().architecture
        for ov in overrides:
            if ov.node not in arch.graph.nodes:
                raise E.UnknownNodeError(f"override names no block: {ov.node!r}")
        old = copy.deepcopy(arch.overrides)
        arch.overrides[:] = copy.deepcopy(list(overrides))
        self._after_edit()
        return old

    def set_region(self, region: str, repeat_dim: str | None) -> str | None:
        """Which dim a region repeats by (None: not repeated); returns the old one."""
        if region not in REGIONS:
            raise E.GraphEditError(f"unknown region {region!r}; use one of {', '.join(REGIONS)}")
        arch = self._require().architecture
        old = arch.regions.get(region)
        if repeat_dim is None:
            arch.regions.pop(region, None)
        else:
            arch.regions[region] = str(repeat_dim)
        self._after_edit()
        return old

    def set_meta(self, key: str, value) -> object:
        arch = self._require().architecture
        old = arch.meta.get(key)
        if value is None:
            arch.meta.pop(key, None)
        else:
            arch.meta[key] = value
        self._after_edit()
        return old

    def move_node(self, node_id: str, pos: tuple[float, float] | None) -> None:
        """Where a block is drawn (None: automatic layout); saved with the project."""
        g = self.graph
        if pos is None:
            g.node(node_id).pos = None
            g.node_moved.emit(node_id, None)
        else:
            g.move_node(node_id, pos)
        self._after_edit()
