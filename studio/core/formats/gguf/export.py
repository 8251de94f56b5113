"""RUN_DIR → one GGUF file for llama.cpp, written with the ``gguf`` package: arch ``llama``, or
``deepseek2`` for a DeepSeek-V3-style run (MLA and shared experts; see deepseek2.py).

llama.cpp's ``llama`` architecture covers both the LLaMA family and Mixtral-style MoE (its
experts stacked into one (n_experts, ·, ·) tensor per projection, the router as
``ffn_gate_inp``). It rotates adjacent pairs (RoPE "normal"), as this app does, so q and k are
written exactly as trained — not in the half-split order the Hugging Face export needs.
The vocabulary is the run's SentencePiece model as ``tokenizer.ggml.*``: pieces, scores and
types (byte pieces <0xHH> typed BYTE, unk/control/unused as SentencePiece marks them).
"""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from studio.core import errors as E
from studio.core.formats.decoder import DENSE, EXPERTS
from studio.core.formats.optional import require

TARGET = "llama.cpp (GGUF)"
ARCH = "llama"


@dataclass
class GgufExport:
    path: Path
    arch: str
    n_tensors: int
    n_params: int
    bytes: int
    notes: list[str] = field(default_factory=list)


def gguf_path(out) -> Path:
    """--out names the file (…/name.gguf) or a folder that gets model.gguf."""
    out = Path(out)
    return out if out.suffix == ".gguf" else out / "model.gguf"


def export_gguf(run_dir, out) -> GgufExport:
    from studio.core.formats.hf.export import load_run_for_export
    _, sd, plan, tok = load_run_for_export(run_dir, TARGET)
    problems = gguf_problems(plan)
    if problems:
        raise E.StudioError(f"{run_dir} cannot be written for {TARGET}: " + "; ".join(problems))
    gguf, np, _ = require("GGUF export", "gguf", "numpy", "google.protobuf")
    path = gguf_path(out)
    if path.parent.exists() and not path.parent.is_dir():
        raise E.StudioError(f"{path.parent}: is a file; --out needs a folder or a .gguf file name")
    arch = "deepseek2" if plan.family == "deepseek_v3" else ARCH
    if arch == "deepseek2":
        from studio.core.formats.gguf.deepseek2 import deepseek2_tensors
        tensors = deepseek2_tensors(sd, plan)
    else:
        tensors = gguf_tensors(sd, plan)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
    except OSError as exc:
        raise E.StudioError(f"{path.parent}: cannot write the export ({exc.strerror or exc})") from None
    try:
        w = gguf.GGUFWriter(tmp, arch)
        w.add_name(Path(run_dir).name)
        w.add_file_type(gguf.LlamaFileType.ALL_F32)
        if arch == "deepseek2":
            from studio.core.formats.gguf.deepseek2 import write_deepseek2_metadata
            write_deepseek2_metadata(w, gguf, plan)
        else:
            _write_metadata(w, gguf, plan)
        notes = _write_vocab(w, gguf, tok)
        for name, t in tensors.items():
            w.add_tensor(name, np.ascontiguousarray(t.numpy(), dtype=np.float32))
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_tensors_to_file()
        w.close()
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return GgufExport(path, arch, len(tensors), sum(t.numel() for t in tensors.values()), path.stat().st_size,
                      list(plan.notes) + notes)


def gguf_problems(plan) -> list[str]:
    """What keeps a Hugging Face-expressible plan out of llama.cpp (arch llama, or deepseek2 for MLA)."""
    if plan.family in ("qwen3", "qwen3_moe"):
        return [(f"{plan.ids['attention']}: QK-norm (Qwen3): this version writes llama.cpp's llama architecture, "
                 "which has none; export it for Hugging Face instead (--format hf)")]
    if plan.family == "qwen2":
        return [(f"{plan.ids['attention']}: q/k/v biases (Qwen2): this version writes llama.cpp's llama "
                "architecture, which has none; export it for Hugging Face instead (--format hf)")]
    attn_bias = getattr(plan.attention, "bias", False)
    if attn_bias or any(getattr(c, "bias", False) for _, c in plan.ffn):
        node = plan.ids["attention"] if attn_bias else plan.ids["feed_forward"]
        return [f"{node}: has biases; llama.cpp's llama architecture has none; turn bias off"]
    return []


