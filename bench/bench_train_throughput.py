"""Training-step throughput of the compiled LLaMA graph vs the hand-written reference
(tests/reference_llama.py) at the same config, batch, context and threads: same initial
weights, same AdamW settings, same batches. Runs are interleaved step by step (A B, B A, ...)
so that load from other processes hits both sides alike; the figure is the median of the
per-run ratios (one run = one timed training step of each side).
MFU is against this CPU's measured fp32 matmul peak at the same thread count.

    python bench/bench_train_throughput.py [--threads 2] [--runs 15] [--steps 4]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import torch  # noqa: E402

from reference_llama import ReferenceLlama  # noqa: E402
from studio.core.accounting import account  # noqa: E402
from studio.core.compiler import compile_architecture  # noqa: E402
from studio.core.presets import load_preset  # noqa: E402
from studio.core.training.trainer import TrainConfig, make_optimizer  # noqa: E402

CONFIGS = {
    # the llama2.c recipe as the preset defines it (tied head), batch and context as llama2.c trains it on CPU
    "recipe-llama2c-stories260k": dict(preset="recipe-llama2c-stories260k", dims={}, batch=16, context=256),
    # a ~7M-parameter LLaMA: stories15M's body (288 wide, 6 layers, 6 heads) with a 2048-token vocabulary
    "llama-7M": dict(preset="2023-07-llama-2", dims=dict(dim=288, n_layers=6, n_heads=6, n_kv_heads=6, hidden_dim=768,
                                                         vocab_size=2048, context=256), batch=8, context=256),
}


def matmul_peak(threads: int, n: int = 1024, reps: int = 20) -> float:
    torch.set_num_threads(threads)
    a, b = torch.randn(n, n), torch.randn(n, n)
    for _ in range(3):
        a @ b
    best = float("inf")
    for _ in range(reps):
        t = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t)
    return 2 * n ** 3 / best


def build(name: str):
    c = CONFIGS[name]
    arch = load_preset(c["preset"])
    arch.scales["classroom"].update(c["dims"])
    d = arch.dims("classroom")
    torch.manual_seed(0)
    graph = compile_architecture(arch, "classroom")
    tied = graph.output.weight is graph.tok_embeddings.weight
    ref = ReferenceLlama(d["vocab_size"], d["dim"], d["n_layers"], d["n_heads"], d["n_kv_heads"], d["hidden_dim"],
                         d["context"], tied=tied)
    ref.load_state_dict(graph.state_dict())
    acc = account(arch, "classroom", context=c["context"])
    n_params = sum(p.numel() for p in {id(p): p for p in graph.parameters()}.values())
    return graph, ref, c, d, acc, n_params


CLOCK = time.perf_counter


def time_steps(model, opt, batches) -> float:
    t = CLOCK()
    for x, y in batches:
        _, loss = model(x, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
    return CLOCK() - t


def bench(name: str, threads: int, runs: int, steps: int) -> dict:
    torch.set_num_threads(threads)
    graph, ref, c, d, acc, n_params = build(name)
    B, T = c["batch"], c["context"]
    g = torch.Generator().manual_seed(1)
    batches = [(torch.randint(0, d["vocab_size"], (B, T), generator=g),
                torch.randint(0, d["vocab_size"], (B, T), generator=g)) for _ in range(steps)]
    cfg = TrainConfig()
    opts = {"graph": make_optimizer(graph, cfg), "ref": make_optimizer(ref, cfg)}
    models = {"graph": graph.train(), "ref": ref.train()}
    for k in models:  # warm-up: allocator, kernels, optimizer state
        time_steps(models[k], opts[k], batches[:2])
    tps = {"graph": [], "ref": []}
    for r in range(runs):  # a run = one timed step of each side, back to back, order alternating
        order = ("graph", "ref") if r % 2 == 0 else ("ref", "graph")
        for k in order:
            dt = time_steps(models[k], opts[k], batches[r % steps: r % steps + 1])
            tps[k].append(B * T / dt)
    ratios = [a / b for a, b in zip(tps["graph"], tps["ref"])]
    peak = matmul_peak(threads)
    flops_tok = 3 * acc.flops_per_token  # forward + backward (2x forward)
    med_graph = statistics.median(tps["graph"])
    return {"name": name, "params": n_params, "batch": B, "context": T, "threads": threads,
            "graph_tps": med_graph, "ref_tps": statistics.median(tps["ref"]), "ratio": statistics.median(ratios),
            "ratios": ratios, "peak_gflops": peak / 1e9, "mfu": med_graph * flops_tok / peak}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--only", default=None)
    ap.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                    help="cpu: this process's CPU time, which other processes' load does not inflate")
    a = ap.parse_args()
    global CLOCK
    CLOCK = time.process_time if a.clock == "cpu" else time.perf_counter
    print(f"torch {torch.__version__}, {a.threads} threads, {a.runs} interleaved runs (one step each side), {a.clock} clock")
    print("| config | params | batch × context | compiled tok/s | reference tok/s | ratio (median) | range of run ratios | MFU |")
    print("|---|---|---|---|---|---|---|---|")
    for name in CONFIGS:
        if a.only and a.only != name:
            continue
        r = bench(name, a.threads, a.runs, a.steps)
        print(f"| {name} | {r['params']:,} | {r['batch']} × {r['context']} | {r['graph_tps']:,.0f} | {r['ref_tps']:,.0f} | "
              f"**{r['ratio']:.3f}** | {min(r['ratios']):.2f}–{max(r['ratios']):.2f} | "
              f"{100 * r['mfu']:.1f} % of {r['peak_gflops']:.0f} GFLOP/s |", flush=True)


if __name__ == "__main__":
    main()
