"""Experiments in a lesson folder: prepared for the milestones that have one, skipped once
finished, listed by summary_rows and by `archstudio lesson summary`."""
import json

from conftest import run_cli

from studio.core.experiments import in_lesson
from studio.core.experiments.common import PROGRESS_FILE, RESULT_FILE
from studio.core.experiments.in_lesson import ExperimentDone, ExperimentSkipped, ExperimentStarted
from studio.core.jobs.control import JobControl


def test_prepare_runs_the_experiments_of_the_milestones_that_have_one_then_skips_them(tmp_path):
    ids = ["2017-06-transformer", "2022-05-flashattention"]
    kinds = [(type(e), e.milestone) for e in in_lesson.prepare(tmp_path, ids, JobControl(), minutes=0.05)]
    assert kinds == [(ExperimentStarted, "2022-05-flashattention"), (ExperimentDone, "2022-05-flashattention")]
    assert (tmp_path / "experiments" / "2022-05-flashattention" / RESULT_FILE).is_file()
    assert [type(e) for e in in_lesson.prepare(tmp_path, ids, JobControl(), minutes=0.05)] == [ExperimentSkipped]
    (tmp_path / "experiments" / "2024-09-o1").mkdir()
    (tmp_path / "experiments" / "2024-09-o1" / PROGRESS_FILE).write_text(json.dumps({"units": {}}))
    rows = in_lesson.summary_rows(tmp_path)
    assert [(r["milestone"], r["status"]) for r in rows] == [("2022-05-flashattention", "done"),
                                                             ("2024-09-o1", "unfinished")]
    assert rows[0]["after"] > rows[0]["before"]


def test_a_stop_before_the_first_experiment_runs_nothing(tmp_path):
    stopped = JobControl()
    stopped.stop()
    assert list(in_lesson.prepare(tmp_path, ["2022-05-flashattention"], stopped)) == []
    assert not (tmp_path / "experiments").exists()


def test_lesson_summary_lists_the_experiments(tmp_path):
    fa = tmp_path / "experiments" / "2022-05-flashattention"
    fa.mkdir(parents=True)
    (fa / RESULT_FILE).write_text(json.dumps({"milestone": "2022-05-flashattention", "metric": "memory ratio",
                                              "higher_is_better": True, "before": 5.3, "after": 160.0,
                                              "curve": [[128, 5.3], [4096, 160.0]]}))
    (tmp_path / "lesson.yaml").write_text("schema_version: 1\nkind: lesson\nmodels: []\n")
    r = run_cli("lesson", "summary", str(tmp_path))
    assert "experiment 2022-05-flashattention" in r.stdout and "before 5.3, after 160" in r.stdout, r.stderr


def test_lesson_prepare_runs_the_experiments_from_the_command_line(tmp_path):
    out = tmp_path / "lesson"
    r = run_cli("lesson", "prepare", "--milestones", "2022-05-flashattention", "--steps", "1", "--data", "starter",
                "--compile", "off", "--out", str(out), "--experiments", "--experiment-minutes", "0.05")
    assert r.returncode == 0, r.stderr[-2000:]
    assert "[experiment] 2022-05-flashattention: running its experiment (0.05 min of work" in r.stderr
    assert (out / "experiments" / "2022-05-flashattention" / RESULT_FILE).is_file()
    bad = run_cli("lesson", "prepare", "--out", str(out), "--experiments", "--experiment-minutes", "0")
    assert bad.returncode == 2 and bad.stderr.strip().count("\n") == 0 and "--experiment-minutes" in bad.stderr
