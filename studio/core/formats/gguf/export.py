"""RUN_DIR → one GGUF file for llama.cpp (and Ollama, LM Studio): the run's plan picks the
llama.cpp architecture (arches.py: ``llama`` for the LLaMA family and Mixtral-style MoE,
``qwen2``/``qwen3``/``qwen3moe`` for the Qwen classes, ``deepseek2`` for MLA + shared experts),
its layout names the tensors, and one writer writes metadata, vocabulary and tensors."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from studio.core import errors as E
from studio.core.formats.gguf.arches import gguf_problems, layout_for
from studio.core.formats.gguf.rope import (llama_cpp_flags, rope_freqs_tensor, rope_notes, rope_problems,
                                           rope_scaling_hparams)
from studio.core.formats.gguf.tensors import gguf_tensors
from studio.core.formats.gguf.writer import write_gguf
from studio.core.formats.optional import require

TARGET = "llama.cpp (GGUF)"


@dataclass
class GgufExport:
    path: Path
    arch: str
    n_tensors: int
    n_params: int
    bytes: int
    notes: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)  # what llama.cpp must be run with (YaRN's β values)


def gguf_path(out) -> Path:
    """--out names the file (…/name.gguf) or a folder that gets model.gguf."""
    out = Path(out)
    return out if out.suffix == ".gguf" else out / "model.gguf"


def export_gguf(run_dir, out) -> GgufExport:
    from studio.core.formats.hf.export import load_run_for_export
    _, sd, plan, tok = load_run_for_export(run_dir, TARGET)
    problems = gguf_problems(plan) + rope_problems(plan, layout_for(plan).arch)
    if problems:
        raise E.StudioError(f"{run_dir} cannot be written for {TARGET}: " + "; ".join(problems))
    gguf, np, _ = require("GGUF export", "gguf", "numpy", "google.protobuf")
    path = gguf_path(out)
    if path.parent.exists() and not path.parent.is_dir():
        raise E.StudioError(f"{path.parent}: is a file; --out needs a folder or a .gguf file name")
    layout = layout_for(plan)
    tensors = {**gguf_tensors(sd, plan, layout.attention, layout.selection_bias), **rope_freqs_tensor(plan)}
    hparams = {**layout.hparams(plan, gguf), **rope_scaling_hparams(plan, gguf)}
    notes = write_gguf(path, layout.arch, Path(run_dir).name, hparams, tok, tensors, gguf, np)
    return GgufExport(path, layout.arch, len(tensors), sum(t.numel() for t in tensors.values()),
                      path.stat().st_size, list(plan.notes) + rope_notes(plan) + notes, llama_cpp_flags(plan))
