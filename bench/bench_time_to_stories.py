"""Time to stories: the default recipe against the plain reference recipe, trained AT THE SAME TIME
(two processes, 1 thread each, so machine noise hits both) for the same wall-clock budget.

  default    ``archstudio train MODEL --minutes N`` with nothing else: the defaults as shipped
             (batch, context, lr, warmup-stable-decay, optimizer, tokenizer, compile, bf16 probe)
  reference  the llama2.c-style loop every tutorial runs: eager fp32 AdamW, SDPA, batch 32, context 256,
             lr 1e-3 cosine (over the same budget), the preset's tokenizer

Each is scored on stories neither saw (``validation-head.txt``, a different file from the training
sample): held-out bits per byte, a greedy and a sampled (T 0.8, top-p 0.9) story from "Once upon a
time", and the share of the generated words that occur in the training text.

    python bench/bench_time_to_stories.py [--minutes 3 10] [--model recipe-llama2c-stories260k]
"""
from __future__ import annotations

import argparse
import math
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data" / "tinystories"
RECIPES = {
    "default": [],
    "reference": ["--batch-size", "32", "--context", "256", "--lr", "1e-3", "--schedule", "cosine",
                  "--precision", "fp32", "--compile", "off", "--optimizer", "adamw", "--attention", "sdpa"],
}
WORD = re.compile(r"[A-Za-z']+")


def warm_compile_cache(model: str, out: Path, data: Path) -> None:
    """Compile the default recipe's step once (a few steps, forced), so that its preparing phase in
    the timed run is a cache hit: both recipes then start their budgets at about the same time."""
    subprocess.run([sys.executable, "-m", "studio", "train", model, "--data", str(data), "--out", str(out / "warm"),
                    "--steps", "2", "--threads", "1", "--compile", "on"], cwd=ROOT, capture_output=True, text=True,
                   env=dict(os.environ, OMP_NUM_THREADS="1"))


def train_both(model: str, minutes: float, out: Path, data: Path, extra: dict) -> dict:
    procs = {}
    env = dict(os.environ, OMP_NUM_THREADS="1")
    for name, args in RECIPES.items():
        cmd = [sys.executable, "-m", "studio", "train", model, "--data", str(data), "--out", str(out / name),
               "--minutes", str(minutes), "--threads", "1", *args, *extra.get(name, [])]
        procs[name] = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    res = {}
    for name, p in procs.items():
        so, se = p.communicate()
        if p.returncode != 0:
            raise SystemExit(f"{name} failed ({p.returncode}):\n{se[-2000:]}")
        res[name] = {"summary": so.strip().splitlines()[-1],
                     "setup": next((ln for ln in se.splitlines() if ln.startswith("speed:")), "")}
    return res


def held_out_bpb(run, text_stories: list[str], T: int, max_windows: int = 64) -> float:
    import numpy as np
    import torch

    from studio.core.tokenizers import BOS
    tok, model = run.tokenizer(), run.build_model()
    ids = []
    for s in text_stories:
        ids += [BOS, *tok.encode(s, bos=False)]
    ids = np.array(ids, dtype=np.int64)
    n_bytes = sum(len(s.encode()) for s in text_stories)
    starts = np.linspace(0, len(ids) - T - 2, min(max_windows, max(1, (len(ids) - 1) // T))).astype(int)
    losses = []
    with torch.no_grad():
        for i in range(0, len(starts), 8):
            w = torch.from_numpy(np.stack([ids[s:s + T + 1] for s in starts[i:i + 8]]))
            _, loss = model(w[:, :-1], w[:, 1:])
            losses.append(float(loss))
    # tokens per byte of the scored stories: the same conversion the trainer uses for its split
    return float(np.mean(losses)) / math.log(2) * len(ids) / n_bytes


def story(run, temperature: float, top_p: float | None, seed: int = 0) -> str:
    from studio.core.training.generation import generate_stream
    return "".join(generate_stream(run.build_model(), run.tokenizer(), "Once upon a time", 160, temperature,
                                   None, top_p, seed))


def known_share(text: str, vocab: set[str]) -> float:
    words = [w.lower() for w in WORD.findall(text)]
    return sum(w in vocab for w in words) / max(1, len(words))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, nargs="+", default=[3.0, 10.0])
    ap.add_argument("--model", default="recipe-llama2c-stories260k")
    ap.add_argument("--data", default=str(DATA / "train-2316-stories.txt"))
    ap.add_argument("--unseen", default=str(DATA / "validation-head.txt"))
    ap.add_argument("--unseen-stories", type=int, default=200)
    ap.add_argument("--cold", action="store_true", help="do not warm the compile cache first")
    a = ap.parse_args()
    from studio.core.data.sources import split_text
    from studio.core.runs.rundir import RunDir
    train_text = Path(a.data).read_text(encoding="utf-8")
    vocab = {w.lower() for w in WORD.findall(train_text)}
    unseen = split_text(Path(a.unseen).read_text(encoding="utf-8"))[: a.unseen_stories]
    print(f"{a.model}; training data {a.data}; scored on {len(unseen)} unseen stories of {a.unseen}")
    for minutes in a.minutes:
        with tempfile.TemporaryDirectory(prefix="time-to-stories-") as tmp:
            if not a.cold:
                warm_compile_cache(a.model, Path(tmp), Path(a.data))
            load0 = os.getloadavg()
            res = train_both(a.model, minutes, Path(tmp), Path(a.data), {})
            load1 = os.getloadavg()
            print(f"\n## {minutes:g} minutes (load {load0[0]:.1f} before, {load1[0]:.1f} after; 1-min averages)")
            bpb = {}
            T = min(RunDir(Path(tmp) / n).architecture().dims("classroom")["context"] for n in RECIPES)
            print(f"(both scored on windows of {T} tokens)")
            for name in RECIPES:
                run = RunDir(Path(tmp) / name)
                bpb[name] = held_out_bpb(run, unseen, T)
                greedy, sampled = story(run, 0.0, None), story(run, 0.8, 0.9)
                print(f"- **{name}**: {res[name]['summary']}")
                print(f"  {res[name]['setup']}")
                print(f"  unseen-story bpb **{bpb[name]:.3f}**; words found in the training text: greedy "
                      f"{100 * known_share(greedy, vocab):.0f} %, sampled {100 * known_share(sampled, vocab):.0f} %")
                print(f"  greedy: {greedy!r}")
                print(f"  sampled: {sampled!r}")
            print(f"- default vs reference: {100 * (1 - bpb['default'] / bpb['reference']):.0f} % lower bpb "
                  f"(target ≥ 50 % at 3 minutes)")


if __name__ == "__main__":
    main()
