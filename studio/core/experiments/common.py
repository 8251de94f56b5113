"""What every milestone experiment shares: the request, the events it yields, its folder.

An experiment is ``job(request, control) -> Iterator[event]`` (as training is), so the CLI, the
app's worker and the lesson all run the same generator. It works in ``request.out``:

    experiment.json   {"milestone", "metric", "higher_is_better", "before", "after",
                       "curve": [[x, y], ...], ...the experiment's own fields}, written last,
                      atomically (its presence means the experiment finished)
    progress.json     units of work already done (one model of a sweep, one context length),
                      so a run killed half-way continues where it stopped when started again
                      with the same settings

Settings are deterministic functions of (minutes, seed): the same command gives the same
numbers (wall times aside) as long as no stage is cut. ``--minutes`` scales the work and is also
a deadline on the wall clock for the RLHF experiments (deadline.py): on a loaded machine a stage
that has spent its share of the time ends early, and ``experiment.json``'s ``deadline.cut_at_step``
says where, so those runs repeat only when nothing was cut.
"""
from __future__ import annotations

import contextlib
import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from studio.core import errors as E

RESULT_FILE = "experiment.json"
PROGRESS_FILE = "progress.json"
RESULT_SCHEMA = 1
REQUIRED_FIELDS = ("milestone", "metric", "higher_is_better", "before", "after", "curve")


@dataclass(frozen=True)
class ExperimentRequest:
    milestone: str
    out: str
    minutes: float = 3.0
    seed: int = 1337
    data: str | None = None      # the corpus where an experiment reads stories (load_corpus's spec)
    threads: int = 1             # torch threads while it runs (the experiments are sized for one)
    source: str | None = None    # o1: a finished R1 experiment folder whose RL model it samples
    settings: object = None      # the experiment's own frozen Settings (tests pass tiny ones)


# ----------------------------------------------------------------------------- events
@dataclass(frozen=True)
class Stage:
    """A part of the experiment starts (shown as a status line)."""
    what: str


@dataclass(frozen=True)
class Point:
    """One new point of a live curve; ``series`` names the line (one plot may hold several)."""
    series: str
    x: float
    y: float


@dataclass(frozen=True)
class Row:
    """One row of the experiment's table (the header is the first row of a table)."""
    table: str
    cells: tuple


@dataclass(frozen=True)
class Text:
    """A before/after sample: what the model wrote, labelled."""
    label: str
    text: str


@dataclass(frozen=True)
class Finished:
    path: str                     # experiment.json
    milestone: str
    metric: str
    before: float
    after: float
    higher_is_better: bool
    wall_s: float


# ----------------------------------------------------------------------------- folder
def _clean(v):
    """JSON-safe: numpy scalars to Python numbers, NaN/Inf to None (JSON has neither)."""
    if isinstance(v, dict):
        return {str(k): _clean(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_clean(x) for x in v]
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def write_json(path: Path, data: dict) -> None:
    from studio.core.files.yamlio import atomic_write_text
    atomic_write_text(path, json.dumps(_clean(data), indent=1, ensure_ascii=False) + "\n")


class Folder:
    """The experiment's folder: refuses one that holds something else, keeps progress."""

    def __init__(self, req: ExperimentRequest, fingerprint: dict):
        self.path = Path(req.out).expanduser()
        self.milestone = req.milestone
        self.fingerprint = _clean({"milestone": req.milestone, **fingerprint})
        self.units: dict = {}
        self.started, self.started_cpu = time.monotonic(), time.process_time()
        if self.path.exists() and not self.path.is_dir():
            raise E.StudioError(f"{self.path} is a file; --out needs a folder")
        progress = self.path / PROGRESS_FILE
        if progress.is_file():
            self._resume(progress)
        elif self.path.is_dir() and any(self.path.iterdir()):
            raise E.StudioError(f"{self.path} is not empty and holds no experiment; choose a new folder")
        self.path.mkdir(parents=True, exist_ok=True)

    def _resume(self, progress: Path) -> None:
        try:
            data = json.loads(progress.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise E.StudioError(f"{progress}: unreadable ({exc}); choose a new folder") from None
        if not isinstance(data, dict) or data.get("fingerprint") != self.fingerprint:
            raise E.StudioError(f"{self.path} holds an experiment with other settings "
                                f"({(data or {}).get('fingerprint', {}).get('milestone', '?')}); choose a new folder "
                                "or the same --minutes and --seed")
        self.units = dict(data.get("units") or {})

    def done(self, key: str):
        return self.units.get(key)

    def save_unit(self, key: str, value) -> None:
        self.units[key] = _clean(value)
        write_json(self.path / PROGRESS_FILE, {"fingerprint": self.fingerprint, "units": self.units})

    def finish(self, metric: str, higher_is_better: bool, before: float, after: float, curve, **own) -> Finished:
        wall = time.monotonic() - self.started
        data = {"schema_version": RESULT_SCHEMA, "milestone": self.milestone, "metric": metric,
                "higher_is_better": bool(higher_is_better), "before": before, "after": after,
                "curve": [[float(x), float(y)] for x, y in curve], **own,
                "settings": self.fingerprint, "wall_s": round(wall, 2),
                # CPU seconds of this process: on a busy machine the wall time overstates the work
                "cpu_s": round(time.process_time() - self.started_cpu, 2)}
        write_json(self.path / RESULT_FILE, data)
        return Finished(str(self.path / RESULT_FILE), self.milestone, metric, float(before), float(after),
                        bool(higher_is_better), wall)


def read_result(folder) -> dict:
    """A finished experiment's experiment.json, checked for the common fields."""
    p = Path(folder) / RESULT_FILE
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise E.StudioError(f"{folder}: no {RESULT_FILE} (the experiment has not finished)") from None
    except (OSError, ValueError) as exc:
        raise E.StudioError(f"{p}: unreadable ({exc})") from None
    missing = [k for k in REQUIRED_FIELDS if not isinstance(data, dict) or k not in data]
    if missing:
        raise E.StudioError(f"{p}: missing {', '.join(missing)}")
    return data


@contextlib.contextmanager
def torch_threads(n: int):
    """Run with ``n`` torch threads, then give the process its own count back (the app shares it)."""
    import torch
    was = torch.get_num_threads()
    torch.set_num_threads(max(1, int(n)))
    try:
        yield
    finally:
        torch.set_num_threads(was)


def settings_record(settings) -> dict:
    return asdict(settings) if settings is not None else {}


def scaled(value: float, minutes: float, at_minutes: float = 3.0, least: int = 1) -> int:
    """A step or token count calibrated for ``at_minutes``, scaled to ``minutes``."""
    return max(least, round(value * minutes / at_minutes))



def default_experiment_dir(milestone: str) -> Path:
    """A new folder for an experiment started from the app: ``experiments/<id>-<time>`` in the user
    data dir (``ARCHSTUDIO_EXPERIMENTS_DIR`` replaces that parent)."""
    import os

    import platformdirs
    env = os.environ.get("ARCHSTUDIO_EXPERIMENTS_DIR")
    base = Path(env) if env else Path(platformdirs.user_data_dir("archstudio", appauthor=False)) / "experiments"
    return base / f"{milestone}-{time.strftime('%Y%m%d-%H%M%S')}"
