"""Helpers for the training tests: tiny models of real presets and small tokenized data."""
from studio.core.data import make_tokenizer, tokenize_corpus
from studio.core.data.sources import Corpus, content_hash, load_corpus
from studio.core.files.presets import load_preset
from studio.core.training import setup as S

SMALL = {"dim": 32, "n_layers": 2, "n_heads": 4, "n_kv_heads": 2, "hidden_dim": 64, "context": 32}


def tiny_arch(pid="2023-07-llama-2", vocab=259, **dims):
    arch = load_preset(pid)
    cls = arch.scales["classroom"]
    cls.update({k: v for k, v in SMALL.items() if k in cls or k in ("dim", "n_layers", "n_heads", "context")})
    if "n_enc_layers" in cls:
        cls["n_enc_layers"] = 2
    if "expert_hidden_dim" in cls or cls.get("n_experts"):
        cls.update(expert_hidden_dim=32, n_experts=4, top_k=2)
    cls.update(dims)
    return S.classroom_arch(arch, vocab)


def starter_data(tmp_path, kind="byte", vocab=None, n=300):
    full = load_corpus("starter")
    stories = full.stories[:n]
    c = Corpus("starter", full.label, stories, content_hash(stories), False)
    tok = make_tokenizer(kind, c, vocab, cache=tmp_path)
    return tokenize_corpus(c, tok, cache=tmp_path)
