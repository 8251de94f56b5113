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
    assert "from an earlier session" in m.run.label() and run.name in m.run.label()
    m.document.set_config("output", "tie_to", None)  # an edit forks the milestone: not its run
    assert m.run.source is None
    m.show_milestone("2023-07-llama-2")
    assert m.run.source is None


def test_a_chosen_run_is_shown_until_it_goes_and_the_folder_is_read_again_only_when_it_changes(tmp_path):
    from studio.core.runs.earlier import EarlierRuns
    from studio.core.runs.summary import run_summary
    old = _run(tmp_path, "20261201-090000")
    new = _run(tmp_path, "20261206-090000")
    m = StudioModel(start=PID)
    now = [0.0]
    earlier = EarlierRuns(m.timeline, folder=tmp_path, clock=lambda: now[0])
    doc = m.document
    assert earlier.runs(doc) == [new, old] and earlier.lookup(doc) == new
    earlier.choose(doc, old)
    assert earlier.lookup(doc) == old  # the learner's choice, not the newest
    import shutil
    shutil.rmtree(old)  # the chosen run was deleted: the newest is shown again
    assert earlier.runs(doc) == [new] and earlier.lookup(doc) == new
    (new / "checkpoints" / "latest.pt").unlink()  # inside a run: the listing is unchanged ...
    assert earlier.runs(doc) == [new]             # ... so the scrub does not read the folder again
    now[0] += EarlierRuns.REREAD_S
    assert earlier.runs(doc) == []                # until REREAD_S has passed
    m.document.set_config("output", "tie_to", None)
    assert earlier.runs(m.document) == []         # an edited copy carries no earlier runs
    assert run_summary(new) == "not trained yet (no metrics)"
    RunDir(new).append_metrics({"kind": "step", "step": 120, "tokens": 61440, "elapsed_s": 90.0, "loss": 2.0})
    RunDir(new).append_metrics({"kind": "eval", "step": 120, "val_bpb": 2.314})
    line = run_summary(new)
    assert "for 1.5 min, 120 steps, 61,440 tokens, held-out 2.31 bits/byte" in line, line
