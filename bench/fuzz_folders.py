"""The fuzz campaign's folder kinds (issue 27): lesson folders, race folders, download metadata and
wrong-typed metrics records, each checked against planted victims.

Victims are files and a folder outside every folder the app is given; the mutants point at them
(absolute paths, ``..``, symlinks inside the app's folders, a symlinked ``.lock`` or
``metrics.jsonl``). After every run the victims are compared byte for byte: a change counts as
"touched" (data outside the app's folders), the worst outcome there is. Used by
bench/fuzz_campaign.py.
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import random
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LESSON_PID = "recipe-microgpt"
NOTES = "bring the printed stories\n"
FAST = ["--batch-size", "1", "--threads", "1", "--compile", "off", "--precision", "fp32"]


class Victims:
    """Files and a folder outside the app's folders, and their bytes as planted."""

    def __init__(self, work: Path):
        self.root = work / "victims"
        (self.root / "thesis" / "chapters").mkdir(parents=True, exist_ok=True)
        (self.root / "thesis" / "chapters" / "one.tex").write_bytes(b"\\section{Results}\n" * 64)
        (self.root / "thesis" / "notes.txt").write_text("three years of notes\n" * 32)
        (self.root / "notes.txt").write_text("the only copy\n" * 16)
        self.before = self.snapshot()

    def snapshot(self) -> dict:
        out = {}
        for dirpath, dirnames, filenames in os.walk(self.root):
            for n in dirnames + filenames:
                p = os.path.join(dirpath, n)
                out[os.path.relpath(p, self.root)] = (hashlib.sha256(Path(p).read_bytes()).hexdigest()
                                                      if os.path.isfile(p) else "dir")
        return out

    def check(self, tally, kind: str, what: str) -> None:
        now = self.snapshot()
        if now != self.before:
            changed = sorted(k for k in set(now) | set(self.before) if now.get(k) != self.before.get(k))
            tally.add(kind, "touched", f"{what}: {', '.join(changed)[:200]}")
            shutil.rmtree(self.root)
            self.__init__(self.root.parent)  # planted again: each touch is counted once

    def targets(self, folder: Path) -> list[str]:
        """Names a mutated file may give that lead to the victims from ``folder``."""
        rel = os.path.relpath(self.root / "thesis", folder)
        return [str(self.root / "thesis"), str(self.root), rel, rel + "/chapters", "", ".", "..", "./", "link",
                "sub/../../victims", str(self.root / "notes.txt")]


def plant_link(folder: Path, victims: Victims, rng: random.Random) -> None:
    """A symlink inside an app folder that leads to the victims (the name ``link`` in targets())."""
    link = folder / "link"
    if not os.path.lexists(link):
        link.symlink_to(rng.choice([victims.root / "thesis", victims.root / "notes.txt", victims.root]))


def setup(work: Path, run_cli_quiet) -> dict:
    """A prepared lesson (one tiny model) and a finished race of two tiny models, to mutate."""
    assert run_cli_quiet(["lesson", "prepare", "--out", str(work / "lesson"), "--milestones", LESSON_PID,
                          "--steps", "2", "--context", "16", *FAST]) == 0
    assert run_cli_quiet(["race", "recipe-microgpt", "recipe-modded-microgpt", "--steps", "2", "--context", "16",
                          "--batch-size", "1", "--vocab-size", "300", "--threads", "1", "--out", str(work / "race")]) == 0
    return {"lesson": work / "lesson", "race": work / "race"}


def _fresh(work: Path, src: Path, name: str) -> Path:
    dst = work / name
    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(src, dst, symlinks=True)
    return dst


def _point_somewhere(rng, d, key: str, victims: Victims, folder: Path) -> None:
    """Set ``key`` of one mapping in ``d['models']`` to a name that leads to the victims."""
    models = d.get("models") if isinstance(d, dict) else None
    entries = [m for m in models if isinstance(m, dict)] if isinstance(models, list) else []
    if entries:
        m = rng.choice(entries)
        m[key] = rng.choice(victims.targets(folder))
        if rng.random() < 0.5:
            m["status"] = rng.choice(["pending", "training", "failed"])  # a lesson would (re)make that folder


