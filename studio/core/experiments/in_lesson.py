"""Experiments in a lesson folder: ``archstudio lesson prepare --experiments`` runs the experiment of
every prepared milestone that has one into ``LESSON_DIR/experiments/<id>/`` (a finished one is
skipped, a stopped one continues), so a teacher opens a finished one in class; ``lesson summary``
lists them with their before/after."""
from __future__ import annotations

from collections.abc import Iterator
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


# One frozen dataclass per event kind (the one job protocol, as training's and the lesson's events),
# all with the same two fields.
@dataclass(frozen=True)
class ExperimentEvent:
    milestone: str
    message: str     # one line for the CLI and the dialog


class ExperimentStarted(ExperimentEvent):
    """The milestone's experiment starts (or continues where a stopped one left off)."""


class ExperimentSkipped(ExperimentEvent):
    """Finished in an earlier night: kept, not run again."""


class ExperimentDone(ExperimentEvent):
    """Finished; the message has its metric before and after."""


class ExperimentFailed(ExperimentEvent):
    """It could not run (one line why); the lesson goes on with the next."""


class ExperimentStopped(ExperimentEvent):
    """Stopped by the user; the same command continues it."""


def experiment_dir(lesson_dir, milestone: str) -> Path:
    return Path(lesson_dir) / FOLDER / milestone


def prepare(lesson_dir, milestones, control, minutes: float = 3.0, seed: int = 1337, data: str | None = None
            ) -> Iterator:
    """Run each milestone's experiment into the lesson folder; ``control`` is the lesson's job control
    (studio.core.jobs.control.JobControl): a stop ends the experiment running at its next unit of work."""
    from studio.core.experiments import has_experiment, run
    for mid in [m for m in milestones if has_experiment(m)]:
        if control.should_stop():
            return
        out = experiment_dir(lesson_dir, mid)
        if (out / RESULT_FILE).is_file():
            yield ExperimentSkipped(mid, f"{mid}: experiment already finished, skipped")
            continue
        yield ExperimentStarted(mid, f"{mid}: running its experiment ({minutes:g} min of work, 1 thread)")
        try:
            end = None
            for ev in run(ExperimentRequest(mid, str(out), minutes=minutes, seed=seed, data=data), control):
                end = ev if isinstance(ev, Finished) else end
        except E.StudioError as exc:
            yield ExperimentFailed(mid, f"{mid}: experiment failed: {exc}")
            continue
        if end is None:
            yield ExperimentStopped(mid, f"{mid}: experiment stopped; the same command continues it")
            return
        yield ExperimentDone(mid, f"{mid}: {end.metric}: before {end.before:.4g}, after {end.after:.4g}")


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
