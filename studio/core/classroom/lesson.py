"""Prepare the lesson: train every chosen milestone's classroom model ahead of class, one after another.

A LESSON_DIR holds ``lesson.yaml`` (the index, rewritten atomically after every change of state)
and one RUN_DIR per model (``LESSON_DIR/<preset id>/``; imported pretrained models under
``LESSON_DIR/pretrained-<name>/``). :func:`prepare` is a job (``prepare(..., control)``, see
studio.core.jobs) yielding one frozen dataclass per kind of event (lesson_events.py) that the CLI
prints and the GUI's worker carries. It is safe to kill at any moment: a model whose status is
``done`` is skipped, an unfinished one with a checkpoint is resumed on the very same
loss curve (the trainer's exact resume), one killed before its first checkpoint starts over.
A lesson folder is shared between teachers: its entries are typed and their run folders must stay
inside it; only a run folder the lesson marked as its own is ever deleted (lesson_train.MARKER).

Data: TinyStories when it is downloaded, else the starter corpus, and the index says which.
Each model trains with its preset's classroom tokenizer for ``minutes_per_model`` minutes on the
wall clock from the start of its turn (tokenizer, build and preparing included: the trainer's time
budget, lesson_train.py) or an explicit number of steps.
"""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import yaml

from studio.core import errors as E
from studio.core.classroom.lesson_events import (LessonDone, LessonEvent, LessonStarted, LessonStopped,
                                                 ModelCompiling, ModelDone, ModelFailed, ModelSkipped, ModelStarted)
from studio.core.files.contained import inside
from studio.core.files.file_schemas import LESSON, LESSON_ENTRY, LESSON_STATUSES, check
from studio.core.files.schema import short
from studio.core.files.yamlio import atomic_write_text, read_yaml
from studio.core.jobs.control import JobControl

LESSON_SCHEMA = 1
INDEX = "lesson.yaml"
STATUSES = LESSON_STATUSES


@dataclass(frozen=True)
class LessonConfig:
    milestones: tuple = ()              # preset ids; empty = every milestone and recipe on the timeline
    minutes_per_model: float = 5.0
    steps: int | None = None            # instead of minutes: this many steps per model
    data: str | None = None             # None: TinyStories if downloaded, else the starter corpus
    pretrained: tuple = ()              # tinyllamas names to import too (studio.core.runs.tinyllamas)
    batch_size: int = 8
    context: int | None = None          # None: each preset's classroom context
    seed: int = 1337
    threads: int | None = None
    device: str = "cpu"
    precision: str = "auto"             # the trainer's choice: bf16 where native and measured faster
    compile: bool | str = "auto"        # torch.compile where the run is long enough to win the time back


def default_milestones() -> list[str]:
    from studio.core.files.presets import timeline
    t = timeline()
    return list(t["milestones"]) + list(t["recipes"])


