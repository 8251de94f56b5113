"""RUN_DIR ⇄ llama2.c files: export a trained run, import a foreign model.bin + tokenizer.bin.

Both directions validate everything first and write only at the end (export: two atomic file
writes; import: a complete folder built beside the target and renamed into place), so a bad
input leaves nothing half-written.
"""
from __future__ import annotations

import hashlib
import os
import shlex
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from studio.core import errors as E
from studio.core.formats.llama2c.check import match_llama2c
from studio.core.formats.llama2c.format import Header, encode_model, tensors_from_state_dict
from studio.core.formats.llama2c.reader import read_model, read_model_file

FREQ_KEY = "llama2c_freq_cis"  # checkpoint entry: an imported v0 file's RoPE table bytes (uint8, 2 × n)
BASE_PRESET = "2023-07-llama-2"


@dataclass
class ExportResult:
    model_path: Path
    tokenizer_path: Path
    version: int
    bytes: int
    group_size: int
    max_quant_error: float
    command: str  # the run / runq command line
    steps: int  # its -n: positions including BOS and the prompt
    new_tokens: int  # what -n leaves for sampling: archstudio generate's --max-new-tokens for the same text
    prompt_tokens: list[int]  # run.c's encoding of the prompt (BOS first)
    notes: list[str] = field(default_factory=list)


def tokenizer_bin_bytes(tok) -> bytes:
    from studio.core.tokenizers import llama2c_tokenizer_bytes
    return tok.to_bytes() if hasattr(tok, "to_bytes") else llama2c_tokenizer_bytes(tok)


def _state_dict(ck: dict) -> dict:
    sd = ck["model"]
    return {k.removeprefix("_orig_mod."): v for k, v in sd.items()}  # torch.compile'd checkpoints


