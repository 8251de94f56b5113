"""Can a run leave as a Hugging Face checkpoint or a GGUF file? Every reason it cannot, fast:
no weights are read and no optional package is imported (the export dialog checks as you type)."""
from __future__ import annotations

FORMATS = {"hf": "Hugging Face transformers", "gguf": "llama.cpp (GGUF)"}


def export_problems(run_dir, fmt: str) -> tuple[str, list[str]]:
    """(what the run would be written as, e.g. "LlamaForCausalLM", or "", [every problem])."""
    from studio.core import errors as E
    from studio.core.formats.decoder import plan_decoder
    from studio.core.formats.hf.config import ARCHITECTURES
    from studio.core.formats.hf.tokenizer import check_tokenizer
    from studio.core.runs.rundir import RunDir
    run = RunDir(run_dir)
    try:
        arch, scale, tok = run.architecture(), run.scale(), run.tokenizer()
    except E.StudioError as exc:
        return "", [str(exc)]
    plan, issues = plan_decoder(arch, scale, FORMATS[fmt])
    problems = [str(i) for i in issues]
    why = check_tokenizer(tok)
    if why:
        problems.append(f"tokenizer: {why}")
    else:
        from studio.core.formats.hf.tokenizer import exportable_tokenizer
        try:
            exportable_tokenizer(tok)  # an imported tokenizer.bin must convert (fast: a few hundred pieces)
        except E.StudioError as exc:
            problems.append(str(exc))
    if plan is not None and fmt == "gguf":
        from studio.core.formats.gguf.arches import gguf_problems
        problems += gguf_problems(plan)
    if not run.has_checkpoint():
        problems.append(f"{run.path}: no checkpoint yet; train the run first")
    if problems or plan is None:
        return "", problems
    if fmt == "hf":
        return ARCHITECTURES[plan.family], []
    from studio.core.formats.gguf.arches import layout_for
    return f"GGUF arch {layout_for(plan).arch} ({plan.family})", []
