"""karpathy's pretrained llama2.c models ("tinyllamas", trained on TinyStories), as runs of the LLaMA 2 graph.

The checkpoints live on the Hugging Face hub (repository ``karpathy/tinyllamas``; ``HF_ENDPOINT``
is followed as for TinyStories); the 32,000-piece Llama 2 ``tokenizer.bin`` that the 15M/42M/110M
models need is not on the hub but in the llama2.c GitHub repository (``ARCHSTUDIO_GITHUB_RAW``
replaces raw.githubusercontent.com for mirrors and the tests). Downloads are cached, resumable
(studio.core.data.download.fetch) and validated before use: the hub's sha256 for the models, the
llama2.c header and exact body size, and a parseable tokenizer with the expected vocabulary.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from studio.core import errors as E
from studio.core.data import download as dl

HUB_REPO = "karpathy/tinyllamas"
LICENSE = "MIT (llama2.c)"
TOKENIZER_REPO_PATH = "karpathy/llama2.c/master/tokenizer.bin"
LLAMA2_TOKENIZER = "llama2"  # TinyLlama.tokenizer value: the 32,000-piece tokenizer from GitHub
LLAMA2_VOCAB = 32000


@dataclass(frozen=True)
class TinyLlama:
    name: str
    model_file: str          # path inside the hub repository
    tokenizer: str           # a path inside the hub repository, or LLAMA2_TOKENIZER
    vocab_size: int
    approx_bytes: int
    presets: tuple           # the presets whose model on screen this run shows (prepared lookup)
    what: str


MODELS = {
    "stories260K": TinyLlama("stories260K", "stories260K/stories260K.bin", "stories260K/tok512.bin", 512, 1_056_540,
                             ("recipe-llama2c-stories260k",), "260K parameters, 512-piece vocabulary (1 MB)"),
    "stories15M": TinyLlama("stories15M", "stories15M.bin", LLAMA2_TOKENIZER, LLAMA2_VOCAB, 60_816_028,
                            ("recipe-llama2c-stories15m", "recipe-modded-llama2c", "2023-07-llama-2"),
                            "15M parameters, Llama 2 vocabulary (61 MB)"),
    "stories42M": TinyLlama("stories42M", "stories42M.bin", LLAMA2_TOKENIZER, LLAMA2_VOCAB, 167_000_000,
                            ("2023-07-llama-2",), "42M parameters, Llama 2 vocabulary (≈ 167 MB)"),
    "stories110M": TinyLlama("stories110M", "stories110M.bin", LLAMA2_TOKENIZER, LLAMA2_VOCAB, 438_000_000,
                             ("2023-07-llama-2",), "110M parameters, Llama 2 vocabulary (≈ 438 MB)"),
}


def model(name: str) -> TinyLlama:
    if name not in MODELS:
        raise E.StudioError(f"unknown pretrained model {name!r}; choose from {', '.join(MODELS)}")
    return MODELS[name]


def cache_dir(cache=None) -> Path:
    return Path(cache) if cache else dl.cache_root() / "tinyllamas"


def github_raw() -> str:
    return os.environ.get("ARCHSTUDIO_GITHUB_RAW", "https://raw.githubusercontent.com").rstrip("/")


def hub_url(path: str) -> str:
    return f"{dl.endpoint()}/{HUB_REPO}/resolve/main/{path}"


def tokenizer_url(m: TinyLlama) -> str:
    return f"{github_raw()}/{TOKENIZER_REPO_PATH}" if m.tokenizer == LLAMA2_TOKENIZER else hub_url(m.tokenizer)


def _paths(m: TinyLlama, cache=None) -> tuple[Path, Path]:
    root = cache_dir(cache)
    tok = root / ("llama2-tokenizer.bin" if m.tokenizer == LLAMA2_TOKENIZER else m.tokenizer)
    return root / m.model_file, tok


def cached(name: str, cache=None) -> tuple[Path, Path] | None:
    """(model.bin, tokenizer.bin) when both are downloaded, else None."""
    mp, tp = _paths(model(name), cache)
    return (mp, tp) if mp.is_file() and tp.is_file() else None


def _check_model(path: Path) -> None:
    from studio.core.formats.llama2c.reader import read_model
    read_model(path)  # header, exact size for its dimensions, finite weights: one LoadError line otherwise


def _tokenizer_check(vocab: int) -> Callable[[Path], None]:
    def check(path: Path) -> None:
        from studio.core.tokenizers.llama2c_bin import Llama2cTokenizer
        tok = Llama2cTokenizer.from_file(path, vocab_size=vocab)
        if tok.vocab_size != vocab:
            raise E.LoadError(f"{path.name}: {tok.vocab_size} pieces, expected {vocab}")
    return check


def download(name: str, cache=None, progress: Callable[[str, int, int | None], None] | None = None,
             should_cancel: Callable[[], bool] | None = None, timeout: float = 30.0) -> tuple[Path, Path]:
    """Download (or find cached) a model and its tokenizer; ``progress(file, done, total)``."""
    m = model(name)
    mp, tp = _paths(m, cache)
    tok_name = "tokenizer.bin (Llama 2)" if m.tokenizer == LLAMA2_TOKENIZER else Path(m.tokenizer).name
    dl.fetch(tokenizer_url(m), tp, progress and (lambda d, t: progress(tok_name, d, t)), should_cancel, timeout,
             trust_etag_sha=m.tokenizer != LLAMA2_TOKENIZER, validate=_tokenizer_check(m.vocab_size))
    dl.fetch(hub_url(m.model_file), mp, progress and (lambda d, t: progress(Path(m.model_file).name, d, t)),
             should_cancel, timeout, validate=_check_model)
    return mp, tp


def import_run(name: str, out_dir, cache=None, progress=None, should_cancel=None) -> Path:
    """Download ``name`` if needed and import it as a RUN_DIR of the LLaMA 2 graph at its dimensions."""
    from studio.core.formats.llama2c.runio import import_llama2c
    from studio.core.runs.rundir import RunDir
    mp, tp = download(name, cache, progress, should_cancel)
    out, _ = import_llama2c(mp, tp, out_dir)
    run = RunDir(out)
    cfg = run.read_config()
    cfg["pretrained"] = {"name": name, "repository": f"huggingface.co/{HUB_REPO}", "file": model(name).model_file,
                         "licence": LICENSE, "trained_on": "TinyStories (by karpathy, with llama2.c's train.py)"}
    run.write_config({k: v for k, v in cfg.items() if k not in ("schema_version", "kind")})
    return out
