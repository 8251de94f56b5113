"""Runs trained in the app come back after a restart (issue 22 M2): the newest run of a
published milestone is its run, an edited copy's run and damaged folders are not."""
from __future__ import annotations

from studio.core.files.presets import load_preset
from studio.core.runs.earlier import earlier_run_lookup, earlier_runs
from studio.core.runs.rundir import RunDir
from studio.core.state import StudioModel
from studio.core.tokenizers.byte_level import ByteTokenizer

PID = "recipe-llama2c-stories260k"


def _run(base, stamp, arch=None, model=PID, checkpoint=True):
    """A run folder as the app leaves it (run.yaml with the trained graph, a checkpoint)."""
    arch = arch if arch is not None else load_preset(PID)
    arch.scales["classroom"]["context"] = 64  # a run's own context: not part of the graph
    run = RunDir(base / f"{model}-{stamp}")
    run.initialize(arch, model, ByteTokenizer())
    if checkpoint:
        run.checkpoint_dir.mkdir(exist_ok=True)
        run.checkpoint_path(None).write_bytes(b"weights")
    return run.path


def test_the_newest_run_of_the_milestone_comes_back(tmp_path):
    old = _run(tmp_path, "20261201-090000")
    new = _run(tmp_path, "20261206-090000")
    _run(tmp_path, "20261207-090000", checkpoint=False)  # stopped before its first checkpoint
    edited = load_preset(PID)
    edited.scales["classroom"]["n_layers"] = 2
    _run(tmp_path, "20261208-090000", arch=edited)  # an edited copy trained under the same id
    assert earlier_runs(PID, load_preset(PID), tmp_path) == [new, old]


def test_damaged_and_foreign_folders_are_passed_over(tmp_path):
    good = _run(tmp_path, "20261201-090000")
    bad = tmp_path / f"{PID}-20261202-090000"
    bad.mkdir()
    (bad / "run.yaml").write_text("schema_version: [1\n")  # not YAML
    (bad / "checkpoints").mkdir()
    (bad / "checkpoints" / "latest.pt").write_bytes(b"x")
    (tmp_path / f"{PID}-notastamp").mkdir()
    (tmp_path / f"{PID}-20261203-090000").symlink_to(good)  # a link is not the app's run
    _run(tmp_path, "20261204-090000", arch=load_preset("2023-07-llama-2"), model="2023-07-llama-2")
    assert earlier_runs(PID, load_preset(PID), tmp_path) == [good]
    assert earlier_runs(PID, load_preset(PID), tmp_path / "missing") == []


def test_run_state_offers_the_earlier_run_for_the_milestone_only(tmp_path, monkeypatch):
    monkeypatch.setenv("ARCHSTUDIO_RUNS_DIR", str(tmp_path))
    run = _run(tmp_path, "20261206-090000")
    m = StudioModel(start=PID)
    assert m.run.source is None  # the core never looks by itself
    m.run.set_earlier_lookup(earlier_run_lookup(m.timeline))
    assert (m.run.source, m.run.run_dir) == ("earlier", run)
    assert "your latest run" in m.run.label() and run.name in m.run.label()
    m.document.set_config("output", "tie_to", None)  # an edit forks the milestone: not its run
    assert m.run.source is None
    m.show_milestone("2023-07-llama-2")
    assert m.run.source is None
