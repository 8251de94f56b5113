"""GGUF export checked by llama.cpp (xllamacpp CPU wheel), per run the export tests build: every
exportable classroom preset after 4 AdamW steps and the three Qwen config.json runs
(tests/data/hf_configs) after 3, BPE 512 vocabulary.

    OMP_NUM_THREADS=1 python bench/bench_export_gguf.py

For each: the GGUF arch, the tokens compared (the prompt's ids, then the greedy continuation, id
by id), whether llama.cpp's greedy ids equal this app's, and the largest |log-prob difference| over
llama.cpp's 5 most likely tokens at every generated position (llama.cpp's server returns
log-probabilities, not raw logits: a shift common to a position's logits cancels)."""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "core")]
N_NEW, TOP = 12, 5


def compare(run, out: Path) -> tuple:
    from export_runs import PROMPT
    from llama_cpp_client import compare_greedy

    from studio.core.formats.gguf.export import export_gguf
    t = time.perf_counter()
    res = export_gguf(run, out)
    seconds = time.perf_counter() - t
    c = compare_greedy(run, res.path, PROMPT, N_NEW, TOP)
    return res.arch, len(c.prompt), len(c.mine), c.theirs == c.mine, c.max_logprob_diff, seconds


def main() -> None:
    import torch
    torch.set_num_threads(1)
    from export_runs import GGUF_PRESETS, QWEN_CONFIGS, config_run, trained_run
    print(f"load before: {open('/proc/loadavg').read().split()[:3]}")
    print("| run | GGUF arch | prompt ids | new ids compared | greedy ids equal | max abs dlogprob (top-5) | export s |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        runs = [(p, trained_run) for p in GGUF_PRESETS] + [(c, config_run) for c in QWEN_CONFIGS]
        for name, make in runs:
            arch, n_prompt, n_new, equal, diff, s = compare(make(name, root), root / f"{name}.gguf")
            print(f"| {name} | {arch} | {n_prompt} | {n_new} | {'yes' if equal else 'NO'} | {diff:.1e} | {s:.2f} |",
                  flush=True)
    print(f"load after: {open('/proc/loadavg').read().split()[:3]}")


if __name__ == "__main__":
    main()