# ---------------------------------------------------------------------------- the index
class Lesson:
    """LESSON_DIR and its lesson.yaml."""

    def __init__(self, path):
        self.path = Path(path)

    @property
    def index_path(self) -> Path:
        return self.path / INDEX

    def exists(self) -> bool:
        return self.index_path.is_file()

    def read(self) -> dict:
        """The index, its top level checked (a bad entry under ``models`` is kept, see :meth:`sorted_entries`)."""
        if not self.exists():
            raise E.LoadError(f"{self.path}: not a lesson folder (no {INDEX}); run 'archstudio lesson prepare --out {self.path}'")
        data = read_yaml(self.index_path)
        v = data.get("schema_version")
        if not isinstance(v, int) or isinstance(v, bool) or v > LESSON_SCHEMA or data.get("kind") != "lesson":
            raise E.LoadError(f"{self.index_path}: not a lesson index this version reads (schema_version {short(v)})")
        return check(data, LESSON, str(self.index_path))

    def write(self, data: dict) -> None:
        data = {"schema_version": LESSON_SCHEMA, "kind": "lesson", **{k: v for k, v in data.items()
                                                                       if k not in ("schema_version", "kind")}}
        atomic_write_text(self.index_path, yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100))

    def sorted_entries(self, data: dict | None = None) -> tuple[list, list[dict], list[str]]:
        """(every item of ``models`` in order, each a checked entry or left as read; the checked
        entries, the same objects; one line per bad one).

        A bad entry (a wrong-typed field, a run folder outside the lesson, a repeated id) is
        skipped by every reader and named, never acted on, and written back as it was."""
        data = self.read() if data is None else data
        items, good, bad, seen = [], [], [], set()
        for i, m in enumerate(data["models"]):
            where = f"{self.index_path}: models[{i}]"
            try:
                e = check(m, LESSON_ENTRY, where)
                if not e["id"].strip():
                    raise E.LoadError(f"{where}: id: is empty")
                if e["id"] in seen:
                    raise E.LoadError(f"{where}: id: {short(e['id'])} is listed twice")
                self.run_dir(e, where)
            except E.LoadError as exc:
                items.append(m)
                bad.append(str(exc))
                continue
            seen.add(e["id"])
            items.append(e)
            good.append(e)
        return items, good, bad

    def entries(self) -> list[dict]:
        """The good entries (see :meth:`sorted_entries`)."""
        return self.sorted_entries()[1]

    def run_dir(self, entry: dict, where: str = "") -> Path:
        """The entry's run folder, which must stay inside the lesson folder (studio.core.files.contained)."""
        return inside(self.path, entry.get("run", entry["id"]), f"{where or self.index_path}: run")


def prepared_run(lesson_dir, preset_id: str) -> Path | None:
    """The prepared run for the model of ``preset_id``: a pretrained import that serves it
    (tinyllamas MODELS[...].presets: it writes real stories, which is why it was imported), else
    its own finished classroom run, else None."""
    lesson = Lesson(lesson_dir)
    try:
        entries = lesson.entries()  # typed; a damaged entry is skipped (Lesson.sorted_entries names it)
        for e in entries:
            if e.get("status") == "pretrained" and preset_id in (e.get("serves") or []) \
                    and (lesson.run_dir(e) / "run.yaml").is_file():
                return lesson.run_dir(e)
        for e in entries:
            if e["id"] == preset_id and e.get("status") == "done" and (lesson.run_dir(e) / "run.yaml").is_file():
                return lesson.run_dir(e)
    except (E.StudioError, OSError):  # the views ask at start-up: a damaged lesson offers no run, never an error
        return None
    return None


def prepared_ids(lesson_dir) -> set[str]:
    """Preset ids that have a prepared run in the lesson (their own finished run or a pretrained import)."""
    lesson = Lesson(lesson_dir)
    out = set()
    try:
        for e in lesson.entries():
            if not (lesson.run_dir(e) / "run.yaml").is_file():
                continue
            if e.get("status") == "done":
                out.add(e["id"])
            elif e.get("status") == "pretrained":
                out.update(e.get("serves") or [])
    except (E.StudioError, OSError):
        return set()
    return out


def prepared_lookup(lesson_dir) -> Callable[[str], Path | None]:
    """A ``key -> Path | None`` for RunState.set_prepared_lookup: document keys of published
    milestones (``milestone:<preset id>``) or bare preset ids find their prepared run; an edited
    copy, a project or an import is another architecture and finds none."""
    def lookup(key: str) -> Path | None:
        key = str(key or "")
        pid = key.split(":", 1)[1] if key.startswith("milestone:") else key
        return None if ":" in pid else prepared_run(lesson_dir, pid)
    return lookup


def default_lesson_dir() -> Path:
    """``ARCHSTUDIO_LESSON_DIR``, else ``lesson/`` in the user data dir (the CLI's and the GUI's default)."""
    import os

    import platformdirs
    env = os.environ.get("ARCHSTUDIO_LESSON_DIR")
    return Path(env) if env else Path(platformdirs.user_data_dir("archstudio", appauthor=False)) / "lesson"


_DESCRIBED: dict = {}  # (folder, mtimes) -> line: a label may be read often, the files change rarely