def lesson_kind(ctx, rng: random.Random, n: int) -> None:
    import yaml
    tally, work, victims, fx = ctx["tally"], ctx["work"], ctx["victims"], ctx["fx"]
    base = yaml.safe_load((fx["lesson"] / "lesson.yaml").read_text())
    for i in range(n):
        lesson = _fresh(work, fx["lesson"], "mut-lesson")
        plant_link(lesson, victims, rng)
        (lesson / "teacher-notes.txt").write_text(NOTES)  # the teacher's own file in the lesson folder: kept too
        d = ctx["mutate_data"](rng, base) if i else base  # the first one unchanged: a control, accepted
        pointed = i % 2 == 1
        if pointed:
            _point_somewhere(rng, d, "run", victims, lesson)
        text = ctx["dump"](d).encode()
        (lesson / "lesson.yaml").write_bytes(ctx["mutate_bytes"](rng, text) if i % 5 == 4 else text)
        ctx["run"]("lesson", ["lesson", "summary", str(lesson)])
        victims.check(tally, "lesson", f"lesson summary ({i})")
        from studio.core.classroom.lesson import prepared_ids, prepared_lookup
        ctx["core"]("lesson", lambda f=lesson: (prepared_lookup(f)(LESSON_PID), prepared_ids(f)))  # the GUI's reads
        if pointed or i % 3 == 0:  # prepare trains what is not done: not every mutant
            pre = ["--pretrained", "stories260K"] if i % 4 == 1 else []
            ctx["run"]("lesson", ["lesson", "prepare", "--out", str(lesson), "--milestones", LESSON_PID, *pre,
                                  "--steps", "1", "--context", "16", *FAST])
            victims.check(tally, "lesson", f"lesson prepare ({i})")
            if not (lesson / "teacher-notes.txt").is_file() or (lesson / "teacher-notes.txt").read_text() != NOTES:
                tally.add("lesson", "touched", f"lesson prepare ({i}): the lesson folder's own files deleted")


def race_kind(ctx, rng: random.Random, n: int) -> None:
    import yaml
    tally, work, victims, fx = ctx["tally"], ctx["work"], ctx["victims"], ctx["fx"]
    base = yaml.safe_load((fx["race"] / "race.yaml").read_text())
    for i in range(n):
        race = _fresh(work, fx["race"], "mut-race")
        plant_link(race, victims, rng)
        d = ctx["mutate_data"](rng, base) if i else base  # the first one unchanged: a control, accepted
        if i % 3 == 1:
            _point_somewhere(rng, d, "run", victims, race)
        text = ctx["dump"](d).encode()
        (race / "race.yaml").write_bytes(ctx["mutate_bytes"](rng, text) if i % 4 == 3 else text)
        ctx["run"]("race", ["race", "--show", str(race)])

        def reopen_in_the_gui(race=race):
            from studio.core.classroom.race import load_race
            from studio.core.classroom.race_history import RaceHistory
            h = RaceHistory.from_saved(load_race(race))
            return h.leader(), [(r.get("val_bpb"), r.get("tokens_per_s")) for r in h.table]
        ctx["core"]("race", reopen_in_the_gui)
        victims.check(tally, "race", f"race --show ({i})")


PART_GOOD = {"url": "u", "total": 10, "etag": '"abc"', "sha256": None}
PART_RAW = [b"[1, 2]", b'"resume"', b"\xff\xfe{}", b'{"etag": "a\\r\\nX-Evil: 1", "total": 5}', b"[" * 3000,
            b'{"total": "many"}', b'{"sha256": "' + b"f" * 64 + b'", "total": -1}', b"", b"{}", b"null"]


