"""RUN_DIR → a Hugging Face checkpoint folder: model.safetensors, config.json, tokenizer files.

Everything is built and checked in a scratch folder first — transformers loads it back and
must find every tensor it expects and no other (a misnamed key would otherwise load as random
weights, silently) — and only then written into the output folder, all files or none.
"""
from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from studio.core import errors as E
from studio.core.formats.decoder import plan_decoder
from studio.core.formats.hf.config import ARCHITECTURES, hf_config, rope_scaling_notes
from studio.core.formats.hf.tensors import hf_tensors
from studio.core.formats.hf.tokenizer import check_tokenizer, tokenizer_files
from studio.core.formats.optional import require

TARGET = "Hugging Face transformers"


@dataclass
class HfExport:
    out: Path
    architecture: str  # e.g. LlamaForCausalLM
    files: list[Path]
    n_tensors: int
    n_params: int
    notes: list[str] = field(default_factory=list)


def load_run_for_export(run_dir, target: str):
    """(run, state dict, DecoderPlan, tokenizer) of a run, or a StudioError naming every problem."""
    from studio.core.formats.llama2c.runio import _state_dict
    from studio.core.runs.rundir import RunDir
    run = RunDir(run_dir)
    arch, scale, tok = run.architecture(), run.scale(), run.tokenizer()
    plan, issues = plan_decoder(arch, scale, target)
    problem = check_tokenizer(tok)
    if problem:
        from studio.core.model.validate import Issue
        issues = issues + [Issue("tokenizer", problem)]
    if plan and tok.vocab_size != plan.vocab_size:
        from studio.core.model.validate import Issue
        issues = issues + [Issue("tokenizer", f"{tok.vocab_size} tokens but the model's vocab_size is "
                                              f"{plan.vocab_size}")]
    if issues:
        raise E.StudioError(f"{run_dir} cannot be written for {target}: " + "; ".join(map(str, issues)))
    from studio.core.formats.hf.tokenizer import exportable_tokenizer
    tok = exportable_tokenizer(tok)  # an imported tokenizer.bin becomes SentencePiece here
    return run, _state_dict(run.load_checkpoint()), plan, tok


def export_hf(run_dir, out_dir) -> HfExport:
    _, sd, plan, tok = load_run_for_export(run_dir, TARGET)
    transformers, safetensors_torch = require("Hugging Face export", "transformers", "safetensors.torch")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise E.StudioError(f"{out}: is a file; --out needs a folder for the checkpoint files")
    tensors = hf_tensors(sd, plan)
    kwargs = hf_config(plan, tok.bos_id, tok.eos_id)
    config = transformers.AutoConfig.for_model(**kwargs)
    with tempfile.TemporaryDirectory(prefix="archstudio-hf-") as tmp:
        work = Path(tmp)
        stage = work / "checkpoint"
        stage.mkdir()
        config.save_pretrained(str(stage))
        safetensors_torch.save_file(tensors, str(stage / "model.safetensors"), metadata={"format": "pt"})
        for name, data in tokenizer_files(tok, work).items():
            (stage / name).write_bytes(data)
        _check_loads(transformers, stage, plan.family)
        files = {out / p.name: p.read_bytes() for p in sorted(stage.iterdir()) if p.is_file()}
    from studio.core.files.yamlio import atomic_write_files
    try:
        atomic_write_files(files)
    except OSError as exc:
        raise E.StudioError(f"{out}: cannot write the export ({exc.strerror or exc})") from None
    return HfExport(out, ARCHITECTURES[plan.family], sorted(files), len(tensors),
                    sum(t.numel() for t in tensors.values()), list(plan.notes) + rope_scaling_notes(plan))


def _check_loads(transformers, folder: Path, family: str) -> None:
    """transformers must load every tensor under its own name: nothing missing, unexpected or
    of the wrong shape (buffers it computes itself, like RoPE tables, are not in the file)."""
    from transformers.utils import logging as hf_logging
    hf_logging.disable_progress_bar()  # the core never prints; the CLI reports what was written
    hf_logging.set_verbosity_error()
    model, info = transformers.AutoModelForCausalLM.from_pretrained(str(folder), output_loading_info=True,
                                                                    dtype="float32")
    bad = {k: v for k, v in info.items() if k in ("missing_keys", "unexpected_keys", "mismatched_keys") and v}
    if bad:  # a bug in this exporter, not in the user's model: say exactly what did not match
        raise E.StudioError(f"internal check failed: transformers loaded the {family} export with "
                            + json.dumps({k: sorted(map(str, v))[:5] for k, v in bad.items()}))
    del model