def gguf_tensors(sd: dict, plan) -> dict:
    """{GGUF tensor name: fp32 tensor} in llama.cpp's llama layout (numpy shapes, as gguf-py takes them)."""
    import torch
    ids = plan.ids
    out = {"token_embd.weight": sd[f"{ids['tok_embeddings']}.weight"],
           "output_norm.weight": sd[f"{ids['norm']}.weight"]}
    if not plan.tied:  # llama.cpp reuses token_embd when output is absent
        out["output.weight"] = sd[f"{ids['output']}.weight"]
    names = {"attention_norm": "attn_norm", "ffn_norm": "ffn_norm"}
    attn = {"wq": "attn_q", "wk": "attn_k", "wv": "attn_v", "wo": "attn_output"}
    ffn = {"w1": "ffn_gate", "w3": "ffn_up", "w2": "ffn_down"}
    for i, (kind, cfg) in enumerate(plan.ffn):
        p, b = f"layers.{i}.", f"blk.{i}."
        for role, name in names.items():
            out[f"{b}{name}.weight"] = sd[f"{p}{ids[role]}.weight"]
        for ours, theirs in attn.items():
            out[f"{b}{theirs}.weight"] = sd[f"{p}{ids['attention']}.{ours}.weight"]
        f = f"{p}{ids['feed_forward']}."
        if kind == DENSE:
            for ours, theirs in ffn.items():
                out[f"{b}{theirs}.weight"] = sd[f"{f}{ours}.weight"]
        else:
            out[f"{b}ffn_gate_inp.weight"] = sd[f"{f}gate.weight"]
            for ours, theirs in ffn.items():  # (n_experts, rows, cols), expert e at [e]
                out[f"{b}{theirs}_exps.weight"] = torch.stack(
                    [sd[f"{f}experts.{e}.{ours}.weight"] for e in range(cfg.n_experts)])
    return {k: v.detach().float().contiguous() for k, v in out.items()}


def _write_metadata(w, gguf, plan) -> None:
    a = plan.attention
    w.add_vocab_size(plan.vocab_size)
    w.add_context_length(plan.context)
    w.add_embedding_length(a.dim)
    w.add_block_count(plan.n_layers)
    kind, cfg = plan.ffn[0]
    w.add_feed_forward_length(cfg.hidden_dim if kind == DENSE else cfg.expert_hidden_dim)
    w.add_head_count(a.n_heads)
    w.add_head_count_kv(a.kv_heads)
    w.add_key_length(a.hd)
    w.add_value_length(a.hd)
    w.add_rope_dimension_count(a.hd)
    w.add_rope_freq_base(plan.rope_theta)
    w.add_layer_norm_rms_eps(plan.norm_eps)
    if kind == EXPERTS:
        w.add_expert_count(cfg.n_experts)
        w.add_expert_used_count(cfg.top_k)


def _write_vocab(w, gguf, tok) -> list[str]:
    """tokenizer.ggml.* from the SentencePiece model; returns notes on what llama.cpp does differently."""
    from sentencepiece import sentencepiece_model_pb2
    sp = tok.sp
    n = sp.get_piece_size()
    types = []
    for i in range(n):
        t = gguf.TokenType.NORMAL
        if sp.is_unknown(i):
            t = gguf.TokenType.UNKNOWN
        elif sp.is_control(i):
            t = gguf.TokenType.CONTROL
        elif sp.is_unused(i):
            t = gguf.TokenType.UNUSED
        elif sp.is_byte(i):
            t = gguf.TokenType.BYTE
        types.append(t)
    spec = sentencepiece_model_pb2.ModelProto()
    spec.ParseFromString(tok.model_bytes)
    w.add_tokenizer_model("llama")
    w.add_token_list([sp.id_to_piece(i).encode("utf-8") for i in range(n)])
    w.add_token_scores([float(sp.get_score(i)) for i in range(n)])
    w.add_token_types(types)
    w.add_bos_token_id(tok.bos_id)
    w.add_eos_token_id(tok.eos_id)
    w.add_unk_token_id(sp.unk_id())
    w.add_add_bos_token(True)
    w.add_add_eos_token(False)
    w.add_add_space_prefix(bool(spec.normalizer_spec.add_dummy_prefix))
    if spec.normalizer_spec.remove_extra_whitespaces:
        return [("llama.cpp does not collapse repeated spaces as this SentencePiece model does: text with double "
                 "or leading spaces encodes to other ids there (generation from the same ids is unaffected)")]
    return []
