"""Sample-efficiency sweep: which recipe gives the lowest held-out bits per byte for a fixed
wall-clock budget. Each point is ``archstudio train MODEL --minutes N`` with the defaults plus a
few changed options; points run two at a time (1 thread each) so the machine's noise hits both
of a pair alike, and the "base" point (the defaults as shipped) runs in every pair as the yardstick.

The score is the run's final held-out bpb (run.yaml ``result.val_bpb``: the last 5 % of the
training file's stories). Budgets do not count the preparing phase (tokenizer, compile).

    python bench/sweep_recipe.py [--minutes 1] [--model recipe-llama2c-stories260k] [--only ctx128,muon]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "tinystories" / "train-2316-stories.txt"
POINTS = {  # name -> options on top of the defaults
    "ctx128": ["--context", "128"],
    "ctx256": ["--context", "256"],
    "ctx64": ["--context", "64"],
    "ctx128-b16": ["--context", "128", "--batch-size", "16"],
    "ctx128-lr6e-3": ["--context", "128", "--lr", "6e-3"],
    "ctx128-lr1.5e-3": ["--context", "128", "--lr", "1.5e-3"],
    "ctx128-muon": ["--context", "128", "--optimizer", "muon"],
    "ctx128-cosine": ["--context", "128", "--schedule", "cosine"],
    "ctx128-vocab256": ["--context", "128", "--vocab-size", "256"],
    "ctx128-vocab1024": ["--context", "128", "--vocab-size", "1024"],
    # against the new defaults (context 128, Muon): what AdamW and other lrs give there
    "adamw": ["--optimizer", "adamw"],
    "muon-lr1e-2": ["--lr", "1e-2"],
    "ctx256-muon": ["--context", "256"],
    "warmup50": ["--warmup-steps", "50"],
    "warmup0": ["--warmup-steps", "0"],
    "cosine": ["--schedule", "cosine"],
    "b16": ["--batch-size", "16"],
    "vocab1024": ["--vocab-size", "1024"],
    # longer budgets: more tokens per step (the 3-minute sweep had batch 16 and context 256 ahead)
    "b16-ctx256": ["--batch-size", "16", "--context", "256"],
    "b32-ctx256": ["--batch-size", "32", "--context", "256"],
    "b16-adamw": ["--batch-size", "16", "--optimizer", "adamw"],
}


def train(model: str, minutes: float, out: Path, data: Path, opts: list[str]) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "studio", "train", model, "--data", str(data), "--out", str(out),
           "--minutes", str(minutes), "--threads", "1", *opts]
    return subprocess.Popen(cmd, cwd=ROOT, env=dict(os.environ, OMP_NUM_THREADS="1"), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def result(p: subprocess.Popen, out: Path) -> dict:
    _, err = p.communicate()
    if p.returncode != 0:
        return {"error": err.strip().splitlines()[-1] if err.strip() else f"exit {p.returncode}"}
    d = yaml.safe_load((out / "run.yaml").read_text())
    r = d["result"]
    ctx = d["architecture"]["scales"]["classroom"]["context"]
    return {"val_bpb": r["val_bpb"], "steps": r["step"], "tokens": r["tokens"], "tok_s": r["tokens_per_s"],
            "ctx": ctx, "batch": d["training"]["batch_size"], "setup": d.get("runtime", {}).get("step", "")}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=1.0)
    ap.add_argument("--model", default="recipe-llama2c-stories260k")
    ap.add_argument("--data", default=str(DATA))
    ap.add_argument("--only", default=None, help="comma-separated point names")
    a = ap.parse_args()
    names = a.only.split(",") if a.only else list(POINTS)
    print(f"{a.model}, {a.minutes:g}-minute budgets, 1 thread each, pairs (base, point) trained at the same time")
    print("| point | options | batch × ctx | steps | tokens | val bpb | base bpb (same pair) | Δ vs base | load (1 min) |")
    print("|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="sweep-") as tmp:
        for i, name in enumerate(names):
            outs = {k: Path(tmp) / f"{i}-{k}" for k in ("base", name)}
            procs = {"base": train(a.model, a.minutes, outs["base"], Path(a.data), []),
                     name: train(a.model, a.minutes, outs[name], Path(a.data), POINTS[name])}
            res = {k: result(p, outs[k]) for k, p in procs.items()}
            load = os.getloadavg()[0]
            b, r = res["base"], res[name]
            if "error" in r or "error" in b:
                print(f"| {name} | {' '.join(POINTS[name])} | — | — | — | {r.get('error', '')} | {b.get('error', '')} | — | {load:.1f} |")
                continue
            delta = 100 * (r["val_bpb"] / b["val_bpb"] - 1)
            print(f"| {name} | `{' '.join(POINTS[name])}` | {r['batch']} × {r['ctx']} | {r['steps']} | {r['tokens']:,} | "
                  f"{r['val_bpb']:.3f} | {b['val_bpb']:.3f} ({b['batch']} × {b['ctx']}, {b['steps']} steps) | "
                  f"{delta:+.1f} % | {load:.1f} |", flush=True)


if __name__ == "__main__":
    main()