def describe_run(run_dir) -> str:
    """One line for the views: which prepared run, when and for how long it was trained."""
    from studio.core.runs.rundir import RunDir
    run = RunDir(run_dir)
    stamp = tuple(p.stat().st_mtime_ns if p.is_file() else 0 for p in (run.config_path, run.metrics_path))
    key = (str(run.path), stamp)
    if key not in _DESCRIBED:
        if len(_DESCRIBED) > 256:
            _DESCRIBED.clear()
        _DESCRIBED[key] = _describe(run)
    return _DESCRIBED[key]


def _describe(run) -> str:
    cfg = run.read_config()
    if cfg.get("pretrained"):
        p = cfg["pretrained"]
        return f"pretrained {p.get('name')} from {p.get('repository')} ({p.get('trained_on', '')})"
    m = run.read_metrics(points=2)  # typed and streamed: only the last records are needed
    step, ev = m.last.get("step", {}), m.last.get("eval", {})
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(run.metrics_path.stat().st_mtime)) if m.read else "never"
    minutes = step.get("elapsed_s", 0) / 60
    bpb = f", held-out {ev['val_bpb']:.2f} bits/byte" if "val_bpb" in ev else ""
    label = (cfg.get("data") or {}).get("label", "")
    return f"prepared run {run.path.name}: trained {when} for {minutes:.1f} min, {step.get('tokens', 0):,} tokens{bpb}; data: {label}"


# ---------------------------------------------------------------------------- summary
def _lineage_of(pid: str) -> tuple[str | None, str | None]:
    """(the model a preset builds on, the headline of what it changed) for the summary, so the
    lesson reads each model against its lineage (studio.core.model.lineage); (None, None) for a
    pretrained run or a preset that cannot be read."""
    from studio.core.files.presets import is_preset, load_preset
    from studio.core.model.lineage import change_since
    try:
        if not is_preset(pid):
            return None, None
        ch = change_since(load_preset(pid))
    except E.StudioError:
        return None, None
    return ch.since, ch.headline or None


def summary(lesson_dir) -> list[dict]:
    """One row per model: id, status, held-out bits per byte, tokens seen, minutes trained, run,
    and what it changed since the model it builds on (``since``, ``change``: the headline)."""
    from studio.core.runs.rundir import RunDir
    lesson = Lesson(lesson_dir)
    rows = []
    for e in lesson.entries():
        run = RunDir(lesson.run_dir(e))
        m = run.read_metrics(points=2) if run.exists() else None  # typed and streamed: the last records
        step, ev = (m.last.get("step") if m else None), (m.last.get("eval", {}) if m else {})
        rows.append({"id": e["id"], "status": e.get("status", "pending"),
                     "val_bpb": round(float(ev["val_bpb"]), 4) if "val_bpb" in ev else None,
                     "tokens": step.get("tokens", 0) if step else (None if e.get("status") == "pretrained" else 0),
                     "minutes": round(float(step.get("elapsed_s", 0)) / 60, 2) if step else None,
                     "params": e.get("params"), "run": str(run.path)})
        rows[-1]["since"], rows[-1]["change"] = _lineage_of(e["id"])
    return rows


def summary_csv(rows: list[dict]) -> str:
    import csv
    import io
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=["id", "status", "val_bpb", "tokens", "minutes", "params", "run", "since",
                                        "change"], lineterminator="\n", extrasaction="ignore")
    w.writeheader()
    for r in rows:
        w.writerow({k: ("" if v is None else v) for k, v in r.items()})
    return buf.getvalue()


