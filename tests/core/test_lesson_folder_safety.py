"""A lesson.yaml is data, not trust: its run folders stay inside the lesson folder, the lesson
deletes only folders it made, and a damaged entry is skipped and named (never an internal error)."""
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

from studio.core import errors as E
from studio.core.classroom.lesson import (
    Lesson,
    LessonConfig,
    prepare,
    prepared_ids,
    prepared_lookup,
    summary,
)
from studio.core.classroom.lesson_events import LessonDone, LessonStep, ModelFailed, ModelSkipped, ModelStarted
from studio.core.classroom.lesson_train import MARKER
from studio.core.runs.rundir import RunDir

PID = "recipe-microgpt"


@pytest.fixture
def env(tmp_path_factory, monkeypatch):
    cache = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("ARCHSTUDIO_CACHE_DIR", str(cache))  # the starter corpus; never a network access
    return {"ARCHSTUDIO_CACHE_DIR": str(cache)}


def tiny(**kw):
    return LessonConfig(**{"milestones": (PID,), "steps": 2, "batch_size": 2, "context": 16, "threads": 1,
                           "precision": "fp32", "compile": False, **kw})


def snapshot(folder) -> dict:
    """Every file and link under ``folder``: its bytes' hash or where it points."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        for n in dirnames + filenames:
            p = os.path.join(dirpath, n)
            rel = os.path.relpath(p, folder)
            if os.path.islink(p):
                out[rel] = "-> " + os.readlink(p)
            elif os.path.isfile(p):
                out[rel] = hashlib.sha256(Path(p).read_bytes()).hexdigest()
            else:
                out[rel] = "dir"
    return out


def victim(tmp_path):
    v = tmp_path / "thesis"
    (v / "chapters").mkdir(parents=True)
    (v / "chapters" / "one.tex").write_bytes(b"\\section{Results}\n" * 50)
    (v / "notes.txt").write_text("do not lose me\n")
    return v, snapshot(v)


def write_lesson(folder, models: str, extra: str = ""):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "lesson.yaml").write_text(f"schema_version: 1\nkind: lesson\n{extra}models:\n{models}")


@pytest.mark.parametrize("run", ["{victim}", "../thesis", "", ".", "..", "./", "sub/../../thesis"])
def test_a_run_outside_the_lesson_is_skipped_and_nothing_outside_is_touched(env, tmp_path, run):
    v, before = victim(tmp_path)
    lesson_dir = tmp_path / "L"
    write_lesson(lesson_dir, f"- {{id: {PID}, run: '{run.format(victim=v)}', status: pending}}\n")
    (lesson_dir / "teacher-notes.txt").write_text("mine\n")
    lesson_before = snapshot(lesson_dir)
    events = list(prepare(lesson_dir, tiny()))
    named = [e.message for e in events if isinstance(e, ModelFailed)]  # the asked model's own entry: a failure, said
    assert len(named) == 1 and "models[0]: run:" in named[0], named
    assert not [e for e in events if isinstance(e, (ModelStarted, LessonStep))]  # nothing trained, nowhere
    assert snapshot(v) == before
    assert (lesson_dir / "teacher-notes.txt").read_text() == "mine\n"
    assert Lesson(lesson_dir).read()["models"][0]["run"] == run.format(victim=v)  # the entry is kept as it was
    assert set(lesson_before) <= set(snapshot(lesson_dir))


def test_a_symlink_out_of_the_lesson_is_refused(env, tmp_path):
    v, before = victim(tmp_path)
    lesson_dir = tmp_path / "L"
    write_lesson(lesson_dir, f"- {{id: {PID}, run: link, status: pending}}\n")
    (lesson_dir / "link").symlink_to(v, target_is_directory=True)
    events = list(prepare(lesson_dir, tiny()))
    assert any(isinstance(e, ModelFailed) and "symbolic link" in e.message for e in events)
    assert snapshot(v) == before and (lesson_dir / "link").is_symlink()


def test_a_pretrained_entry_outside_is_skipped_before_any_download(env, tmp_path, monkeypatch):
    import studio.core.classroom.lesson_train as LT
    import studio.core.runs.tinyllamas as tl
    monkeypatch.setattr(tl, "download", lambda *a, **k: pytest.fail("downloaded for a bad entry"))
    def trained(*a, **k):  # the milestone itself: not what is tested
        return LT.ModelTrained("done", 1, 1, 3.0, 10)
        yield
    monkeypatch.setattr(LT, "train_entry", trained)
    v, before = victim(tmp_path)
    lesson_dir = tmp_path / "L"
    write_lesson(lesson_dir, f"- {{id: pretrained-stories260K, run: '{v}', status: pending, pretrained: stories260K,"
                             " serves: [recipe-llama2c-stories260k]}\n")
    events = list(prepare(lesson_dir, tiny(milestones=(PID,), pretrained=("stories260K",))))
    assert any(isinstance(e, ModelFailed) and "absolute path" in e.message for e in events)
    assert snapshot(v) == before


def test_a_folder_the_lesson_did_not_make_is_never_deleted(env, tmp_path):
    lesson_dir = tmp_path / "L"
    write_lesson(lesson_dir, f"- {{id: {PID}, run: mine, status: training}}\n")
    (lesson_dir / "mine").mkdir()
    (lesson_dir / "mine" / "essay.txt").write_text("keep\n")
    before = snapshot(lesson_dir / "mine")
    events = list(prepare(lesson_dir, tiny()))
    failed = [e.message for e in events if isinstance(e, ModelFailed)]
    assert len(failed) == 1 and "did not make" in failed[0] and "nothing was deleted" in failed[0]
    assert snapshot(lesson_dir / "mine") == before


def test_a_marked_folder_without_checkpoint_is_started_over(env, tmp_path):
    lesson_dir = tmp_path / "L"
    write_lesson(lesson_dir, f"- {{id: {PID}, run: {PID}, status: training}}\n")
    (lesson_dir / PID).mkdir()
    (lesson_dir / PID / MARKER).write_text("x")
    (lesson_dir / PID / "half-written.tmp").write_text("killed before the first checkpoint")
    events = list(prepare(lesson_dir, tiny()))
    assert isinstance(events[-1], LessonDone) and not (lesson_dir / PID / "half-written.tmp").exists()
    assert RunDir(lesson_dir / PID).has_checkpoint() and (lesson_dir / PID / MARKER).is_file()


BAD_ENTRIES = ["{id: recipe-microgpt, status: [done]}", "{id: {a: 1}, status: done}", "{status: pretrained, serves: 5}",
               "{id: x, status: pretrained, serves: 5}", "{id: x, status: finished}", "[1, 2]", "7",
               "{id: '', status: done}", "{id: y, steps: many}"]


@pytest.mark.parametrize("bad", BAD_ENTRIES)
def test_a_wrong_typed_entry_is_skipped_and_named_by_every_reader(env, tmp_path, bad):
    lesson_dir = tmp_path / "L"
    write_lesson(lesson_dir, f"- {bad}\n- {{id: 2023-07-llama-2, run: llama, status: pending}}\n")
    items, good, problems = Lesson(lesson_dir).sorted_entries()
    assert len(items) == 2 and [e["id"] for e in good] == ["2023-07-llama-2"]
    assert len(problems) == 1 and "models[0]" in problems[0] and "\n" not in problems[0]
    assert [r["id"] for r in summary(lesson_dir)] == ["2023-07-llama-2"]
    assert prepared_ids(lesson_dir) == set() and prepared_lookup(lesson_dir)("recipe-llama2c-stories260k") is None


def test_a_damaged_entry_survives_a_prepare_that_does_not_train_it(env, tmp_path):
    lesson_dir = tmp_path / "L"
    write_lesson(lesson_dir, f"- {{id: {PID}, status: [done]}}\n- {{id: other, serves: 5}}\n")
    events = list(prepare(lesson_dir, tiny()))
    kinds = [type(e) for e in events]
    assert kinds.count(ModelFailed) == 1 and kinds.count(ModelSkipped) == 1 and kinds[-1] is LessonDone  # asked / not asked
    assert not RunDir(lesson_dir / PID).exists()  # a damaged entry for the asked model: named, not redone
    models = Lesson(lesson_dir).read()["models"]
    assert models == [{"id": PID, "status": ["done"]}, {"id": "other", "serves": 5}]


@pytest.mark.parametrize("top", ["data: x\n", "data: [1]\n", "steps: many\n", "minutes_per_model: [1]\n"])
def test_a_wrong_typed_top_level_field_is_one_line(env, tmp_path, top):
    lesson_dir = tmp_path / "L"
    write_lesson(lesson_dir, f"- {{id: {PID}, status: done}}\n", extra=top)
    with pytest.raises(E.LoadError) as info:
        summary(lesson_dir)
    assert "lesson.yaml" in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(E.StudioError):
        list(prepare(lesson_dir, tiny()))
    assert prepared_lookup(lesson_dir)(PID) is None  # the GUI's lookup: no run, no exception


def test_cli_summary_names_a_skipped_entry_and_a_bad_file_is_exit_2(env, tmp_path):
    lesson_dir = tmp_path / "L"
    write_lesson(lesson_dir, f"- {{id: {PID}, status: [done]}}\n- {{id: 2023-07-llama-2, status: pending}}\n")
    cmd = [sys.executable, "-m", "studio", "lesson", "summary", str(lesson_dir)]
    r = subprocess.run(cmd, cwd=ROOT, env=dict(os.environ, **env), capture_output=True, text=True, timeout=120, check=False)
    assert r.returncode == 0 and "2023-07-llama-2" in r.stdout
    assert "skipped" in r.stderr and "models[0]: status" in r.stderr and "Traceback" not in r.stderr
    write_lesson(lesson_dir, f"- {{id: {PID}, status: done}}\n", extra="data: x\n")
    r = subprocess.run(cmd, cwd=ROOT, env=dict(os.environ, **env), capture_output=True, text=True, timeout=120, check=False)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "data" in r.stderr


def test_adopting_an_imported_run_never_writes_through_a_planted_marker_link(env, tmp_path):
    from studio.core.classroom.lesson_train import import_entry
    v, before = victim(tmp_path)
    run = tmp_path / "L" / "pretrained-stories260K"
    run.mkdir(parents=True)
    RunDir(run).write_config({"model": "x", "architecture": {}, "tokenizer": {"kind": "byte"},
                              "pretrained": {"name": "stories260K"}})
    (run / MARKER).symlink_to(v / "notes.txt")
    import_entry("stories260K", run, None, lambda: False)  # already imported: adopted, marked
    assert snapshot(v) == before and (run / MARKER).is_file() and not (run / MARKER).is_symlink()


def test_cli_reproducer_exit_1_with_the_line_and_the_folder_kept(env, tmp_path):
    v, before = victim(tmp_path)
    write_lesson(tmp_path / "L", f"- {{id: {PID}, run: {v}, status: pending}}\n")
    cmd = [sys.executable, "-m", "studio", "lesson", "prepare", "--out", str(tmp_path / "L"), "--milestones", PID,
           "--steps", "1", "--threads", "1", "--compile", "off"]
    r = subprocess.run(cmd, cwd=ROOT, env=dict(os.environ, **env), capture_output=True, text=True, timeout=300,
                       check=False)
    assert r.returncode == 1 and "absolute path" in r.stderr and "Traceback" not in r.stderr
    assert "lesson ready" not in r.stdout and "lesson not ready" in r.stderr  # a failed lesson is not "ready"
    assert "[1/0]" not in r.stderr  # a count never passes its total
    assert snapshot(v) == before
