"""Experiments in a lesson folder: ``archstudio lesson prepare --experiments`` runs the experiment of
every prepared milestone that has one into ``LESSON_DIR/experiments/<id>/`` (a finished one is
skipped, a stopped one continues), so a teacher opens a finished one in class; ``lesson summary``
lists them with their before/after."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from studio.core import errors as E
from studio.core.experiments.common import (
    RESULT_FILE,
    ExperimentRequest,
    Finished,
    read_result,
)

FOLDER = "experiments"


@dataclass(frozen=True)
class LessonExperiment:
    """One experiment of the lesson starts, is skipped, finishes or fails (one line to show)."""
    kind: str          # start, skip, done, failed, stopped
    milestone: str
    message: str


class _Control:
    def __init__(self, should_stop: Callable[[], bool]):
        self.should_stop = should_stop

    def notify(self, event) -> None:
        pass


def experiment_dir(lesson_dir, milestone: str) -> Path:
    return Path(lesson_dir) / FOLDER / milestone


def prepare(lesson_dir, milestones, minutes: float = 3.0, seed: int = 1337, data: str | None = None,
            should_stop: Callable[[], bool] = lambda: False) -> Iterator[LessonExperiment]:
    from studio.core.experiments import has_experiment, run
    for mid in [m for m in milestones if has_experiment(m)]:
        if should_stop():
            return
        out = experiment_dir(lesson_dir, mid)
        if (out / RESULT_FILE).is_file():
            yield LessonExperiment("skip", mid, f"{mid}: experiment already finished, skipped")
            continue
        yield LessonExperiment("start", mid, f"{mid}: running its experiment ({minutes:g} min of work, 1 thread)")
        try:
            end = None
            for ev in run(ExperimentRequest(mid, str(out), minutes=minutes, seed=seed, data=data), _Control(should_stop)):
                end = ev if isinstance(ev, Finished) else end
        except E.StudioError as exc:
            yield LessonExperiment("failed", mid, f"{mid}: experiment failed: {exc}")
            continue
        if end is None:
            yield LessonExperiment("stopped", mid, f"{mid}: experiment stopped; the same command continues it")
            return
        yield LessonExperiment("done", mid, f"{mid}: {end.metric}: before {end.before:.4g}, after {end.after:.4g}")


def summary_rows(lesson_dir) -> list[dict]:
    """{milestone, status, metric, before, after} of every experiment folder in the lesson."""
    rows = []
    base = Path(lesson_dir) / FOLDER
    for folder in sorted(p for p in base.iterdir() if p.is_dir()) if base.is_dir() else []:
        try:
            data = read_result(folder)
            rows.append({"milestone": str(data["milestone"]), "status": "done", "metric": str(data["metric"]),
                         "before": data["before"], "after": data["after"]})
        except E.StudioError:
            rows.append({"milestone": folder.name, "status": "unfinished", "metric": "", "before": None,
                         "after": None})
    return rows
