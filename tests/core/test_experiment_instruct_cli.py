"""archstudio experiment 2022-03-instructgpt at the smallest --minutes writes its result; the same
folder with other settings is one line and exit 2."""
import json

from conftest import run_cli


def test_a_short_instructgpt_run_writes_its_result(tmp_path):
    out = tmp_path / "ig"
    r = run_cli("experiment", "2022-03-instructgpt", "--minutes", "0.05", "--data", "starter", "--out", str(out))
    assert r.returncode == 0, r.stderr
    data = json.loads((out / "experiment.json").read_text())
    assert data["milestone"] == "2022-03-instructgpt" and data["heldout_instructions"] == 40  # 6 names × 24 words, 40 combinations held out
    assert 0 <= data["before"] <= 1 and 0 <= data["after"] <= 1
    rm = data["stages"]["reward_model"]  # this short a run samples no pair to hold out: no accuracy, said as None
    assert (data["reward_model_accuracy"] is None) == (rm["heldout_pairs"] == 0) and rm["pairs"] > 0
    assert "held-out instructions followed" in data["metric"]
    assert "before" in r.stdout and "reward model" in r.stdout
    r = run_cli("experiment", "2022-03-instructgpt", "--minutes", "0.1", "--data", "starter", "--out", str(out))
    assert r.returncode == 2 and "other settings" in r.stderr and len(r.stderr.strip().splitlines()) == 1
