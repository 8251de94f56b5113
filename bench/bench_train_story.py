"""The teacher's promise: pick a milestone, press Train, and within a minute the loss falls and
the model starts writing little stories. Trains a preset's classroom scale on the shared
TinyStories sample (../shared/data, 2,316 stories) for a wall-clock budget on N CPU threads,
with the preset's default tokenizer, and prints the held-out loss over time and sample text.

    python bench/bench_train_story.py [--model 2023-07-llama-2] [--seconds 60] [--threads 2]

The schedule is sized to the budget: a few calibration steps measure the step time first.
"""
from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data" / "tinystories" / "train-2316-stories.txt"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="2023-07-llama-2")
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--context", type=int, default=128)
    ap.add_argument("--lr", type=float, default=None)
    ap.add_argument("--eval-every", type=int, default=None)
    a = ap.parse_args()
    if not DATA.is_file():
        print(f"needs {DATA}")
        return 2
    import torch

    from studio.core.data import load_corpus, make_tokenizer, tokenize_corpus
    from studio.core.files.model_spec import load_model
    from studio.core.training import EvalMetrics, Finished, StepMetrics, TrainConfig, sample_text, train_steps
    from studio.core.training import setup as S
    torch.set_num_threads(a.threads)
    t_setup = time.perf_counter()
    arch = load_model(a.model)
    corpus = load_corpus(str(DATA))
    kind, vocab = S.choose_tokenizer(arch, None, None)
    tok = make_tokenizer(kind, corpus, vocab)
    data = tokenize_corpus(corpus, tok)
    arch = S.classroom_arch(arch, tok.vocab_size, a.context)
    model = S.build_model(arch, 1337)
    setup_s = time.perf_counter() - t_setup
    n = sum(p.numel() for p in {id(p): p for p in model.parameters()}.values())
    # calibrate the step time on a throw-away copy, then size the schedule to the budget
    probe = S.build_model(arch, 1337)
    cal = TrainConfig(steps=8, batch_size=a.batch, context=a.context, threads=a.threads, eval_interval=10**9,
                      sample_interval=0)
    dts = [ev.elapsed_s for ev in train_steps(probe, data, cal) if isinstance(ev, StepMetrics)]
    step_s = sorted(b - a_ for a_, b in zip(dts, dts[1:]))[3]  # median step, the first (warm-up) left out
    steps = max(20, int(a.seconds * 0.9 / step_s))  # 10 % of the budget for evals
    eval_every = a.eval_every or max(10, steps // 8)
    cfg = TrainConfig(steps=steps, batch_size=a.batch, context=a.context, threads=a.threads, lr=a.lr or TrainConfig.lr,
                      eval_interval=eval_every, eval_batches=4, sample_interval=0)
    print(f"{a.model} classroom: {n:,} parameters, {kind} vocabulary {tok.vocab_size}, {len(data.train):,} training "
          f"tokens; setup {setup_s:.1f} s; {a.threads} threads; batch {a.batch} x {a.context}; "
          f"{steps} steps planned for {a.seconds:.0f} s ({step_s * 1000:.0f} ms/step)")
    t0 = time.perf_counter()
    deadline = t0 + a.seconds
    rows = []
    g = torch.Generator().manual_seed(0)
    print(f"untrained sample: {sample_text(model, tok, 48, g, torch.device('cpu'), temperature=0.8)!r}")
    for ev in train_steps(model, data, cfg, should_stop=lambda: time.perf_counter() > deadline):
        if isinstance(ev, EvalMetrics):
            rows.append((time.perf_counter() - t0, ev.step, ev.train_loss, ev.val_loss, ev.val_bpb))
            print(f"  t={rows[-1][0]:5.1f} s step {ev.step:4d}: train {ev.train_loss:.3f}  val {ev.val_loss:.3f}  "
                  f"({ev.val_bpb:.3f} bits/byte)", flush=True)
        elif isinstance(ev, Finished):
            fin = ev
        elif isinstance(ev, StepMetrics) and ev.step == 1:
            first = ev.loss
    print(f"initial loss {first:.3f} (ln V = {math.log(tok.vocab_size):.3f}); after {time.perf_counter() - t0:.0f} s, "
          f"{fin.step} steps, {fin.tokens:,} tokens: val loss {fin.val_loss:.3f}, {fin.val_bpb:.3f} bits/byte, "
          f"{fin.tokens_per_s:,.0f} tokens/s")
    for prompt in ("Once upon a time", "Lily and Tom"):
        g = torch.Generator().manual_seed(0)
        print(f"sample ({prompt!r}, T=0.8): {sample_text(model, tok, 80, g, torch.device('cpu'), prompt, 0.8)!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
