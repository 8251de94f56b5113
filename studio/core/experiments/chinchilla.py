"""2022-03 Chinchilla, the IsoFLOP experiment at classroom scale: one fixed compute budget C,
several sizes of the classroom LLaMA (width and depth varied, the LLaMA-1 block graph kept), each
trained on the same token stream for the D = C / (6·N) tokens the budget allows; held-out loss
against N, a parabola fitted in log N, and the compute-optimal N, D and tokens per parameter it
gives, next to the paper's ≈ 20 (Hoffmann et al. 2022, approach 2).

N counts every parameter (embeddings included, as the paper does). Every model sees the same
batches in the same order (one seed), so the only difference is its size and its share of C.
"""
from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

from studio.core import errors as E
from studio.core.experiments.common import (
    ExperimentRequest,
    Folder,
    Point,
    Row,
    Stage,
    Text,
    settings_record,
    torch_threads,
)

MILESTONE = "2022-03-chinchilla"
BASE_PRESET = "2023-02-llama-1"   # the classroom LLaMA whose width and depth are varied
PAPER_TOKENS_PER_PARAM = 20.0
HEAD_DIM = 16


@dataclass(frozen=True)
class Settings:
    # (dim, layers): about 8K to 430K parameters with the 512-piece vocabulary. Without the 8-wide
    # model the 16-wide one was the best of the sweep at one seed of three (no interior optimum).
    sizes: tuple = ((8, 1), (16, 1), (32, 1), (48, 2), (64, 3), (96, 3))
    flops: float = 1.2e11         # C: about 35 CPU seconds of training for the five larger models
    # a second, smaller budget (this share of C) swept over the same sizes, so that the optimum is
    # seen to move with the compute (the paper's IsoFLOP curves); 0 = one budget. At C/4 the
    # smallest size (9 K) was the best on seeds 1 and 3 (no interior optimum, the fit extrapolated)
    second_budget: float = 0.5
    batch_size: int = 8
    context: int = 128
    lr: float = 3e-3
    eval_batches: int = 16
    vocab_size: int = 512
    tokenizer: str = "bpe"        # the classroom default; tests use "byte" (nothing to train)


def settings_for(minutes: float) -> Settings:
    return Settings(flops=Settings.flops * minutes / 3.0)


