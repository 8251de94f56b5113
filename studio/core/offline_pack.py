"""Prepare a classroom machine ahead of time: TinyStories downloaded, default tokenizers trained.

A plain generator of :class:`PackEvent`; the CLI and the GUI only carry its events. Every
stage is cached (the download resumes, BPE vocabularies and token arrays are keyed by content
hash), so running it twice costs nothing and an interrupted run continues where it stopped.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator


@dataclass(frozen=True)
class PackEvent:
    stage: str  # "download", "tokenizer", "done"
    done: float
    total: float | None
    message: str


def default_bpe_sizes() -> list[int]:
    """The BPE vocabulary sizes the presets' classroom models use by default."""
    from studio.core.presets import preset_ids, raw_preset
    sizes = set()
    for pid in preset_ids():
        tok = (raw_preset(pid).get("meta") or {}).get("classroom_tokenizer") or {}
        if tok.get("kind", "bpe") == "bpe":
            sizes.add(int(tok.get("vocab_size", 512)))
    return sorted(sizes) or [512]


def prepare(subset: str = "quick", cache=None, should_cancel: Callable[[], bool] = lambda: False,
            sizes: list[int] | None = None) -> Iterator[PackEvent]:
    from studio.core.data import download as dl
    from studio.core.data.sources import load_corpus
    from studio.core.data.tokenized import make_tokenizer, tokenize_corpus
    from studio.core.errors import StudioError

    progress: list[tuple[int, int | None]] = []
    yield PackEvent("download", 0, None, f"Downloading TinyStories {subset} ({dl.LICENSE})…")
    # The download reports through a callback; collect and re-yield so the caller sees a generator.
    path = dl.download(subset, cache, progress=lambda d, t: progress.append((d, t)), should_cancel=should_cancel)
    if progress:
        d, t = progress[-1]
        yield PackEvent("download", d, t, f"TinyStories {subset} cached at {path}")
    corpus = load_corpus(subset, cache)
    sizes = sizes or default_bpe_sizes()
    for i, v in enumerate(sizes):
        if should_cancel():
            raise StudioError("offline pack cancelled; run it again to continue where it stopped")
        yield PackEvent("tokenizer", i, len(sizes), f"Training the BPE {v} vocabulary on TinyStories…")
        tok = make_tokenizer("bpe", corpus, v, cache=cache)
        tokenize_corpus(corpus, tok, cache)
    yield PackEvent("done", len(sizes), len(sizes),
                    f"Ready offline: {corpus.label}; vocabularies {', '.join(map(str, sizes))} prepared")
