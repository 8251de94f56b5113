"""RoPE frequency scaling exported, checked by transformers and llama.cpp (xllamacpp CPU wheel), per run
tests/core/test_export_rope_scaling.py builds: a classroom preset with the scaling on at an original
context short enough to change the prompt's logits, 4 AdamW steps, BPE 512.

    OMP_NUM_THREADS=1 python bench/bench_export_rope.py

For each: transformers' largest |logit difference| from this app's (fp32) and whether its greedy 12 ids
equal this app's; llama.cpp's greedy ids and largest |log-prob difference| over its top-5 tokens at each
position; and the negative controls: the same checkpoint read without the scaling (transformers:
rope_type default; llama.cpp: no rope_freqs / rope.scaling.*)."""
from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "core")]
N_NEW, TOP = 12, 5
FLAGS = {"kimi-k2+yarn": {"yarn_beta_fast": 1.0, "yarn_beta_slow": 1.0}}  # the export's note: llama.cpp's β flags


def hf_side(run, folder: Path, x, model, rope_parameters=None) -> tuple:
    import torch
    import transformers
    if rope_parameters is not None:
        cfg = json.loads((folder / "config.json").read_text())
        (folder / "config.json").write_text(json.dumps({**cfg, "rope_parameters": rope_parameters}))
    hf = transformers.AutoModelForCausalLM.from_pretrained(str(folder), dtype=torch.float32)
    with torch.no_grad():
        diff = (hf(x).logits - model(x)[0]).abs().max().item()
        theirs = hf.generate(x, max_new_tokens=N_NEW, do_sample=False)[0, x.shape[1]:].tolist()
        mine = model.generate(x, N_NEW, temperature=0)[0, x.shape[1]:].tolist()
    return diff, theirs == mine


def row(name: str, root: Path) -> str:
    import torch
    from export_runs import PROMPT, scaled_run
    from llama_cpp_client import compare_greedy

    from studio.core.formats.gguf import export as gguf_export
    from studio.core.formats.hf.export import export_hf
    from studio.core.runs.rundir import RunDir
    run = scaled_run(name, root)
    model, tok = RunDir(run).build_model().eval(), RunDir(run).tokenizer()
    x = torch.tensor([tok.encode(PROMPT)])
    export_hf(run, root / f"{name}-hf")
    params = json.loads((root / f"{name}-hf" / "config.json").read_text())["rope_parameters"]
    hf_diff, hf_equal = hf_side(run, root / f"{name}-hf", x, model)
    hf_neg, _ = hf_side(run, root / f"{name}-hf", x, model, {"rope_type": "default", "rope_theta": params["rope_theta"]})
    res = gguf_export.export_gguf(run, root / f"{name}.gguf")
    c = compare_greedy(run, res.path, PROMPT, N_NEW, TOP, FLAGS.get(name))
    scaled_fns = gguf_export.rope_freqs_tensor, gguf_export.rope_scaling_hparams
    gguf_export.rope_freqs_tensor, gguf_export.rope_scaling_hparams = (lambda plan: {}), (lambda plan, g: {})
    try:
        bare = gguf_export.export_gguf(run, root / f"{name}-unscaled.gguf")
        neg = compare_greedy(run, bare.path, PROMPT, N_NEW, TOP, FLAGS.get(name))
    finally:
        gguf_export.rope_freqs_tensor, gguf_export.rope_scaling_hparams = scaled_fns
    extra = ""
    if name in FLAGS:
        extra = f"; without the β flags {compare_greedy(run, res.path, PROMPT, N_NEW, TOP).max_logprob_diff:.1e}"
        kimi = {k: v for k, v in params.items() if k not in ("attention_factor", "mscale_all_dim")}
        temp, _ = hf_side(run, root / f"{name}-hf", x, model, {**kimi, "mscale": 1.0, "mscale_all_dim": 1.0})
        extra += f"; HF with Kimi's mscale_all_dim 1: {temp:.1e}"
    return (f"| {name} | {params['rope_type']} ×{params['factor']:g} from {params['original_max_position_embeddings']}"
            f" | {hf_diff:.1e} | {'yes' if hf_equal else 'NO'} | {hf_neg:.1e} | {res.arch} | "
            f"{'yes' if c.theirs == c.mine else 'NO'} ({len(c.mine)}) | {c.max_logprob_diff:.1e} | "
            f"{neg.max_logprob_diff:.1e}{'' if neg.theirs == neg.mine else ', ids differ'}{extra} |")


def main() -> None:
    import torch
    torch.set_num_threads(1)
    from export_runs import SCALED_ROPE
    print(f"load before: {open('/proc/loadavg').read().split()[:3]}")
    print("| run | scaling | HF max dlogit | HF greedy equal | HF without scaling | GGUF arch | llama.cpp greedy "
          "equal (ids) | max dlogprob (top-5) | llama.cpp without scaling |")
    print("|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for name in SCALED_ROPE:
            print(row(name, Path(tmp)), flush=True)
    print(f"load after: {open('/proc/loadavg').read().split()[:3]}")


if __name__ == "__main__":
    main()