def sized_arch(base, dim: int, layers: int, vocab: int, context: int):
    """The classroom LLaMA at width ``dim`` and depth ``layers`` (heads of 16, SwiGLU width 8/3·dim)."""
    from studio.core.training.setup import classroom_arch
    a = classroom_arch(base, vocab, context)
    hidden = (int(8 * dim / 3) + 7) // 8 * 8
    dims = dict(a.scales["classroom"], dim=dim, n_layers=layers, n_heads=max(1, dim // HEAD_DIM), hidden_dim=hidden)
    dims.pop("n_kv_heads", None)
    a.scales["classroom"] = dims
    return a


def fit_parabola(points: list[tuple[float, float]]) -> dict | None:
    """loss ≈ a·(ln N)² + b·ln N + c by least squares; the optimum N* = exp(−b / 2a) when a > 0."""
    import numpy as np
    if len(points) < 3:
        return None
    x = np.log([p[0] for p in points])
    y = np.array([p[1] for p in points])
    a, b, c = (float(v) for v in np.polyfit(x, y, 2))
    fit = {"a": a, "b": b, "c": c, "convex": a > 0}
    if a > 0:
        fit["n_opt"] = math.exp(-b / (2 * a))
        fit["loss_at_opt"] = c - b * b / (4 * a)
    return fit


def _data(req: ExperimentRequest, s: Settings):
    from studio.core.data import load_corpus, make_tokenizer, tokenize_corpus
    corpus = load_corpus(req.data)
    tok = make_tokenizer(s.tokenizer, corpus, s.vocab_size)
    return tokenize_corpus(corpus, tok)


def train_one(base, data, s: Settings, dim: int, layers: int, seed: int, control, flops: float | None = None) -> dict:
    from studio.core.training import TrainConfig, train_steps
    from studio.core.training.events import Finished
    from studio.core.training.setup import build_model
    arch = sized_arch(base, dim, layers, data.tokenizer.vocab_size, s.context)
    model = build_model(arch, seed)
    n = sum(p.numel() for p in model.parameters())
    n_embed = sum(p.numel() for name, p in model.named_parameters() if "embedding" in name or "output" in name)
    tokens_per_step = s.batch_size * s.context
    steps = max(4, round((flops or s.flops) / (6 * n) / tokens_per_step))
    cfg = TrainConfig.for_run(steps=steps, batch_size=s.batch_size, context=s.context, lr=s.lr, eval_interval=0,
                              eval_batches=s.eval_batches, checkpoint_interval=0, seed=seed, attention="auto")
    end = None
    for ev in train_steps(model, data, cfg, should_stop=control.should_stop):
        if isinstance(ev, Finished):
            end = ev
    if end is None or end.reason != "done":
        return {}
    return {"dim": dim, "layers": layers, "params": n, "params_embedding": n_embed, "steps": steps,
            "tokens": steps * tokens_per_step, "flops": 6 * n * steps * tokens_per_step,
            "val_loss": end.val_loss, "val_bpb": end.val_bpb, "train_s": round(end.elapsed_s, 2)}


def job(req: ExperimentRequest, control) -> Iterator:
    from studio.core.files.presets import load_preset
    s = req.settings or settings_for(req.minutes)
    if len(s.sizes) < 3:
        raise E.StudioError("an IsoFLOP curve needs at least 3 model sizes")
    folder = Folder(req, {"seed": req.seed, "data": req.data, "settings": settings_record(s)})
    with torch_threads(req.threads):
        yield Stage(f"reading the stories and the {s.tokenizer} tokenizer")
        data = _data(req, s)
        base = load_preset(BASE_PRESET)
        yield Row("models", ("C (FLOPs)", "dim × layers", "params N", "tokens D", "D / N", "held-out loss (nats/token)"))
        sweeps = {}
        for flops, suffix, series in _budgets(s):
            results = []
            for dim, layers in s.sizes:
                key = f"{dim}x{layers}{suffix}"
                r = folder.done(key)
                if r is None:
                    yield Stage(f"training the {dim}-wide, {layers}-layer LLaMA on its share of C = {flops:.2g} FLOPs")
                    r = train_one(base, data, s, dim, layers, req.seed, control, flops)
                    if not r:
                        return  # stopped: the folder keeps the finished sizes; a rerun continues
                    folder.save_unit(key, r)
                results.append(r)
                yield Row("models", (f"{flops:.2g}", f"{dim}x{layers}", r["params"], r["tokens"],
                                     float(f"{r['tokens'] / r['params']:.3g}"), round(r["val_loss"], 4)))  # 3 figures: 0.04 is not "0"
                yield Point(series, r["params"], r["val_loss"])
            sweeps[flops] = results
            fit = fit_parabola(sorted((r["params"], r["val_loss"]) for r in results))
            if fit and "n_opt" in fit:
                from studio.core.experiments.history import optimum_line
                d_opt = flops / (6 * fit["n_opt"])
                yield Text(f"compute-optimal at C = {flops:.2g}",
                           optimum_line({"params": fit["n_opt"], "tokens": d_opt, "tokens_per_param": d_opt / fit["n_opt"]},
                                        PAPER_TOKENS_PER_PARAM))
    yield _finish(folder, s, sweeps, data.label)


def _budgets(s: Settings) -> list[tuple[float, str, str]]:
    """(C, progress-key suffix, curve name): the main budget first (its keys as with one budget)."""
    out = [(s.flops, "", "held-out loss")]
    if s.second_budget > 0:
        c = s.flops * s.second_budget
        out.append((c, f"@{c:.3g}", "held-out loss at the smaller budget"))
    return out


def _budget_summary(flops: float, results: list) -> dict:
    """One IsoFLOP curve: its points, fit, optimum and whether the best size is inside the sweep."""
    curve = sorted((r["params"], r["val_loss"]) for r in results)
    fit = fit_parabola(curve)
    best = min(curve, key=lambda p: p[1])
    out = {"flops": flops, "curve": [list(p) for p in curve], "fit": fit,
           "interior_optimum": curve[0][1] > best[1] < curve[-1][1], "best_params": best[0]}
    if fit and "n_opt" in fit:
        d_opt = flops / (6 * fit["n_opt"])
        out["optimum"] = {"params": fit["n_opt"], "tokens": d_opt, "tokens_per_param": d_opt / fit["n_opt"]}
    return out


def _finish(folder: Folder, s: Settings, sweeps: dict, data_label: str):
    results = sweeps[s.flops]
    budgets = [_budget_summary(c, rs) for c, rs in sorted(sweeps.items())]
    second = [b for b in budgets if b["flops"] != s.flops]
    moves = {}
    if second and all("optimum" in b for b in budgets):
        small, large = budgets[0]["optimum"]["params"], budgets[-1]["optimum"]["params"]
        moves = {"n_opt_small_budget": small, "n_opt_large_budget": large, "ratio": large / small,
                 "compute_ratio": budgets[-1]["flops"] / budgets[0]["flops"], "moves_up": large > small}
    curve = sorted((r["params"], r["val_loss"]) for r in results)
    fit = fit_parabola(curve)
    best = min(results, key=lambda r: r["val_loss"])
    interior = curve[0][1] > best["val_loss"] < curve[-1][1]
    optimum = {}
    if fit and "n_opt" in fit:
        n_opt = fit["n_opt"]
        d_opt = s.flops / (6 * n_opt)
        optimum = {"params": n_opt, "tokens": d_opt, "tokens_per_param": d_opt / n_opt,
                   "inside_sweep": curve[0][0] <= n_opt <= curve[-1][0]}
    smallest, largest = curve[0], curve[-1]
    return folder.finish(
        "held-out loss (nats per token) at one FLOP budget: the best size vs the largest", False,
        before=largest[1], after=best["val_loss"], curve=curve,
        flops_budget=s.flops, models=results, fit=fit, optimum=optimum, interior_optimum=interior,
        best_measured={"params": best["params"], "tokens": best["tokens"],
                       "tokens_per_param": best["tokens"] / best["params"], "val_loss": best["val_loss"]},
        smallest={"params": smallest[0], "val_loss": smallest[1]},
        paper_tokens_per_param=PAPER_TOKENS_PER_PARAM, data=data_label,
        fit_curve=_fit_curve(fit, curve) if fit else [], budgets=budgets, optimum_moves=moves,
        second_budget_curve=second[0]["curve"] if second else [],
    )


def _fit_curve(fit: dict, curve: list) -> list:
    lo, hi = math.log(curve[0][0]), math.log(curve[-1][0])
    xs = [lo + (hi - lo) * i / 24 for i in range(25)]
    return [[math.exp(x), fit["a"] * x * x + fit["b"] * x + fit["c"]] for x in xs]