# ---------------------------------------------------------------------------- prepare
def prepare(out_dir, cfg: LessonConfig = LessonConfig(), control: JobControl | None = None,
            cache=None) -> Iterator[LessonEvent]:
    """Train (or resume, or skip) every model of the lesson in ``out_dir``; see the module docstring.
    A job (studio.core.jobs): ``control`` stops it between steps, a checkpoint saved."""
    from studio.core.classroom.lesson_request import check_request, entries_to_prepare
    from studio.core.data import load_corpus
    control = control or JobControl()
    lesson = Lesson(out_dir)
    ids = list(cfg.milestones) or default_milestones()
    check_request(lesson, ids, cfg)
    index = lesson.read() if lesson.exists() else {"created": time.strftime("%Y-%m-%dT%H:%M:%S"), "models": []}
    items, good, bad, known = entries_to_prepare(lesson, index, ids, cfg.pretrained)
    index["models"] = items
    index.update({"minutes_per_model": cfg.minutes_per_model if cfg.steps is None else None, "steps": cfg.steps})
    corpus = load_corpus(cfg.data)  # once: every model of the lesson trains on the same stories
    if index.get("data") and index["data"].get("sha256") != corpus.sha256 and any(
            e.get("status") in ("done", "training") for e in good):
        raise E.StudioError(f"{lesson.path} was prepared on {index['data'].get('label')!r}, not {corpus.label!r}; "
                            "use the same --data or a new --out folder")
    index["data"] = {**corpus.describe(), "tinystories": corpus.is_tinystories}
    lesson.path.mkdir(parents=True, exist_ok=True)
    lesson.write(index)
    todo = [e for e in known.values() if e["id"] in ids or e.get("pretrained") in cfg.pretrained]
    run = _Preparation(lesson, index, todo, cfg, corpus, control, cache)
    yield LessonStarted(0, run.total, message=f"preparing {run.total} models in {lesson.path} on {corpus.label}")
    for line, was_asked in bad:  # an asked model whose entry is damaged is a failure of the lesson, said
        kind = ModelFailed if was_asked else ModelSkipped
        yield kind(0, run.total, message=f"skipped a damaged entry (left as it is): {line}")
    for i, entry in enumerate(todo):
        if control.should_stop():  # between two models: stopped, not done (Resume goes on from here)
            yield LessonStopped(model=entry["id"], message=f"stopped before {entry['id']}; run the same command "
                                "again to resume", **run.where(i, 0.0, None))
            return
        stopped = yield from run.model(i, entry)
        if stopped:
            return
    done = sum(1 for e in todo if e.get("status") in ("done", "pretrained"))
    yield LessonDone(run.total, run.total, message=f"{done} of {run.total} models prepared in {lesson.path} "
                     f"({(time.monotonic() - run.t_start) / 60:.1f} min)", model_fraction=1.0,
                     overall_fraction=done / max(1, run.total), eta_s=0.0)


