"""RunState: the run that belongs to the document on screen (no Qt)."""
from __future__ import annotations

import pytest
from psygnal import Signal

from studio.core.state.run import RunState, Snapshot


class FakeDocument:
    """The Document's interface RunState relies on: key, kind, architecture, run_dir, replaced, changed."""
    replaced = Signal()
    changed = Signal()

    def __init__(self, key="llama-2", kind="milestone", run_dir=None):
        self.key, self.kind, self.run_dir, self.architecture = key, kind, run_dir, None

    def replace(self, key, kind="milestone", run_dir=None):
        self.key, self.kind, self.run_dir = key, kind, run_dir
        self.replaced.emit()


@pytest.fixture
def doc_and_run():
    doc, run = FakeDocument(), RunState()
    run.follow(doc)
    return doc, run


def test_milestone_without_training_has_no_run(doc_and_run):
    _doc, run = doc_and_run
    assert run.source is None and run.run_dir is None and run.snapshot is None
    assert run.training == "idle" and not run.has_run()


def test_imported_and_project_documents_bring_their_own_run(doc_and_run, tmp_path):
    doc, run = doc_and_run
    seen = []
    run.changed.connect(lambda: seen.append(run.source))
    doc.replace("imported:stories260K", "imported", tmp_path / "imp")
    assert (run.source, run.run_dir) == ("imported", tmp_path / "imp")
    doc.replace("project:/x.yaml", "project", str(tmp_path / "proj"))
    assert (run.source, run.run_dir) == ("project", tmp_path / "proj")
    doc.replace("deepseek-v3")
    assert run.source is None
    assert seen == ["imported", "project", None]


def test_live_run_belongs_to_its_document_and_is_found_again(doc_and_run, tmp_path):
    doc, run = doc_and_run
    doc.replace("deepseek-v3")
    run.start_live("deepseek-v3")
    assert (run.source, run.training, run.live_key) == ("live", "preparing", "deepseek-v3")
    run.live_prepared(tmp_path / "r1", {"label": "TinyStories"})
    snap = Snapshot(arch=None, state={}, step=7)
    run.set_snapshot(snap)
    assert (run.run_dir, run.training, run.snapshot, run.info["label"]) == (tmp_path / "r1", "running", snap, "TinyStories")

    doc.replace("imported:stories260K", "imported", tmp_path / "imp")  # another model on screen: its own run
    assert (run.source, run.run_dir, run.snapshot, run.training) == ("imported", tmp_path / "imp", None, "idle")
    run.set_snapshot(Snapshot(None, {}, 9))  # the worker keeps feeding the run it trains, not the screen
    assert run.snapshot is None

    doc.replace("deepseek-v3")  # back: the run is found again with its latest snapshot
    assert run.source == "live" and run.snapshot.step == 9
    run.set_training("finished")
    assert run.training == "finished" and run.live_key is None and run.source == "live"


def test_live_run_takes_over_a_projects_recorded_run(doc_and_run, tmp_path):
    doc, run = doc_and_run
    doc.replace("project:p", "project", tmp_path / "old")
    run.start_live("project:p")
    run.live_prepared(tmp_path / "new")
    assert (run.source, run.run_dir) == ("live", tmp_path / "new")
    run.forget("project:p")
    assert (run.source, run.run_dir) == ("project", tmp_path / "old")


def test_failed_start_falls_back(doc_and_run):
    _doc, run = doc_and_run
    run.start_live("llama-2")
    run.live_failed()
    assert run.source is None and run.live_key is None


def test_prepared_lookup_is_the_last_resort(doc_and_run, tmp_path):
    doc, run = doc_and_run
    lessons = {"llama-2": tmp_path / "lesson" / "llama-2"}
    run.set_prepared_lookup(lessons.get)
    assert (run.source, run.run_dir) == ("prepared", tmp_path / "lesson" / "llama-2")
    assert "prepared" in run.label()
    run.start_live("llama-2")
    assert run.source == "live"
    doc.replace("gpt-2")
    assert run.source is None


def test_follow_another_document_stops_listening_to_the_first(tmp_path):
    a, b, run = FakeDocument("a"), FakeDocument("b"), RunState()
    run.follow(a)
    run.follow(b)
    seen = []
    run.changed.connect(lambda: seen.append(1))
    a.replace("x", "imported", tmp_path)
    assert seen == [] and run.key == "b"


def test_unknown_training_state_is_refused(doc_and_run):
    _doc, run = doc_and_run
    with pytest.raises(ValueError):
        run.set_training("sleeping")
    assert run.training == "idle"


def test_resolution_is_cached_until_something_changes(doc_and_run, tmp_path):
    doc, run = doc_and_run
    calls = []
    lessons = {}

    def lookup(key):
        calls.append(key)
        return lessons.get(key)
    run.set_prepared_lookup(lookup)
    for _ in range(30):  # e.g. a plot timer reading the run at 30 Hz
        assert run.source is None and run.run_dir is None
    assert calls == ["llama-2"]
    lessons["llama-2"] = tmp_path / "lesson" / "llama-2"  # the lesson prepared it meanwhile
    run.refresh()
    assert run.source == "prepared" and len(calls) == 2
    doc.replace("gpt-2")
    assert run.source is None and calls[-1] == "gpt-2"


def test_continue_blocker_follows_the_live_run(doc_and_run, tmp_path):
    """'Train N more min' is possible for a finished live run with a checkpoint, not while it trains."""
    doc, run = doc_and_run
    assert "no trained run yet" in run.continue_blocker()
    run.start_live(doc.key)
    assert "training now" in run.continue_blocker()
    from studio.core.data import make_tokenizer
    from studio.core.runs.rundir import RunDir
    from tiny_training import tiny_arch
    folder = tmp_path / "r"
    RunDir(folder).initialize(tiny_arch(), "2023-07-llama-2", make_tokenizer("byte", None, None))
    (folder / "checkpoints").mkdir()
    run.live_prepared(folder, {}, doc.key)
    run.set_training("finished", doc.key)
    assert "no checkpoint" in run.continue_blocker()
    (folder / "checkpoints" / "latest.pt").write_bytes(b"x")  # what continuable looks for (loading checks it)
    assert "no checkpoint" in run.continue_blocker()  # remembered until something changes ...
    run.refresh()
    assert run.continue_blocker() is None  # ... or refresh() looks again