def export_run(run_dir, out_dir, quantize: str | None = None, group_size: int | None = None,
               prompt: str = "Once upon a time", max_new_tokens: int = 200, version: int | None = None) -> ExportResult:
    """Write out_dir/model.bin (v0 fp32, or v2 Q8_0 with quantize="q8_0") and out_dir/tokenizer.bin."""
    from studio.core.runs.rundir import RunDir
    from studio.core.tokenizers.llama2c_bin import Llama2cTokenizer
    from studio.core.tokenizers import load_tokenizer
    from studio.core.files.yamlio import architecture_from_data
    run = RunDir(run_dir)
    cfg = run.read_config()  # once: a 32k-vocab export is budgeted at well under a second
    arch = architecture_from_data(cfg["architecture"], str(run.config_path))
    scale, tok = cfg.get("scale", "classroom"), load_tokenizer(run.tokenizer_dir, cfg["tokenizer"])
    m = match_llama2c(arch, scale, tok)
    if quantize not in (None, "q8_0"):
        raise E.StudioError(f"unknown quantization {quantize!r}; llama2.c's runq reads q8_0")
    version = 2 if quantize else (0 if version is None else version)
    h = Header(**m.dims, shared_classifier=m.tied, version=version, group_size=group_size or 0)
    if version == 2:  # refuse a bad group size before reading any weights
        from studio.core.formats.llama2c.format import pick_group_size
        h.group_size = pick_group_size(h.dim, h.hidden_dim, group_size)
    ck = run.load_checkpoint()
    sd = _state_dict(ck)
    tensors = tensors_from_state_dict(sd, h, m.key_of)
    freq = None
    if FREQ_KEY in ck:
        raw = ck[FREQ_KEY].numpy().tobytes()
        freq = (raw[: len(raw) // 2], raw[len(raw) // 2:])
    tok_bytes = tokenizer_bin_bytes(tok)
    runc_tok = tok if isinstance(tok, Llama2cTokenizer) else Llama2cTokenizer.from_bytes(tok_bytes, "tokenizer.bin",
                                                                                        h.vocab_size)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise E.StudioError(f"{out}: is a file; --out needs a folder for model.bin and tokenizer.bin")
    from studio.core.files.yamlio import atomic_write_files
    data, info = encode_model(h, tensors, version, freq)
    try:  # both files or neither: a failure between them never leaves a new model.bin by an old tokenizer.bin
        atomic_write_files({out / "model.bin": data, out / "tokenizer.bin": tok_bytes})
    except OSError as exc:
        raise E.StudioError(f"{out}: cannot write the export ({exc.strerror or exc})") from None
    ids = runc_tok.encode(prompt)
    # run.c feeds positions 0..n-1 and prints the token sampled at each, so -n n writes the prompt
    # after BOS and then n - len(ids) + 1 new tokens (the last sampled one is never fed back)
    steps = max(1, min(len(ids) + max_new_tokens - 1, h.seq_len))
    prog = "./runq" if version == 2 else "./run"
    cmd = " ".join([prog, shlex.quote(str(out / "model.bin")), "-z", shlex.quote(str(out / "tokenizer.bin")),
                    "-t", "0", "-n", str(steps), "-i", shlex.quote(prompt)])
    notes = []
    if steps - len(ids) + 1 < max_new_tokens:
        notes.append(f"run stops at seq_len {h.seq_len}, so -n is capped there: {max(0, steps - len(ids) + 1)} new tokens "
                     f"instead of {max_new_tokens}")
    if version == 1:
        notes.append("version 1 is read by no llama2.c program; use it only for your own tools")
    own = tok.encode(prompt, bos=True)
    if own != ids:
        notes.append(f"run.c's prompt encoder splits {prompt!r} into {len(ids)} tokens {ids} where this run's "
                     f"{tok.kind} tokenizer gives {len(own)} tokens {own}; from this prompt run.c's text will differ "
                     "from archstudio generate")
    return ExportResult(out / "model.bin", out / "tokenizer.bin", version, info["bytes"], info["group_size"],
                        info["max_quant_error"], cmd, steps, max(0, steps - len(ids) + 1), ids, notes)


def import_llama2c(model_bin, tokenizer_bin, out_dir) -> tuple[Path, list[str]]:
    """Create a RUN_DIR from llama2.c files; returns (its path, warnings about the tokenizer)."""
    import numpy as np
    import torch

    from studio.core.model.compiler import compile_architecture
    from studio.core.files.presets import load_preset
    from studio.core.runs.rundir import RunDir
    from studio.core.tokenizers.llama2c_bin import Llama2cTokenizer, layout_problems

    model_bin, out = Path(model_bin), Path(out_dir)
    if out.exists() and not out.is_dir():
        raise E.StudioError(f"{out}: is a file; --out needs a new folder for the imported run")
    if out.exists() and any(out.iterdir()):
        raise E.StudioError(f"{out}: exists and is not empty; choose a new folder for the imported run")
    data, _ = read_model_file(model_bin)  # header checked against the size before the body is read
    mf = read_model(model_bin, data)
    h = mf.header
    tok = Llama2cTokenizer.from_file(tokenizer_bin, vocab_size=h.vocab_size)
    problems = layout_problems(tok.pieces)
    if any("dummy prefix" in p for p in problems):
        raise E.LoadError(f"{tokenizer_bin}: " + next(p for p in problems if "dummy prefix" in p))
    warnings = [f"{tokenizer_bin}: {p}" for p in problems]

    arch = load_preset(BASE_PRESET)
    dims = h.dims()
    arch.scales = {"paper": dict(dims), "classroom": dict(dims)}
    arch.id = f"llama2c-{model_bin.stem}"
    # the preset's own meta describes LLaMA 2 70B (published size, history): not this model
    arch.meta = {"title": f"{model_bin.stem} (llama2.c import)",
                 "org": "llama2.c file", "short": f"Imported from {model_bin.name} (llama2.c version {h.version}) "
                 f"into the LLaMA-2 graph", "imported_from": model_bin.name, "llama2c_version": h.version}
    arch.training = {}  # LLaMA 2's recorded training (pretraining, SFT, RLHF) is not this file's history
    if h.shared_classifier:
        arch.graph.set_config("output", "tie_to", "tok_embeddings")
    model = compile_architecture(arch, "classroom")
    sd = {k: torch.from_numpy(np.array(v, dtype=np.float32)) for k, v in mf.tensors.items()}
    if h.shared_classifier:
        sd["output.weight"] = sd["tok_embeddings.weight"]
    from studio.core.runs.weights import load_weights
    load_weights(model, sd, str(model_bin))
    payload = {"model": model.state_dict(), "optimizer": None, "schedule": None, "rng": None, "data_pos": None}
    if mf.freq_cis is not None:
        payload[FREQ_KEY] = torch.frombuffer(bytearray(mf.freq_cis[0] + mf.freq_cis[1]), dtype=torch.uint8)

    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    except OSError as exc:
        raise E.StudioError(f"{out}: cannot create the run folder ({exc.strerror or exc})") from None
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes it private; a run folder is an ordinary folder
    try:
        run = RunDir(tmp)
        run.initialize(arch, BASE_PRESET, tok, training={"steps": 0, "imported": True},
                       data={"source": "llama2c-import", "path": str(model_bin),
                             "sha256": hashlib.sha256(data).hexdigest()})
        run.save_checkpoint(payload, step=0)
        if out.exists():
            out.rmdir()  # empty (checked above); os.replace cannot replace a directory on every OS
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out, warnings