def download_kind(ctx, rng: random.Random, n: int) -> None:
    sys.path.insert(0, str(ROOT / "tests" / "core"))
    from hf_server import Hub
    tally, work, victims = ctx["tally"], ctx["work"], ctx["victims"]
    body = b"".join(b"Once upon a time there was story number %d.\n<|endoftext|>\n" % k for k in range(3000))
    with Hub({"TinyStories-valid.txt": body}) as hub:
        old = os.environ.get("HF_ENDPOINT")
        os.environ["HF_ENDPOINT"] = hub.url
        try:
            for i in range(n):
                cache = work / "dl-cache"
                shutil.rmtree(cache, ignore_errors=True)
                cache.mkdir()
                meta = (rng.choice(PART_RAW) if i % 2 else
                        ctx["mutate_bytes"](rng, json.dumps(ctx["mutate_data"](rng, PART_GOOD)).encode()))
                (cache / "TinyStories-valid.txt.part").write_bytes(body[: rng.randrange(len(body))])
                (cache / "TinyStories-valid.txt.part.json").write_bytes(meta)
                rc, _ = ctx["run"]("download metadata", ["data", "fetch", "--subset", "quick", "--cache", str(cache)])
                got = cache / "TinyStories-valid.txt"
                if rc == 0 and got.read_bytes() != body:
                    tally.add("download metadata", "half", f"a fetch accepted {got.stat().st_size} wrong bytes")
                victims.check(tally, "download metadata", f"data fetch ({i})")
        finally:
            if old is None:
                os.environ.pop("HF_ENDPOINT", None)
            else:
                os.environ["HF_ENDPOINT"] = old


def metrics_kind(ctx, rng: random.Random, n: int) -> None:
    """Records whose fields have the wrong type, appended to a real run's metrics.jsonl, read by
    plan --run, lesson summary (a lesson whose run it is), the GUI's plots and train --resume."""
    tally, work, victims, fx = ctx["tally"], ctx["work"], ctx["victims"], ctx["fx"]
    src = fx["lesson"] / LESSON_PID
    lines = [json.loads(x) for x in (src / "metrics.jsonl").read_text().splitlines() if x.strip()]
    for i in range(n):
        lesson = _fresh(work, fx["lesson"], "mut-mlesson")
        run = lesson / LESSON_PID
        bad = [ctx["mutate_data"](rng, rng.choice(lines)) for _ in range(rng.randint(1, 6))]
        with open(run / "metrics.jsonl", "a") as fh:
            fh.writelines(_json_line(rec) for rec in bad)
        ctx["run"]("metrics typing", ["plan", LESSON_PID, "--run", str(run)])
        ctx["run"]("metrics typing", ["lesson", "summary", str(lesson)])

        def plots(run=run):
            from studio.core.runs.rundir import RunDir
            from studio.core.training.history import MetricsHistory
            h = MetricsHistory(64)
            for rec in RunDir(run).metrics():
                h.add_record(rec)
        ctx["core"]("metrics typing", plots)
        if i % 4 == 0:  # resume trains: fewer; half of them with a .lock that leads to a victim
            if i % 8 == 0:
                (run / ".lock").unlink(missing_ok=True)
                (run / ".lock").symlink_to(victims.root / "notes.txt")
            ctx["run"]("metrics typing", ["train", LESSON_PID, "--resume", "--out", str(run), "--steps", "3",
                                          "--threads", "1", "--compile", "off"])
        victims.check(tally, "metrics typing", f"plan/summary/resume ({i})")


def _json_line(rec) -> str:
    try:
        return json.dumps(rec, default=str) + "\n"
    except (ValueError, RecursionError):  # nested deeper than json writes: the line as deep as it was meant
        return '{"kind": "step", "step": ' + "[" * 600 + "]" * 600 + "}\n"


def folder_campaign(ctx, n: int) -> None:
    """Every kind above, ``n`` mutants each (fewer of the ones that train)."""
    rng = random.Random(ctx["seed"] + 27)
    import resource
    import time
    for fn in (lesson_kind, race_kind, download_kind, metrics_kind):
        t = time.monotonic()
        fn(ctx, rng, n)
        print(f"{fn.__name__}: {time.monotonic() - t:.0f} s, peak RSS "
              f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB", file=sys.stderr, flush=True)


def quiet(fn):
    def run(argv):
        with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
            return fn(argv)
    return run
