"""Training-step throughput of the LLaMA graph as the trainer runs it (torch.compile/inductor, bf16
autocast where the start-up probe measures it faster, else fp32; attention with head size 8 or 16
in the small-head C++ kernel, blocks/nn/small_head_attention) against the plain eager reference
every tutorial uses (tests/reference_llama.py: fp32, SDPA, AdamW), at the same config, batch,
context and threads, from the same initial weights on the same batches.

Runs are interleaved (one timed training step of each side, back to back, order alternating), so
load from other processes hits both alike; the figure is the median of the per-run ratios. Compile
time (the first call) is reported apart, as the trainer's "preparing" phase. After the timed runs
both sides keep training to ``--loss-steps`` steps and their losses are compared: the same
numbers must come out (within bf16 noise where bf16 was chosen).

    python bench/bench_train_throughput.py [--threads 1] [--runs 7] [--loss-steps 50] [--only NAME]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import torch  # noqa: E402

from reference_llama import ReferenceLlama  # noqa: E402
from studio.core.model.accounting import account  # noqa: E402
from studio.core.model.compiler import compile_architecture  # noqa: E402
from studio.core.files.presets import load_preset  # noqa: E402
from studio.core.training.speed import StepRunner, autocast, choose_attention, choose_precision  # noqa: E402
from studio.core.training.speed import PrecisionChoice  # noqa: E402
from studio.core.training.step import CLOSE_PREFERS_BF16  # noqa: E402
from studio.core.training.trainer import TrainConfig, make_optimizer  # noqa: E402

CONFIGS = {
    # the llama2.c recipe as the preset defines it (tied head), at llama2.c's batch and context
    "recipe-llama2c-stories260k": dict(preset="recipe-llama2c-stories260k", dims={"context": 256}, batch=32, context=256),
    # a ~7M-parameter LLaMA: stories15M's body (288 wide, 6 layers, 6 heads) with a 2048-token vocabulary
    "llama-7M": dict(preset="2023-07-llama-2", dims=dict(dim=288, n_layers=6, n_heads=6, n_kv_heads=6, hidden_dim=768,
                                                         vocab_size=2048, context=256), batch=32, context=256),
}
TARGET = {"recipe-llama2c-stories260k": 2.0, "llama-7M": 1.5}


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


class Side:
    """One model, its optimizer and how it steps; ``step`` returns the loss (a float)."""

    def __init__(self, model, call, precision: str):
        self.model, self.call, self.precision = model, call, precision
        self.opt = make_optimizer(model, TrainConfig())
        self.params = [p for p in model.parameters() if p.requires_grad]

    def step(self, x, y) -> float:
        with autocast(torch.device("cpu"), self.precision):
            _, loss = self.call(x, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.params, 1.0)
        self.opt.step()
        self.opt.zero_grad(set_to_none=True)
        return float(loss.detach())


CLOCK = time.perf_counter


def bench(name: str, threads: int, runs: int, loss_steps: int) -> dict:
    torch.set_num_threads(threads)
    graph, ref, c, d, acc, n_params = build(name)
    B, T = c["batch"], c["context"]
    g = torch.Generator().manual_seed(1)
    n_batches = max(loss_steps, runs + 2)
    batches = [(torch.randint(0, d["vocab_size"], (B, T), generator=g),
                torch.randint(0, d["vocab_size"], (B, T), generator=g)) for _ in range(n_batches)]
    graph.train()
    with torch.no_grad():  # fills the graph's lookup caches (the trainer does the same), one dynamo graph
        graph(batches[0][0][:1], batches[0][1][:1])
    probe = (batches[0][0], batches[0][1], None)  # the whole batch, as the trainer probes
    attention = choose_attention("auto", graph, torch.device("cpu"))  # as the trainer: before the probe
    choice = choose_precision("auto", graph, probe, torch.device("cpu"))
    graph.zero_grad(set_to_none=True)
    runner = StepRunner(graph, torch.device("cpu"), want_compile=True)
    sides = {"graph": Side(graph, lambda x, y: runner(x, y, None), choice.precision),
             "ref": Side(ref.train(), lambda x, y: ref(x, y), "fp32")}
    losses = {"graph": [], "ref": []}
    if choice.close() and choice.precision == "fp32":  # as the trainer when it compiles: one decision, bf16
        choice = PrecisionChoice("bf16", f"bf16 (autocast): {CLOSE_PREFERS_BF16}", choice.fp32_ms, choice.bf16_ms)
        sides["graph"].precision = "bf16"
    t = time.perf_counter()
    losses["graph"].append(sides["graph"].step(*batches[0]))  # compiles (the trainer's preparing phase)
    compile_s = time.perf_counter() - t
    losses["ref"].append(sides["ref"].step(*batches[0]))
    for k in sides:  # warm-up: allocator, kernels, optimizer state
        losses[k].append(sides[k].step(*batches[1]))
    tps = {"graph": [], "ref": []}
    for r in range(runs):  # a run = one timed step of each side, back to back, order alternating
        order = ("graph", "ref") if r % 2 == 0 else ("ref", "graph")
        for k in order:
            t = CLOCK()
            losses[k].append(sides[k].step(*batches[2 + r]))
            tps[k].append(B * T / (CLOCK() - t))
    for i in range(runs + 2, loss_steps):  # on to the loss check, untimed
        for k in sides:
            losses[k].append(sides[k].step(*batches[i]))
    ratios = [a / b for a, b in zip(tps["graph"], tps["ref"])]
    return {"name": name, "params": n_params, "batch": B, "context": T, "threads": threads, "runs": runs,
            "graph_tps": statistics.median(tps["graph"]), "ref_tps": statistics.median(tps["ref"]),
            "ratio": statistics.median(ratios), "ratios": ratios, "compile_s": compile_s, "step": runner.note,
            "precision": choice.reason, "attention": attention.reason, "loss_steps": len(losses["graph"]),
            "loss_graph": losses["graph"][-1], "loss_ref": losses["ref"][-1], "flops_tok": 3 * acc.flops_per_token}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--loss-steps", type=int, default=50)
    ap.add_argument("--only", default=None, choices=sorted(CONFIGS))
    ap.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                    help="cpu: this process's CPU time (with 1 thread: the work done, which other processes' "
                         "load does not inflate; use it on a shared machine)")
    a = ap.parse_args()
    global CLOCK
    CLOCK = time.process_time if a.clock == "cpu" else time.perf_counter
    print(f"torch {torch.__version__}, {a.threads} thread(s), {a.runs} interleaved runs, {a.clock} clock, "
          f"load {os.getloadavg()}")
    print("| config | params | batch × context | trained as | compile (first call) | graph tok/s | reference tok/s "
          "| ratio (median) | run ratios | target | loss after N steps: graph / reference |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name in CONFIGS:
        if a.only and a.only != name:
            continue
        r = bench(name, a.threads, a.runs, a.loss_steps)
        print(f"| {name} | {r['params']:,} | {r['batch']} × {r['context']} | {r['step']}; {r['precision']}; {r['attention']} | "
              f"{r['compile_s']:.0f} s | {r['graph_tps']:,.0f} | {r['ref_tps']:,.0f} | **{r['ratio']:.2f}×** | "
              f"{min(r['ratios']):.2f}–{max(r['ratios']):.2f} | ≥ {TARGET[name]}× | "
              f"N={r['loss_steps']}: {r['loss_graph']:.4f} / {r['loss_ref']:.4f} |", flush=True)
    print(f"load after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
