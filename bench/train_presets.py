"""Every preset's classroom model trains: 100 steps of 1,024 tokens (the issue allows ≤ 2,048) on the 2,316-story TinyStories
file, held-out loss before and after (issue 3). Not part of the test suite: it takes minutes.

    python bench/train_presets.py [--data PATH] [--steps 100] [--only ID ...] [--append]

Prints one markdown row per preset; --append adds the table to bench/RESULTS.md.
"""
from __future__ import annotations

import argparse
import math
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "tinystories" / "train-2316-stories.txt"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(DEFAULT_DATA))
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--context", type=int, default=256)  # 4 × 256 = 1,024 tokens per step (≤ 2,048)
    ap.add_argument("--only", nargs="*")
    ap.add_argument("--threads", type=int, default=1)  # 2 threads on a busy 2-core machine ran 10× slower
    ap.add_argument("--append", action="store_true")
    args = ap.parse_args(argv)

    import torch

    from studio.core.model.accounting import account
    from studio.core.data import load_corpus, make_tokenizer, tokenize_corpus
    from studio.core.files.presets import load_preset, preset_ids
    from studio.core.training import TrainConfig, train_steps
    from studio.core.training.events import EvalMetrics, Finished
    from studio.core.training.setup import build_model, choose_tokenizer, classroom_arch, model_vocab
    from studio.core.training.trainer import eval_batcher, evaluate, is_encoder_decoder

    torch.set_num_threads(args.threads)
    corpus = load_corpus(args.data)
    cache = Path(tempfile.mkdtemp(prefix="bench-presets-"))
    toks: dict = {}
    rows = []
    header = ("| preset | tokenizer | params | held-out loss: step 0 → 25 → 50 → 100 | fell | s |\n"
              "|---|---|---|---|---|---|")
    print(header, flush=True)
    t_all = time.perf_counter()
    for pid in args.only or preset_ids():
        t0 = time.perf_counter()
        arch = load_preset(pid)
        kind, vocab = choose_tokenizer(arch, None, None)
        if (kind, vocab) not in toks:
            tok = make_tokenizer(kind, corpus, vocab, cache=cache)
            toks[(kind, vocab)] = (tok, tokenize_corpus(corpus, tok, cache))
        tok, data = toks[(kind, vocab)]
        a = classroom_arch(arch, model_vocab(tok, None))
        model = build_model(a, seed=1337)
        cfg = TrainConfig(steps=args.steps, batch_size=args.batch, context=args.context, eval_interval=args.steps // 4,
                          eval_batches=4, sample_interval=0, checkpoint_interval=0, threads=args.threads)
        T = min(cfg.context, model.context)
        # The same held-out batches the trainer evaluates on, before any step.
        losses = [evaluate(model, eval_batcher(data.val, T, is_encoder_decoder(model), torch.device("cpu")),
                           cfg.eval_batches, cfg.batch_size)]
        for ev in train_steps(model, data, cfg):
            if isinstance(ev, EvalMetrics) and ev.step in (args.steps // 4, args.steps // 2, args.steps):
                losses.append(ev.val_loss)
            if isinstance(ev, Finished):
                break
        fell = losses[-1] < losses[0] and all(math.isfinite(x) for x in losses)
        n = account(a, "classroom").params_total
        row = (f"| {pid} | {kind} {tok.vocab_size} | {n / 1e6:.2f}M | {' → '.join(f'{x:.2f}' for x in losses)} "
               f"| {'yes' if fell else 'NO'} | {time.perf_counter() - t0:.0f} |")
        print(row, flush=True)
        rows.append(row)
    total = time.perf_counter() - t_all
    shutil.rmtree(cache, ignore_errors=True)  # tokenizers and token arrays of this run only
    print(f"\n{len(rows)} presets in {total / 60:.1f} min")
    if args.append:
        with open(ROOT / "bench" / "RESULTS.md", "a", encoding="utf-8") as f:
            f.write(f"\n## Presets train (issue 3) — `python bench/train_presets.py`\n\n"
                    f"{args.steps} steps × {args.batch}×{args.context} tokens on {Path(args.data).name}, "
                    f"{args.threads} threads, seed 1337; held-out loss on the trainer's validation split "
                    f"(4 batches). {len(rows)} presets in {total / 60:.1f} min.\n\n{header}\n" + "\n".join(rows) + "\n")
    return 0 if all("| yes |" in r for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
