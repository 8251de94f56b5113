"""A run's SentencePiece tokenizer as Hugging Face tokenizer files (tokenizer.json + config).

``LlamaTokenizer.from_pretrained(dir, legacy=False, add_bos_token=True)`` converts the
SentencePiece model (vocabulary, merges, byte fallback, BOS). Two of SentencePiece's own
normalisation steps are not in what it builds, so they are written into tokenizer.json:
``remove_extra_whitespaces`` (drop leading/trailing spaces, collapse runs — the default of
llama2.c's ``train_vocab``) and the dummy-prefix space, both as normalizers. Without them a
story with a double space encodes to different ids. The files name the generic tokenizers
class, because ``LlamaTokenizer`` would reset the normalizer when loading.
"""
from __future__ import annotations

import json
from pathlib import Path

from studio.core import errors as E
from studio.core.formats.optional import require

SPACE = "\u2581"
FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")


def check_tokenizer(tok) -> str:
    """Why this tokenizer cannot be written as HF files ("" when it can, perhaps after conversion)."""
    if getattr(tok, "model_bytes", None) is None and not hasattr(tok, "pieces"):
        return (f"the run's {tok.kind} tokenizer is not a SentencePiece model; Hugging Face and GGUF exports "
                "need one (train with --tokenizer bpe or llama2)")
    return ""


def exportable_tokenizer(tok):
    """The run's tokenizer as a SentencePiece model: itself, or an imported llama2.c tokenizer.bin
    converted (llama2c_vocab.py), or a StudioError line saying why not."""
    if getattr(tok, "model_bytes", None) is not None:
        return tok
    problem = check_tokenizer(tok)
    if problem:
        raise E.StudioError(f"tokenizer: {problem}")
    from studio.core.formats.hf.llama2c_vocab import sentencepiece_from_llama2c
    return sentencepiece_from_llama2c(tok)


def tokenizer_files(tok, workdir: Path) -> dict[str, bytes]:
    """{file name: bytes} of the HF tokenizer for ``tok`` (built in ``workdir``)."""
    problem = check_tokenizer(tok)
    if problem:
        raise E.StudioError(f"tokenizer: {problem}")
    transformers, tk, _, _ = require("Hugging Face export", "transformers", "tokenizers", "google.protobuf",
                                     "sentencepiece")
    src, dst = workdir / "spm", workdir / "hf-tokenizer"
    src.mkdir(parents=True, exist_ok=True)
    (src / "tokenizer.model").write_bytes(tok.model_bytes)
    hf = transformers.LlamaTokenizer.from_pretrained(str(src), legacy=False, add_bos_token=True,
                                                     add_eos_token=False)
    backend = hf.backend_tokenizer
    backend.normalizer = tk.normalizers.Sequence(_normalizers(tok.model_bytes, tk))
    backend.pre_tokenizer = None  # the normalizers above already turned spaces into ▁
    hf.save_pretrained(str(dst))
    cfg_path = dst / "tokenizer_config.json"
    cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
    cfg["tokenizer_class"] = "PreTrainedTokenizerFast"
    cfg_path.write_text(json.dumps(cfg, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return {p.name: p.read_bytes() for p in sorted(dst.iterdir()) if p.is_file()}


def _normalizers(model_bytes: bytes, tk) -> list:
    from sentencepiece import sentencepiece_model_pb2
    spec = sentencepiece_model_pb2.ModelProto()
    spec.ParseFromString(model_bytes)
    norm = spec.normalizer_spec
    if norm.name not in ("identity", "") and norm.precompiled_charsmap:
        raise E.StudioError(f"tokenizer: SentencePiece normalisation rule {norm.name!r} is not exported; "
                            "train the tokenizer with normalization_rule_name identity")
    n = tk.normalizers
    steps = []
    if norm.remove_extra_whitespaces:  # SentencePiece: only ' ' counts, never newlines
        steps += [n.Replace(tk.Regex(r"\A +| +\z"), ""), n.Replace(tk.Regex(" {2,}"), " ")]
    if norm.add_dummy_prefix:
        steps.append(n.Prepend(SPACE))
    steps.append(n.Replace(" ", SPACE))
    return steps
