"""``archstudio timeline add | list | remove``, and ``info`` / ``render`` taking the user's milestone id."""
import json
from pathlib import Path

import pytest

from studio.cli import main
from tests.conftest import run_cli

QWEN3 = Path(__file__).resolve().parents[1] / "data" / "hf_configs" / "Qwen3-4B" / "config.json"
CARD = ["--title", "Qwen3-4B", "--date", "2025-04-29", "--org", "Alibaba Qwen",
        "--innovation", "QK-norm in every attention layer", "--source", "https://huggingface.co/Qwen/Qwen3-4B"]


@pytest.fixture
def folder(tmp_path, monkeypatch):
    d = tmp_path / "milestones"
    monkeypatch.setenv("ARCHSTUDIO_MILESTONES_DIR", str(d))
    return d


def test_add_list_info_remove(folder, tmp_path, capsys):
    mine = tmp_path / "mine.yaml"
    mine.write_text("extends: 2023-07-llama-2\nmeta: {title: My MQA LLaMA, date: '2024-02', org: Me}\n"
                    "scales: {paper: {n_kv_heads: 1}, classroom: {n_kv_heads: 1}}\n")
    assert main(["timeline", "add", str(mine)]) == 0
    assert "added mine (2024-02, My MQA LLaMA) to the timeline, building on 2023-07-llama-2" in capsys.readouterr().out
    assert main(["timeline", "add", str(QWEN3), *CARD]) == 0
    capsys.readouterr()
    assert main(["timeline", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    ids = [r["id"] for r in listed["milestones"]]
    assert [r["id"] for r in listed["milestones"] if r["added_by_user"]] == ["mine", "2025-04-qwen3-4b"]
    assert ids.index("2023-12-mixtral") + 1 == ids.index("mine") == ids.index("2024-05-deepseek-v2") - 1
    assert main(["timeline", "list"]) == 0
    assert " + 2025-04-29 2025-04-qwen3-4b" in capsys.readouterr().out
    assert main(["info", "2025-04-qwen3-4b", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["title"] == "Qwen3-4B" and info["params_total"] == 4_022_468_096
    assert info["card"]["changes"]["since"] == "2023-07-llama-2" and info["card"]["changes"]["items"]
    assert main(["timeline", "remove", "mine"]) == 0
    assert "removed mine" in capsys.readouterr().out and not (folder / "mine.yaml").exists()
    assert main(["info", "mine"]) == 2
    assert main(["timeline", "remove", "2023-07-llama-2"]) == 2
    assert "only milestones you added can be removed" in capsys.readouterr().err


def test_bad_input_is_one_line_and_exit_2(folder, tmp_path):
    r = run_cli("timeline", "add", str(QWEN3), "--title", "Qwen3-4B", "--date", "2025-04-31", timeout=120)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.strip() == "archstudio: config.json: date '2025-04-31' is not a day of the calendar"
    bad = tmp_path / "bad.yaml"
    bad.write_text("meta: {title: no graph, date: '2024-01'}\n")
    r = run_cli("timeline", "add", str(bad), timeout=120)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
    assert not folder.exists() or not any(folder.iterdir())


def test_a_dropped_in_file_that_is_bad_is_set_aside_and_render_takes_a_good_one(folder, tmp_path):
    folder.mkdir()
    (folder / "broken.yaml").write_text("{{{")
    r = run_cli("timeline", "list", timeout=120)
    assert r.returncode == 0 and len(r.stderr.splitlines()) == 1
    assert r.stderr.startswith("archstudio: set aside broken.yaml: ") and "(moved to rejected/)" in r.stderr
    assert (folder / "rejected" / "broken.yaml").exists() and not (folder / "broken.yaml").exists()
    assert main(["timeline", "add", str(QWEN3), *CARD]) == 0
    out = tmp_path / "q.png"
    r = run_cli("render", "2025-04-qwen3-4b", "--out", str(out), "--size", "400x300", timeout=240)
    assert r.returncode == 0, r.stderr
    assert out.stat().st_size > 1000
