"""Export to Hugging Face or GGUF as a job: the export dialog runs it on the worker thread
(importing transformers and loading the checkpoint back takes seconds; the window stays live)."""
from __future__ import annotations

import dataclasses
from collections.abc import Iterator

from studio.core.jobs.control import JobControl


@dataclasses.dataclass(frozen=True)
class ExportStarted:
    what: str  # "Hugging Face transformers" | "llama.cpp (GGUF)"


@dataclasses.dataclass(frozen=True)
class ExportWritten:
    out: str  # the folder (hf) or the .gguf file
    lines: tuple  # what was written, notes, the command to try


def export_job(run_dir, out, fmt: str, control: JobControl) -> Iterator[object]:
    from studio.core.formats.outside import FORMATS
    yield ExportStarted(FORMATS[fmt])
    if fmt == "hf":
        from studio.core.formats.hf.export import export_hf
        r = export_hf(run_dir, out)
        lines = [(f"Wrote {r.out}: {r.architecture}, {r.n_params:,} parameters in {r.n_tensors} tensors "
                 f"({', '.join(p.name for p in r.files)})."),
                 f"Try: AutoModelForCausalLM.from_pretrained({str(r.out)!r}) and AutoTokenizer.from_pretrained(…)"]
        where = r.out
    else:
        from studio.core.formats.gguf.export import export_gguf
        r = export_gguf(run_dir, out)
        lines = [(f"Wrote {r.path}: GGUF arch {r.arch}, {r.n_params:,} parameters in {r.n_tensors} tensors, "
                 f"{r.bytes:,} bytes."), f"Try: llama-cli -m {r.path} -p 'Once upon a time' -n 40 --temp 0"]
        where = r.path
    yield ExportWritten(str(where), tuple(lines + [f"Note: {n}" for n in r.notes]))
