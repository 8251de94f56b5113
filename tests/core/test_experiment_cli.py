"""archstudio experiment: bad input is one line and exit 2 with nothing written; a short
FlashAttention run writes experiment.json; --list names the experiments."""
import json

import pytest
from conftest import run_cli


@pytest.mark.parametrize("args, says", [
    (["experiment", "2023-02-llama-1"], "has no experiment"),
    (["experiment"], "name a milestone"),
    (["experiment", "2022-05-flashattention", "--minutes", "0"], "--minutes must be"),
    (["experiment", "2022-05-flashattention", "--minutes", "nan"], "--minutes must be"),
    (["experiment", "2022-05-flashattention", "--seed", "-1"], "--seed must be"),
    (["experiment", "2022-05-flashattention", "--threads", "0"], "--threads must be"),
    (["experiment", "2022-05-flashattention", "--from", "x"], "--from is for 2024-09-o1"),
    (["experiment", "2022-05-flashattention", "--minutes", "three"], "invalid float"),
])
def test_bad_input_is_one_line_and_exit_2(args, says, tmp_path):
    r = run_cli(*args, "--out", str(tmp_path / "out"))
    assert r.returncode == 2, r.stderr
    assert says in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_an_out_that_is_a_file_or_a_full_folder_is_refused(tmp_path):
    f = tmp_path / "file"
    f.write_text("keep")
    r = run_cli("experiment", "2022-05-flashattention", "--minutes", "0.1", "--out", str(f))
    assert r.returncode == 2 and "is a file" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert f.read_text() == "keep"
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("mine")
    r = run_cli("experiment", "2022-05-flashattention", "--minutes", "0.1", "--out", str(tmp_path / "full"))
    assert r.returncode == 2 and "not empty" in r.stderr


def test_o1_from_a_missing_r1_folder_is_one_line(tmp_path):
    r = run_cli("experiment", "2024-09-o1", "--from", str(tmp_path / "nope"), "--out", str(tmp_path / "o1"))
    assert r.returncode == 2 and "no finished 2025-01-deepseek-r1" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and not (tmp_path / "o1").exists()


def test_a_short_flashattention_run_writes_its_result(tmp_path):
    out = tmp_path / "fa"
    r = run_cli("experiment", "2022-05-flashattention", "--minutes", "0.1", "--out", str(out))
    assert r.returncode == 0, r.stderr
    data = json.loads((out / "experiment.json").read_text())
    assert [x for x, _ in data["curve"]] == [128, 256, 512]
    assert data["after"] > data["before"] and "before" in r.stdout


def test_list_names_the_experiments():
    r = run_cli("experiment", "--list")
    assert r.returncode == 0
    assert r.stdout.split() == ["2022-05-flashattention", "2022-03-chinchilla", "2025-01-deepseek-r1", "2024-09-o1",
                                "2022-03-instructgpt", "2022-11-chatgpt"]
