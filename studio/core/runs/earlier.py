"""Runs trained in the app before: after a restart, a milestone finds its latest run again.

The app trains into ``<runs folder>/<model id>-<YYYYmmdd-HHMMSS>`` (``training.setup.default_run_dir``)
and records the architecture it trained in run.yaml. A run belongs to a published milestone
when run.yaml names that milestone as its model *and* its graph is the milestone's graph (an
edited copy trained under the same id is not the milestone's run). Only runs with a checkpoint
count: a run stopped before its first checkpoint has no weights to show.
"""
from __future__ import annotations

import re
import time
from pathlib import Path

from studio.core import errors as E
from studio.core.runs.rundir import RunDir

_STAMP = re.compile(r"-(\d{8}-\d{6})$")
MAX_LOOKED_AT = 64  # run folders read per milestone (newest first): a scrub stays quick with many runs


def runs_folder() -> Path:
    """Where the app's training runs go (ARCHSTUDIO_RUNS_DIR, else the user data folder)."""
    from studio.core.training.setup import default_run_dir
    return default_run_dir("x").parent


def earlier_runs(preset_id: str, arch=None, folder: Path | None = None) -> list[Path]:
    """Run folders trained in the app for ``preset_id``, newest first; with ``arch``, only those
    whose recorded graph is ``arch``'s. Damaged or foreign folders are passed over, never raised."""
    base = Path(folder) if folder is not None else runs_folder()
    try:
        names = [p for p in base.iterdir() if p.name.startswith(f"{preset_id}-") and _STAMP.search(p.name)]
    except OSError:
        return []
    names.sort(key=lambda p: _STAMP.search(p.name).group(1), reverse=True)
    want = None if arch is None else _graph_data(arch)
    out = []
    for path in names[:MAX_LOOKED_AT]:
        if _belongs(path, preset_id, want):
            out.append(path)
    return out


def _graph_data(arch) -> dict:
    """What a run must share with the milestone to be its run: the graph and the trained scale
    (paper-scale figures and notes may be corrected between versions of the app)."""
    from studio.core.files.yamlio import architecture_to_data
    return _comparable(architecture_to_data(arch))


TRAINING_DIMS = ("context", "vocab_size")  # set by the run (its context, its tokenizer), not by the graph


def _comparable(data: dict) -> dict:
    dims = (data.get("scales") or {}).get("classroom")
    dims = {k: v for k, v in dims.items() if k not in TRAINING_DIMS} if isinstance(dims, dict) else dims
    return {"nodes": data.get("nodes"), "edges": data.get("edges"), "regions": data.get("regions"),
            "overrides": data.get("overrides"), "classroom": dims}


def _belongs(path: Path, preset_id: str, want: dict | None) -> bool:
    run = RunDir(path)
    try:
        if path.is_symlink() or not run.has_checkpoint():
            return False
        cfg = run.read_config()
    except (E.StudioError, OSError, ValueError, TypeError):
        return False
    if cfg.get("model") != preset_id:
        return False
    if want is None:
        return True
    got = cfg.get("architecture")
    return isinstance(got, dict) and _comparable(got) == want


def _milestone_of(document) -> str | None:
    if getattr(document, "kind", None) != "milestone":
        return None
    return getattr(document, "milestone_id", None) or None


class EarlierRuns:
    """The runs trained in the app for the published milestone on screen, newest first, and the
    one the learner chose among them (Train → Runs of this model); ``lookup`` is RunState's
    earlier lookup. The runs folder is read again when its listing changes or ``REREAD_S`` has
    passed (a run another process is training gets its first checkpoint), not on every step of
    a scrub: the slider passes every milestone."""

    REREAD_S = 10.0

    def __init__(self, timeline, folder: Path | None = None, clock=time.monotonic):
        self._timeline, self._folder, self._clock = timeline, folder, clock
        self._found: dict[str, tuple[tuple, list[Path]]] = {}  # milestone -> (stamp, runs)
        self._chosen: dict[str, Path] = {}                     # milestone -> the run chosen

    def _stamp(self, base: Path) -> tuple:
        try:
            listing = base.stat().st_mtime_ns
        except OSError:
            listing = None
        return listing, int(self._clock() // self.REREAD_S)

    def runs(self, document) -> list[Path]:
        """This milestone's runs, newest first ([] for an edited copy, an import, a project)."""
        mid = _milestone_of(document)
        if mid is None:
            return []
        base = Path(self._folder) if self._folder is not None else runs_folder()
        stamp = self._stamp(base)
        hit = self._found.get(mid)
        if hit is None or hit[0] != stamp:
            hit = (stamp, earlier_runs(mid, self._timeline.canonical(mid), base))
            self._found[mid] = hit
        return list(hit[1])

    def chosen(self, document) -> Path | None:
        """The run shown for this milestone: the one chosen while it still exists, else the newest."""
        found = self.runs(document)
        mid = _milestone_of(document)
        pick = self._chosen.get(mid) if mid is not None else None
        if pick in found:
            return pick
        return found[0] if found else None

    def choose(self, document, run_dir) -> None:
        """Show ``run_dir`` (one of ``runs(document)``) for this milestone from now on."""
        mid = _milestone_of(document)
        if mid is not None:
            self._chosen[mid] = Path(run_dir)

    def lookup(self, document) -> Path | None:
        return self.chosen(document)


def earlier_run_lookup(timeline):
    """A ``document -> Path | None`` for RunState.set_earlier_lookup: a published milestone on
    screen gets its newest run trained in the app (other documents carry their own run)."""
    return EarlierRuns(timeline).lookup
