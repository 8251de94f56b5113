"""The evented, Qt-free model of the app (napari's ViewerModel, composed of small models):

    StudioModel
     ├─ timeline   Timeline   published milestones, index (None off the timeline), playing
     ├─ document   Document   the architecture on screen, its kind, key, scale, edits, version
     ├─ figures    Figures    accounting, chart series, llama2.c markers, milestone changes
     ├─ run        RunState   the run that belongs to the document on screen
     └─ view       ViewSettings  how it is shown: the theme (views follow ``theme_changed``)

Scrubbing changes the Timeline and the Document follows it; opening a project, reopening an
edited copy or importing a run changes the Document and the Timeline lets go of its index.
Views (studio._qt) take this model, subscribe and keep no copy.
"""
from __future__ import annotations

from studio.core.model.architecture import Architecture
from studio.core.state.document import Document, Entry, RemovedNode
from studio.core.state.figures import Change, Figures, TimelinePoint
from studio.core.state.run import RunState
from studio.core.state.timeline import Timeline
from studio.core.state.view import ViewSettings

__all__ = ["StudioModel", "Timeline", "Document", "Entry", "RemovedNode", "Figures", "Change",
           "TimelinePoint", "RunState", "ViewSettings"]


class StudioModel:
    def __init__(self, scale: str = "paper", start: str | int | None = 0):
        self.timeline = Timeline()
        self.document = Document(scale)
        self.figures = Figures(self.timeline, self.document)
        self.run = RunState()
        self.run.follow(self.document)
        self.view = ViewSettings()
        self.timeline.index_changed.connect(self._on_index)
        self.document.replaced.connect(self._let_go_of_timeline)
        self.document.changed.connect(self._let_go_of_timeline)
        if start is not None and self.timeline.ids:
            self.timeline.set_index(self.timeline.ids.index(start) if isinstance(start, str) else int(start))

    def _on_index(self, index):
        if index is None:
            return
        tl = self.timeline
        pid = tl.ids[index]
        self.document.show_milestone(pid, tl.canonical(pid).copy(), tl.info(pid).title)

    def _let_go_of_timeline(self, *_):
        """Only a published milestone is selected on the timeline (an edit forks the document)."""
        if not self.document.is_milestone:
            tl, origin = self.timeline, self.document.origin
            tl.set_index(None, anchor=tl.ids.index(origin) if origin in tl.ids else None)

    # ------------------------------------------------------------------ opening documents
    def show_milestone(self, preset_id: str) -> None:
        """Show the published milestone, even when its tick is already selected."""
        tl = self.timeline
        if tl.current_id == preset_id and self.document.milestone_id != preset_id:
            tl.set_index(None)
        tl.set_current(preset_id)

    def open_architecture(self, arch: Architecture, kind: str = "project", title: str | None = None, *,
                          run_dir=None, origin: str | None = None, path=None):
        """Show an architecture from outside the timeline (project, edited copy, imported run)."""
        if origin not in self.timeline.ids:
            origin = None
        return self.document.show(kind, arch, title or arch.meta.get("title") or arch.id, run_dir=run_dir,
                                  origin=origin, path=path)

    def reopen(self, key: str) -> None:
        self.document.reopen(key)

    def title(self) -> str:
        return self.document.title
