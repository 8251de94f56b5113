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
    stage: str  # "download", "tokenizer", "pretrained", "done"
    done: float
    total: float | None
    message: str


def default_bpe_sizes() -> list[int]:
    """The BPE vocabulary sizes the presets' classroom models use by default."""
    from studio.core.files.presets import preset_ids, raw_preset
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


def _live(work: Callable, should_cancel: Callable[[], bool], every_s: float = 0.2):
    """Run ``work(progress)`` in a helper thread and yield its latest ``progress(...)`` arguments every
    ``every_s`` (a download reports through a callback; the caller wants a generator it can carry
    to a GUI thread). Returns work's result via StopIteration.value; re-raises its exception."""
    import threading
    latest: list = []
    box: dict = {}

    def run():
        try:
            box["result"] = work(lambda *a: latest.append(a))
        except BaseException as exc:  # noqa: BLE001  handed to the generator's caller below
            box["error"] = exc

    t = threading.Thread(target=run, name="archstudio-download", daemon=True)
    t.start()
    while t.is_alive():
        t.join(every_s)
        if latest:
            yield latest[-1]
            latest.clear()
    if "error" in box:
        raise box["error"]
    return box.get("result")


def fetch_pretrained(names: list[str], cache=None, should_cancel: Callable[[], bool] = lambda: False) -> Iterator[PackEvent]:
    """Download karpathy's pretrained tinyllamas (cached, resumable, verified): stage "pretrained"
    events with bytes done / total of the file in transfer, then one "done"."""
    from studio.core.runs import tinyllamas as tl
    for name in names:
        tl.model(name)  # unknown names fail before anything is downloaded
    for i, name in enumerate(names):
        m = tl.model(name)
        yield PackEvent("pretrained", 0, None, f"Downloading {name} ({m.what}, {tl.LICENSE})…")
        gen = _live(lambda progress, n=name: tl.download(n, cache, progress, should_cancel), should_cancel)
        while True:
            try:
                file, done, total = next(gen)
            except StopIteration as stop:
                model_path, _ = stop.value
                break
            yield PackEvent("pretrained", done, total, f"{name}: {file} {done / 1e6:,.1f}"
                            + (f" of {total / 1e6:,.1f} MB" if total else " MB"))
        yield PackEvent("pretrained", i + 1, len(names), f"{name} cached at {model_path}")
    yield PackEvent("done", len(names), len(names), f"Pretrained models ready offline: {', '.join(names)}")
