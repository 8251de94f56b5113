"""kill -9 at random moments of a short training run (and of its resumes): --resume must always
continue, losing at most one checkpoint interval of steps. Used by bench/fuzz_campaign.py."""
from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STEPS, INTERVAL = 400, 100  # the CLI checkpoints every max(100, steps // 10) steps


def _last_logged(out: Path) -> int:
    try:
        lines = (out / "metrics.jsonl").read_bytes().splitlines()
    except OSError:
        return 0
    steps = []
    for ln in lines:
        try:
            rec = json.loads(ln)
        except ValueError:
            continue
        if isinstance(rec, dict) and isinstance(rec.get("step"), int):
            steps.append(rec["step"])
    return max(steps, default=0)


def _start(work: Path, out: Path, resume: bool) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "studio", "train", str(work / "tiny.yaml"), "--out", str(out), "--steps", str(STEPS),
           "--threads", "1"]
    cmd += ["--resume"] if resume else ["--data", str(work / "stories.txt"), "--tokenizer", "byte", "--batch-size", "2"]
    return subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, PYTHONUNBUFFERED="1"))


def trial(work: Path, i: int, rng: random.Random) -> dict:
    out = work / f"kill-{i}"
    p = _start(work, out, resume=False)
    t0 = time.monotonic()
    if i % 3 == 0:  # a third of the kills fall in the set-up (data, tokenizer, staging the folder)
        t_kill = rng.uniform(0.2, 6.0)
    else:  # the rest while it trains: somewhere in its first ~3 checkpoint intervals
        while time.monotonic() - t0 < 300 and p.poll() is None and not (out / "metrics.jsonl").is_file():
            time.sleep(0.05)
        t_kill = time.monotonic() - t0 + rng.uniform(0.0, 8.0)
    try:
        p.wait(timeout=max(0.0, t_kill - (time.monotonic() - t0)))
        finished_first = True
    except subprocess.TimeoutExpired:
        finished_first = False
        p.send_signal(signal.SIGKILL)
        p.wait()
    before = _last_logged(out)
    rec = {"trial": i, "kill_at_s": round(t_kill, 2), "finished_before_kill": finished_first, "logged_before": before,
           "folder_existed": out.is_dir()}
    kills_of_resume = 1 if i % 2 else 0  # odd trials also kill their first resume
    for attempt in range(kills_of_resume + 1):
        if not out.is_dir():  # nothing was created: a new train starts cleanly
            q = _start(work, out, resume=False)
        else:
            q = _start(work, out, resume=True)
        if attempt < kills_of_resume:
            try:
                q.wait(timeout=rng.uniform(0.5, 6.0))
            except subprocess.TimeoutExpired:
                q.send_signal(signal.SIGKILL)
            _, err = q.communicate()
            before = max(before, _last_logged(out))
            continue
        _, err = q.communicate(timeout=600)
        m = re.search(r"resuming .* at step (\d+) of", err)
        start = int(m.group(1)) if m else 0
        rec.update(final_rc=q.returncode, resumed_at=start, lost_steps=max(0, before - start),
                   resume_error="" if q.returncode == 0 else err.strip().splitlines()[-1][:200] if err.strip() else "?")
    rec["ok"] = rec["final_rc"] == 0 and rec["lost_steps"] <= INTERVAL
    return rec


def kill_campaign(work: Path, kills: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for i in range(kills):
        t0 = time.monotonic()
        r = trial(work, i, rng)
        r["seconds"] = round(time.monotonic() - t0, 1)
        print(f"  kill trial {i}: {r}", file=sys.stderr, flush=True)
        out.append(r)
    return out
