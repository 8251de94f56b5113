"""archstudio train --minutes N, its resume with N more minutes, and the bpb in the summary (subprocesses)."""
import os
import subprocess
import sys
from pathlib import Path

from studio.core.data.starter import starter_stories
from studio.core.rundir import RunDir

ROOT = Path(__file__).resolve().parents[2]


def cli(*args, tmp_path):
    env = dict(os.environ, ARCHSTUDIO_CACHE_DIR=str(tmp_path / "cache"))
    return subprocess.run([sys.executable, "-m", "studio", *args], capture_output=True, text=True, cwd=ROOT,
                          env=env, timeout=300)


def test_train_for_minutes_then_more_minutes(tmp_path):
    data = tmp_path / "stories.txt"
    data.write_text("\n<|endoftext|>\n".join(starter_stories(200)) + "\n<|endoftext|>\n")
    out = tmp_path / "run"
    common = ["--threads", "1", "--batch-size", "4", "--context", "32"]
    r = cli("train", "2023-07-llama-2", "--data", str(data), "--out", str(out), "--tokenizer", "byte",
            "--minutes", "0.05", *common, tmp_path=tmp_path)
    assert r.returncode == 0, r.stderr
    last = r.stdout.strip().splitlines()[-1]
    assert " bpb), val loss " in last and "val bpb" in last and "s of a 3 s budget" in last
    assert "preparing: measuring bf16 against fp32" in r.stderr and "speed: 1 thread" in r.stderr
    cfg = RunDir(out).read_config()
    assert cfg["training"]["minutes"] == 0.05 and cfg["runtime"]["precision"] in ("fp32", "bf16")
    first = cfg["result"]["step"]
    assert first >= 2 and cfg["result"]["budget_s"] == 3.0
    r = cli("train", "2023-07-llama-2", "--out", str(out), "--resume", "--minutes", "0.03", *common, tmp_path=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "for 0.03 more minutes" in r.stderr and "s of a 1.8 s budget" in r.stdout
    assert RunDir(out).read_config()["result"]["step"] > first
    for bad, msg in ((["--minutes", "0"], "--minutes must be more than 0"),
                     (["--minutes", "1", "--steps", "5"], "give one of them")):
        r = cli("train", "2023-07-llama-2", "--out", str(tmp_path / "x"), *bad, tmp_path=tmp_path)
        assert r.returncode == 2 and msg in r.stderr and "Traceback" not in r.stderr
