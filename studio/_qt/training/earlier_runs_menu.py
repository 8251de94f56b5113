"""Train → Runs of this model: the runs trained in the app for the milestone on screen in earlier
sessions, newest first, each with when and how far it trained; the one ticked is the run that
Generate, Plots, Attention, Routing and Export show (issue 22 M2: "say which, offer others")."""
from __future__ import annotations

import re

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu

from studio.core import errors as E

_STAMP = re.compile(r"(\d{4})(\d{2})(\d{2})-(\d{2})(\d{2})\d{2}$")


def run_title(name: str) -> str:
    """"2023-07-llama-2-20261206-140312" → "run of 2026-12-06 14:03"."""
    m = _STAMP.search(name)
    return name if m is None else "run of {}-{}-{} {}:{}".format(*m.groups())


class EarlierRunsMenu(QMenu):
    """Built again each time it opens (a run may have finished since); ``earlier`` is the
    studio.core.runs.earlier.EarlierRuns behind RunState's earlier lookup."""

    def __init__(self, run_state, earlier, show_status, parent=None):
        super().__init__("Runs of this model", parent)
        self.run_state, self.earlier, self.show_status = run_state, earlier, show_status
        self.setToolTipsVisible(True)
        self.aboutToShow.connect(self.rebuild)

    def rebuild(self) -> None:
        self.clear()
        doc = self.run_state.document
        runs = self.earlier.runs(doc) if doc is not None else []
        if not runs:
            why = ("No runs of this milestone from earlier sessions (runs you train here are listed "
                   "after a restart)") if getattr(doc, "kind", None) == "milestone" else \
                  "Only a published milestone lists its earlier runs (this model carries its own run)"
            self.addAction(why).setEnabled(False)
            return
        live = self.run_state.source == "live"
        if live:
            self.addAction("The run trained in this window is shown (the earlier ones after a restart)").setEnabled(False)
            self.addSeparator()
        chosen = None if live else self.earlier.chosen(doc)
        for path in runs:
            act = self._entry(path, path == chosen)
            act.setEnabled(not live)
            self.addAction(act)

    def _entry(self, path, ticked: bool) -> QAction:
        from studio.core.runs.summary import run_summary
        try:
            line = run_summary(path)
        except (E.StudioError, OSError, ValueError, TypeError) as exc:
            line = f"cannot be read: {exc}"
        act = QAction(f"{run_title(path.name)} — {line}", self)
        act.setCheckable(True)
        act.setChecked(ticked)
        act.setToolTip(str(path))
        act.triggered.connect(lambda _c=False, p=path: self.choose(p))
        return act

    def choose(self, path) -> None:
        doc = self.run_state.document
        self.earlier.choose(doc, path)
        self.run_state.refresh()
        self.show_status(f"Showing your {run_title(path.name)} ({path.name})", 8000)
