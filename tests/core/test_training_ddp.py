"""3 steps under torchrun --nproc_per_node 2 (gloo, CPU): both ranks end with identical
parameters, equal to one process with the same global batch (within fp32 tolerance); and a
time budget under torchrun."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from ddp_worker import CFG
from studio.core.training import StepMetrics, TrainConfig, train_steps
from studio.core.training import setup as S
from tiny_training import starter_data, tiny_arch

HERE = Path(__file__).resolve().parent


def test_two_gloo_ranks_equal_one_process(tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    r = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                        str(HERE / "ddp_worker.py"), str(tmp_path)], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    a = torch.load(tmp_path / "rank0.pt", weights_only=True)
    b = torch.load(tmp_path / "rank1.pt", weights_only=True)
    for k in a["params"]:
        assert torch.equal(a["params"][k], b["params"][k]), k
    single = S.build_model(tiny_arch(), 0)
    losses = [e.loss for e in train_steps(single, starter_data(tmp_path / "c"), TrainConfig(**CFG))
              if isinstance(e, StepMetrics)]
    sd = single.state_dict()
    for k, v in a["params"].items():
        torch.testing.assert_close(v, sd[k], rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(torch.tensor(a["losses"]), torch.tensor(losses), rtol=1e-5, atol=1e-5)
    assert a["losses"] == b["losses"]  # every rank logs the global batch's loss


def test_archstudio_train_under_torchrun(tmp_path):
    data = tmp_path / "s.txt"
    data.write_text("Tom had a red ball. He liked it.\n<|endoftext|>\n" * 200)
    env = dict(os.environ, OMP_NUM_THREADS="1", ARCHSTUDIO_CACHE_DIR=str(tmp_path / "cache"))
    out = tmp_path / "run"
    r = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                        "-m", "studio", "train", "2023-07-llama-2", "--data", str(data), "--out", str(out),
                        "--tokenizer", "byte", "--steps", "3", "--batch-size", "4", "--context", "32", "--threads", "1"],
                       capture_output=True, text=True, env=env, timeout=120, cwd=HERE.parents[1])
    if r.returncode != 0 and "SIGABRT" in r.stderr:
        # Seen once in a fresh-clone CI run (a gloo rank aborted at start-up; 2/2 passed on rerun):
        # one retry in a fresh folder, so a consistent failure still fails.
        shutil.rmtree(out, ignore_errors=True)
        r = subprocess.run(r.args, capture_output=True, text=True, env=env, timeout=120, cwd=HERE.parents[1])
    assert r.returncode == 0, r.stderr[-2000:]
    finals = [line for line in r.stdout.splitlines() if line.startswith("trained 3 steps, 384 tokens")]
    assert len(finals) == 1  # only rank 0 reports
    assert (out / "checkpoints" / "latest.pt").is_file()


def test_minutes_under_torchrun_every_rank_stops_alike_then_more_minutes(tmp_path):
    """``--minutes`` under torchrun (2 gloo ranks): both ranks follow one schedule, end at the same
    step within 5 % of the budget with the lr at its floor; ``--resume --minutes`` the same."""
    from studio.core.data.starter import starter_stories
    from studio.core.runs.rundir import RunDir
    data = tmp_path / "stories.txt"
    data.write_text("\n<|endoftext|>\n".join(starter_stories(200)) + "\n<|endoftext|>\n")
    env = dict(os.environ, OMP_NUM_THREADS="1", ARCHSTUDIO_CACHE_DIR=str(tmp_path / "cache"))
    r = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                        str(HERE / "ddp_budget_worker.py"), str(tmp_path), str(data), "0.2", "0.1"],
                       capture_output=True, text=True, env=env, timeout=150, cwd=HERE.parents[1])
    if r.returncode != 0 and "SIGABRT" in r.stderr:  # the gloo start-up abort seen once in CI: one retry
        shutil.rmtree(tmp_path / "run", ignore_errors=True)
        r = subprocess.run(r.args, capture_output=True, text=True, env=env, timeout=150, cwd=HERE.parents[1])
    assert r.returncode == 0, r.stderr[-3000:]
    ranks = [json.loads((tmp_path / f"rank{i}.json").read_text()) for i in (0, 1)]
    seen = [[(s["step"], round(s["elapsed_s"], 3)) for s in k["sessions"]] for k in ranks]  # (for a failure's message)
    assert [k["rcs"] for k in ranks] == [[0, 0], [0, 0]]
    floor = 3e-3 * 0.1  # the default lr and its floor
    ends = []
    for budget_s, first, second in zip((12.0, 6.0), *[k["sessions"] for k in ranks]):
        assert first["steps"] == second["steps"]  # the same steps with the same lr on both ranks
        assert first["step"] == second["step"] == first["steps"][-1][0] and first["reason"] == "done"
        # the budget runs from each rank's command (cmd_train), preparing included, on one clock for all
        # ranks (the slowest: the largest Finished.elapsed_s)
        agreed = max(first["elapsed_s"], second["elapsed_s"])
        assert abs(agreed - budget_s) <= 0.05 * budget_s, seen
        for s in (first, second):
            assert s["budget_s"] == budget_s, seen
            assert s["final_lr"] == pytest.approx(floor) and s["steps"][-1][1] == pytest.approx(floor)
        ends.append(first["step"])
    more = ranks[0]["sessions"][1]["steps"]
    assert more[0][0] == ends[0] + 1 and floor < more[0][1] <= 3e-3  # re-warms from the floor (a 1-step warmup when slow)
    run = RunDir(tmp_path / "run")
    cfg = run.read_config()
    assert cfg["result"]["step"] == ends[1] and [c["from_step"] for c in cfg["continued"]] == [ends[0]]
    steps = [m["step"] for m in run.metrics() if m["kind"] == "step"]
    assert steps == list(range(1, ends[1] + 1))  # rank 0 alone logged every step, once
