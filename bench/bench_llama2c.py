"""llama2.c export/import speed on a stories15M-shaped model (dim 288, 6 layers, 6 heads, hidden 768,
vocab 32000, seq_len 256, tied: 15.2M parameters, a 60.8 MB model.bin).

    python bench/bench_llama2c.py

The run folder is built here with random weights (the export path does not care what they are);
the tokenizer is the Llama 2 32k tokenizer.bin from ../shared/data when present, otherwise a
synthetic 32000-piece vocabulary in the same layout.
"""
from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def tokenizer():
    from studio.core.tokenizers.llama2c_bin import Llama2cTokenizer
    real = ROOT.parent / "shared" / "data" / "llama2c" / "tokenizer.bin"
    if real.is_file():
        return Llama2cTokenizer.from_file(real), "Llama 2 32k tokenizer.bin"
    pieces = [b"<unk>", b"\n<s>\n", b"\n</s>\n"] + [f"<0x{i:02X}>".encode() for i in range(256)] + [b" "]
    pieces += [f"p{i}".encode() for i in range(32000 - len(pieces))]
    return Llama2cTokenizer(pieces, [0.0] * len(pieces)), "synthetic 32k vocabulary"


def median_time(fn, n=5):
    ts = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def main():
    import torch

    from studio.core.model.compiler import compile_architecture
    from studio.core.formats.llama2c import read_model
    from studio.core.formats.llama2c.runio import export_run, import_llama2c
    from studio.core.files.presets import load_preset
    from studio.core.runs.rundir import RunDir
    arch = load_preset("2023-07-llama-2")
    arch.scales["classroom"] = {"dim": 288, "n_layers": 6, "n_heads": 6, "n_kv_heads": 6, "hidden_dim": 768,
                                "vocab_size": 32000, "context": 256}
    arch.graph.set_config("output", "tie_to", "tok_embeddings")
    tok, tok_what = tokenizer()
    tmp = Path(tempfile.mkdtemp())
    run = RunDir(tmp / "run")
    run.initialize(arch, "2023-07-llama-2", tok)
    model = compile_architecture(arch)
    n_params = sum(p.numel() for p in model.parameters())
    run.save_checkpoint({"model": model.state_dict()}, step=0)
    v0 = median_time(lambda: export_run(run.path, tmp / "v0"))
    v2 = median_time(lambda: export_run(run.path, tmp / "v2", quantize="q8_0"))
    size = (tmp / "v0" / "model.bin").stat().st_size
    rd = median_time(lambda: read_model(tmp / "v0" / "model.bin"))
    k = iter(range(100))
    imp = median_time(lambda: import_llama2c(tmp / "v0" / "model.bin", tmp / "v0" / "tokenizer.bin", tmp / f"imp{next(k)}"), 3)
    print(f"model: {n_params / 1e6:.1f}M parameters, model.bin {size:,} bytes; tokenizer: {tok_what}; "
          f"torch threads {torch.get_num_threads()}")
    print("| what | measured | target |")
    print("|---|---|---|")
    print(f"| export v0 fp32 (checkpoint load, check, write model.bin + tokenizer.bin), median of 5 | {v0 * 1000:.0f} ms | < 1 s |")
    print(f"| export v2 Q8_0 (group size 32), median of 5 | {v2 * 1000:.0f} ms | — |")
    print(f"| read + validate the v0 model.bin, median of 5 | {rd * 1000:.0f} ms | — |")
    print(f"| import-llama2c into a new RUN_DIR, median of 3 | {imp * 1000:.0f} ms | — |")


if __name__ == "__main__":
    main()