class _Preparation:
    """The state of one ``prepare``: the index it keeps current and the measured seconds per model
    (the ETA of the models still to come)."""

    def __init__(self, lesson: Lesson, index: dict, todo: list, cfg: LessonConfig, corpus, control, cache):
        self.lesson, self.index, self.todo, self.cfg = lesson, index, todo, cfg
        self.corpus, self.control, self.cache = corpus, control, cache
        self.total = len(todo)
        self.budget = 60.0 * cfg.minutes_per_model
        self.model_s = self.budget if cfg.steps is None else None  # a whole model, until one is measured
        self.measured: list[float] = []
        self.t_start = time.monotonic()

    def eta(self, i: int, model_left_s: float) -> float:
        per = (sum(self.measured) / len(self.measured)) if self.measured else (self.model_s or 0.0)
        pending = sum(1 for e in self.todo[i + 1:] if e.get("status") not in ("done", "pretrained"))
        return max(0.0, model_left_s) + per * pending

    def save(self, entry: dict, **changes) -> None:
        entry.update(changes)
        self.lesson.write(self.index)

    def where(self, i: int, fraction: float, left_s: float | None) -> dict:
        return {"index": i, "total": self.total, "model_fraction": fraction,
                "overall_fraction": (i + fraction) / self.total, "eta_s": None if left_s is None else self.eta(i, left_s)}

    def model(self, i: int, entry: dict):
        """One model's turn (skip, import or train); returns True when the lesson was stopped."""
        from studio.core.classroom import lesson_train as LT
        pid = entry["id"]
        if entry.get("status") in ("done", "pretrained") and (self.lesson.run_dir(entry) / "run.yaml").is_file():
            yield ModelSkipped(model=pid, message=f"{pid}: already prepared, skipped", **self.where(i, 1.0, 0))
            return False
        run_dir, started_at = self.lesson.run_dir(entry), LT.clock()  # the model's minutes run from here
        try:
            if entry.get("pretrained"):
                yield ModelStarted(model=pid, message=f"{pid}: downloading and importing", **self.where(i, 0.0, 0))
                LT.import_entry(entry["pretrained"], run_dir, self.cache, self.control.should_stop)
                self.save(entry, status="pretrained", finished=time.strftime("%Y-%m-%dT%H:%M:%S"), error=None)
                yield ModelDone(model=pid, message=f"{pid}: imported", **self.where(i, 1.0, 0))
                return False
            self.save(entry, status="training")
            result = yield from self._trained(i, pid, run_dir, started_at)
        except Exception as exc:  # noqa: BLE001  one model's failure (diverged, out of memory) does not end the night
            if self.control.should_stop():  # cancelled (e.g. mid-download): not a failure, the next run continues
                yield LessonStopped(model=pid, message=f"{pid}: stopped; run the same command again to resume",
                                    **self.where(i, 0.0, None))
                return True
            why = str(exc) if isinstance(exc, E.StudioError) else f"{type(exc).__name__}: {exc}"
            why = (why.splitlines() or [""])[0][:300]
            self.save(entry, status="failed", error=why)
            yield ModelFailed(model=pid, message=f"{pid}: failed: {why}", **self.where(i, 1.0, 0))
            return False
        if result.reason == "stopped":
            self.save(entry, status="training", steps=result.steps)
            fraction = result.step / max(1, result.steps)
            yield LessonStopped(model=pid, message=f"{pid}: stopped at step {result.step} of {result.steps}; "
                                "run the same command again to resume", **self.where(i, fraction, None),
                                step=result.step, steps=result.steps, val_bpb=result.val_bpb)
            return True
        self.save(entry, status="done", steps=result.steps, val_bpb=result.val_bpb, params=result.params,
                  finished=time.strftime("%Y-%m-%dT%H:%M:%S"))
        yield ModelDone(model=pid, message=f"{pid}: done, {result.steps} steps, held-out {result.val_bpb:.3f} bits/byte",
                        **self.where(i, 1.0, 0), step=result.step, steps=result.steps, val_bpb=result.val_bpb)
        plan = LT.class_warm_plan(run_dir) if LT.warms_for_class(self.cfg) else None
        if plan is not None:
            spec, estimate_s = plan
            yield ModelCompiling(model=pid, message=f"{pid}: compiling its training step for the class (≈ {estimate_s:.0f} s "
                                 "on this laptop, once per shape; Cancel stops it)", **self.where(i, 1.0, estimate_s))
            if not LT.warm_for_class(spec, self.control) and self.control.should_stop():
                yield LessonStopped(model=pid, message=f"{pid}: prepared; its compile for the class was stopped "
                                    "(the class trains it eagerly, or compiles it where that pays)", **self.where(i, 1.0, None))
                return True
        self.measured.append(LT.clock() - started_at)  # the class's compile is part of the model's turn in the ETA
        return False

    def _trained(self, i: int, pid: str, run_dir, started_at: float):
        """train_entry's events placed in the lesson (index, fractions, the lesson's ETA); its result."""
        from studio.core.classroom.lesson_train import train_entry
        gen = train_entry(pid, run_dir, self.cfg, self.budget, self.control, self.corpus, started_at)
        while True:
            try:
                ev = next(gen)
            except StopIteration as end:
                return end.value
            if isinstance(ev, ModelStarted) and ev.eta_s is not None and self.model_s is None:
                self.model_s = ev.eta_s
            left = ev.eta_s if ev.eta_s is not None else self.budget
            yield dataclasses.replace(ev, **self.where(i, ev.model_fraction, left))
