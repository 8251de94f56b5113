"""``archstudio export`` and ``archstudio import-llama2c`` (llama2.c's model.bin + tokenizer.bin)."""
from __future__ import annotations

import sys

from studio.core import errors as E


def cmd_export(args) -> int:
    from studio.core.formats.llama2c.check import check_llama2c
    from studio.core.formats.llama2c.runio import export_run
    from studio.core.runs.rundir import RunDir

    if args.format == "hf":
        return _export_hf(args)
    if args.format == "gguf":
        return _export_gguf(args)
    if args.format != "llama2c":
        raise E.StudioError(f"unknown export format {args.format!r}; this version writes llama2c, hf and gguf")
    run = RunDir(args.run_dir)
    issues = check_llama2c(run.architecture(), run.scale(), run.tokenizer())
    if issues:  # every reason at once, so one edit pass can fix them all
        print(f"archstudio export: {args.run_dir} cannot run in llama2.c ({len(issues)} "
              f"reason{'s' if len(issues) > 1 else ''}):", file=sys.stderr)
        for i in issues:
            print(f"  {i}", file=sys.stderr)
        return 2
    r = export_run(args.run_dir, args.out, quantize=args.quantize, group_size=getattr(args, "group_size", None),
                   prompt=getattr(args, "prompt", "Once upon a time"),
                   max_new_tokens=getattr(args, "max_new_tokens", 200))
    what = f"v2 Q8_0, group size {r.group_size}, max |error| {r.max_quant_error:.2g}" if r.version == 2 else "v0 fp32"
    print(f"wrote {r.model_path} ({what}, {r.bytes:,} bytes) and {r.tokenizer_path}")
    for n in r.notes:
        print(f"note: {n}")
    print(r.command)
    print(f"(-n {r.steps} counts the positions run feeds: BOS, the prompt's {len(r.prompt_tokens) - 1} tokens and all "
          f"but the last of its {r.new_tokens} new tokens; the same text as: archstudio generate {_q(str(args.run_dir))} "
          f"--prompt {_q(getattr(args, 'prompt', 'Once upon a time'))} --temperature 0 --max-new-tokens {r.new_tokens})")
    return 0


def _export_hf(args) -> int:
    from studio.core.formats.hf.export import export_hf
    r = export_hf(args.run_dir, args.out)
    print(f"wrote {r.out} ({r.architecture}, {r.n_params:,} parameters in {r.n_tensors} tensors; "
          f"{', '.join(p.name for p in r.files)})")
    for n in r.notes:
        print(f"note: {n}")
    print("try: python -c \"from transformers import AutoModelForCausalLM, AutoTokenizer; "
          f"m = AutoModelForCausalLM.from_pretrained({str(r.out)!r}); t = AutoTokenizer.from_pretrained({str(r.out)!r}); "
          "print(t.decode(m.generate(**t('Once upon a time', return_tensors='pt'), max_new_tokens=40, "
          "do_sample=False)[0]))\"")
    return 0


def _export_gguf(args) -> int:
    from studio.core.formats.gguf.export import export_gguf
    r = export_gguf(args.run_dir, args.out)
    print(f"wrote {r.path} (GGUF, arch {r.arch}, {r.n_params:,} parameters in {r.n_tensors} tensors, "
          f"{r.bytes:,} bytes)")
    for n in r.notes:
        print(f"note: {n}")
    flags = "".join(f" {f}" for f in r.flags)  # YaRN's β values, which llama.cpp does not read from the file
    print(f"try: llama-cli -m {_q(str(r.path))} -p 'Once upon a time' -n 40 --temp 0{flags}")
    return 0


def _q(s: str) -> str:
    import shlex
    return shlex.quote(s)


def cmd_import(args) -> int:
    from studio.core.formats.llama2c.runio import import_llama2c
    from studio.core.runs.rundir import RunDir

    out, warnings = import_llama2c(args.model_bin, args.tokenizer, args.out)
    for w in warnings:
        print(f"warning: {w}", file=sys.stderr)
    arch = RunDir(out).architecture()
    d = arch.dims("classroom")
    tied = arch.graph.node("output").config.get("tie_to") == "tok_embeddings"
    print(f"imported {args.model_bin}: dim {d['dim']}, hidden {d['hidden_dim']}, {d['n_layers']} layers, "
          f"{d['n_heads']} heads ({d['n_kv_heads']} kv), vocab {d['vocab_size']}, seq_len {d['context']}, "
          f"{'tied' if tied else 'untied'} classifier → {out}")
    print(f"try: archstudio generate {_q(str(out))} --prompt 'Once upon a time' --temperature 0")
    return 0
