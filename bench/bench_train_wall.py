"""Wall clock from the command to its exit: ``archstudio train MODEL --minutes N`` on a cold or warm
cache, and (``--peer``) a plain eager PyTorch loop of the same model (tests/reference_llama.py: fp32,
SDPA, AdamW, the batch and context the budget recipe trains) started at the same moment for the same
minutes, each on ``--threads`` threads. Reports the seconds from launch to exit, tokens per wall-clock
second of each (imports, data, preparing and the final eval included) and the held-out bits per byte
of ours (the peer trains on random tokens: its figure is speed only).

    python bench/bench_train_wall.py --minutes 1 [--cache DIR] [--peer] [--threads 1]

Without ``--cache`` the cache is a fresh empty folder (cold: no kernel, no compiled step, no
tokenizer); pass the same ``--cache`` twice to measure warm.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "tinystories" / "train-2316-stories.txt"
STORIES260K = {"dim": 64, "n_layers": 5, "n_heads": 8, "n_kv_heads": 4, "hidden_dim": 172, "vocab": 512}


def peer_loop(minutes: float, batch: int, context: int, threads: int, model_id: str) -> None:
    """The plain loop (runs in its own process): counts from its own start, imports included."""
    t0 = time.perf_counter()
    import torch
    sys.path.insert(0, str(ROOT / "tests"))
    sys.path.insert(0, str(ROOT))
    from reference_llama import ReferenceLlama
    torch.set_num_threads(threads)
    d = STORIES260K
    if model_id != "recipe-llama2c-stories260k":  # the model's classroom body, a 512-piece vocabulary
        from studio.core.files.model_spec import load_model
        dims = load_model(model_id).dims("classroom")
        d = {k: int(dims[k]) for k in ("dim", "n_layers", "n_heads", "n_kv_heads", "hidden_dim")} | {"vocab": 512}
    torch.manual_seed(0)
    model = ReferenceLlama(d["vocab"], d["dim"], d["n_layers"], d["n_heads"], d["n_kv_heads"], d["hidden_dim"],
                           context, tied=True).train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.1, betas=(0.9, 0.95))
    g = torch.Generator().manual_seed(1)
    steps = 0
    while time.perf_counter() - t0 < 60.0 * minutes:
        x = torch.randint(0, d["vocab"], (batch, context), generator=g)
        _, loss = model(x, torch.roll(x, -1, 1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        steps += 1
    print(json.dumps({"steps": steps, "tokens": steps * batch * context, "loss": float(loss)}), flush=True)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=1.0)
    ap.add_argument("--model", default="recipe-llama2c-stories260k")
    ap.add_argument("--cache", help="XDG_CACHE_HOME for the run (default: a fresh, empty one = cold)")
    ap.add_argument("--threads", type=int, default=None, help="threads of each side (default: ours decides)")
    ap.add_argument("--peer", action="store_true", help="also a plain eager loop, started at the same moment")
    ap.add_argument("--then-warm", action="store_true",
                    help="after the run, compile its shape into the cache (what 'lesson prepare' does) and time it")
    ap.add_argument("--peer-loop", nargs=4, type=float, metavar=("MIN", "B", "T", "THREADS"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.peer_loop:
        m, b, t, th = a.peer_loop
        peer_loop(m, int(b), int(t), int(th), a.model)
        return 0
    from studio.core.training.setup import budget_recipe
    recipe = budget_recipe(a.minutes)
    cache = a.cache or tempfile.mkdtemp(prefix="archstudio-cold-")
    Path(cache).mkdir(parents=True, exist_ok=True)
    cold = not any(Path(cache).iterdir())
    out = Path(tempfile.mkdtemp(prefix="archstudio-wall-")) / "run"
    cmd = [sys.executable, "-m", "studio", "train", a.model, "--minutes", str(a.minutes), "--data", str(DATA),
           "--out", str(out)] + (["--threads", str(a.threads)] if a.threads else [])
    env = dict(os.environ, XDG_CACHE_HOME=cache)
    load0 = Path("/proc/loadavg").read_text().split()[0]
    t0 = time.perf_counter()
    ours = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    peer = None
    if a.peer:
        peer = subprocess.Popen([sys.executable, __file__, "--peer-loop", str(a.minutes), str(recipe["batch_size"]),
                                 str(recipe["context"]), str(a.threads or 1), "--model", a.model],
                                stdout=subprocess.PIPE, text=True)
    lines = []  # the CLI's progress lines with the second they came at: where the minutes went
    for line in ours.stderr:
        if line.strip() and not line.startswith("\r"):
            lines.append(f"{time.perf_counter() - t0:6.1f} {line.rstrip()[:160]}")
    ours.wait()
    wall = time.perf_counter() - t0
    load1 = Path("/proc/loadavg").read_text().split()[0]
    cfg = {}
    if (out / "run.yaml").is_file():
        import yaml
        cfg = yaml.safe_load((out / "run.yaml").read_text())
    res, rt = cfg.get("result") or {}, cfg.get("runtime") or {}
    row = {"minutes": a.minutes, "cache": "cold" if cold else "warm", "exit": ours.returncode,
           "wall_s": round(wall, 1), "over_budget_pct": round(100 * (wall / (60 * a.minutes) - 1), 1),
           "tokens": res.get("tokens"), "tokens_per_wall_s": round((res.get("tokens") or 0) / wall),
           "steps": res.get("step"), "val_bpb": res.get("val_bpb"), "preparing_s": rt.get("preparing_s"),
           "threads": rt.get("threads"), "precision": rt.get("precision"), "step": rt.get("step"),
           "attention": (rt.get("attention") or {}).get("kernel"), "switches": rt.get("switches"),
           "load": f"{load0} -> {load1}"}
    if peer is not None:
        p_out, _ = peer.communicate()
        p_wall = time.perf_counter() - t0
        got = json.loads(p_out.strip().splitlines()[-1])
        row["peer"] = {"wall_s": round(p_wall, 1), "tokens": got["tokens"],
                       "tokens_per_wall_s": round(got["tokens"] / p_wall)}
        row["ratio"] = round(row["tokens_per_wall_s"] / max(1, row["peer"]["tokens_per_wall_s"]), 2)
    row["timeline"] = lines[:12] + (["…"] if len(lines) > 14 else []) + lines[-2:] if len(lines) > 14 else lines
    if a.then_warm and not ours.returncode:
        os.environ["XDG_CACHE_HOME"] = cache
        from studio.core.training.warm import warm_run
        t = time.perf_counter()
        got = warm_run(out)
        row["then_warm"] = {"wall_s": round(time.perf_counter() - t, 1), **{k: got.get(k) for k in
                            ("ok", "error", "cold_s", "ratio", "compiled_ms", "eager_ms", "label")}}
    print(json.dumps(row, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
