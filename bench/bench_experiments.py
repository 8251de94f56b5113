"""The milestone experiments at full settings, several seeds: the effect (before → after), wall
and CPU seconds of each run, and the median over seeds, as bench/RESULTS.md reports them.

    python bench/bench_experiments.py --out /tmp/exps [--seeds 1337 1 2] [--ids ID ...]
        [--data /work/shared/data/tinystories/train-2316-stories.txt]
    python bench/bench_experiments.py --out /tmp/exps --report      # only the table of what is there

Each run is ``archstudio experiment ID --seed S --out OUT/ID-sS`` on one thread (o1 samples the
R1 run of the same seed with --from when there is one). On a shared machine the wall time
overstates the work: the CPU seconds (experiment.json ``cpu_s``) are what one free core needs.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

IDS = ["2022-05-flashattention", "2022-03-chinchilla", "2025-01-deepseek-r1", "2024-09-o1", "2022-03-instructgpt",
       "2022-11-chatgpt"]


def run_one(mid: str, seed: int, out: Path, data: str | None) -> None:
    folder = out / f"{mid}-s{seed}"
    if (folder / "experiment.json").is_file():
        return
    cmd = [sys.executable, "-m", "studio", "experiment", mid, "--seed", str(seed), "--out", str(folder)]
    if mid == "2022-03-chinchilla" and data:
        cmd += ["--data", data]
    r1 = out / f"2025-01-deepseek-r1-s{seed}"
    if mid == "2024-09-o1" and (r1 / "experiment.json").is_file():
        cmd += ["--from", str(r1)]
    subprocess.run(cmd, env=dict(os.environ, OMP_NUM_THREADS="1"), check=False)


def report(out: Path) -> None:
    print(f"{'experiment':24} {'seed':>5} {'before':>8} {'after':>8} {'wall s':>7} {'CPU s':>6}  extra")
    for mid in IDS:
        afters, befores = [], []
        for folder in sorted(out.glob(f"{mid}-s*")):
            try:
                d = json.loads((folder / "experiment.json").read_text())
            except (OSError, ValueError):
                continue
            befores.append(d["before"])
            afters.append(d["after"])
            extra = ""
            if "optimum" in d and d["optimum"]:
                o = d["optimum"]
                extra = (f"N*={o['params']:,.0f} D*={o['tokens']:,.0f} tokens/param={o['tokens_per_param']:.1f} "
                         f"interior={d['interior_optimum']}")
            if "greedy_before" in d:
                extra = f"greedy {d['greedy_before']:.3f} → {d['greedy_after']:.3f}"
            if "best_of_n_curve" in d:
                extra = "best-of-n " + " ".join(f"{y:.3f}" for _, y in d["best_of_n_curve"])
            if "reward_model_accuracy" in d:
                rm, sft = d["reward_model_accuracy"], d["stages"]["sft"]
                extra = (f"RM held-out pair accuracy {rm if rm is None else round(rm, 3)}, KL to SFT "
                         f"{d['kl_to_sft']:.2f} nats/reply, SFT steps {sft['steps']}")
            if (d.get("optimum_moves") or {}).get("ratio"):
                extra += f"; N* moves x{d['optimum_moves']['ratio']:.2f} for x{d['optimum_moves']['compute_ratio']:.0f} C"
            print(f"{mid:24} {folder.name.rsplit('-s', 1)[1]:>5} {d['before']:8.4g} {d['after']:8.4g} "
                  f"{d['wall_s']:7.0f} {d.get('cpu_s', float('nan')):6.0f}  {extra}")
        if afters:
            print(f"{'':24} {'median':>5} {statistics.median(befores):8.4g} {statistics.median(afters):8.4g}")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--seeds", type=int, nargs="+", default=[1337, 1, 2])
    ap.add_argument("--ids", nargs="+", default=IDS)
    ap.add_argument("--data", default=None)
    ap.add_argument("--report", action="store_true")
    a = ap.parse_args()
    out = Path(a.out)
    if not a.report:
        out.mkdir(parents=True, exist_ok=True)
        for mid in a.ids:
            for seed in a.seeds:
                run_one(mid, seed, out, a.data)
    report(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
