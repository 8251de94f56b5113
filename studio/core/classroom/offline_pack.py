"""Prepare a classroom machine ahead of time: TinyStories downloaded, default tokenizers trained.

Jobs (studio.core.jobs: ``job(..., control)``) yielding one frozen dataclass per kind of event; the
CLI and the GUI only carry them. Every stage is cached (the download resumes, BPE vocabularies and
token arrays are keyed by content hash), so running it twice costs nothing and an interrupted run
continues where it stopped.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator

from studio.core.jobs.control import JobControl


@dataclass(frozen=True)
class PackProgress:
    """What every offline-pack event has (each kind below is its own class)."""
    done: float
    total: float | None
    message: str


@dataclass(frozen=True)
class PackDownload(PackProgress):
    """TinyStories' download: bytes done of total (live, every ~0.2 s)."""


@dataclass(frozen=True)
class PackTokenizer(PackProgress):
    """A default BPE vocabulary is trained: ``done`` of ``total`` vocabularies."""


@dataclass(frozen=True)
class PackPretrained(PackProgress):
    """A pretrained tinyllamas model: bytes of the file in transfer, then models done of total."""


@dataclass(frozen=True)
class PackDone(PackProgress):
    """Everything asked for is cached; the message says what."""


def default_bpe_sizes() -> list[int]:
    """The BPE vocabulary sizes the presets' classroom models use by default."""
    from studio.core.files.presets import preset_ids, raw_preset
    sizes = set()
    for pid in preset_ids():
        tok = (raw_preset(pid).get("meta") or {}).get("classroom_tokenizer") or {}
        if tok.get("kind", "bpe") == "bpe":
            sizes.add(int(tok.get("vocab_size", 512)))
    return sorted(sizes) or [512]


def prepare(subset: str = "quick", cache=None, control: JobControl | None = None,
            sizes: list[int] | None = None) -> Iterator[PackProgress]:
    """Download TinyStories ``subset`` (live progress) and train the default BPE vocabularies on it;
    ``control`` cancels between stages and inside the download."""
    from studio.core.data import download as dl
    from studio.core.data.sources import load_corpus
    from studio.core.data.tokenized import make_tokenizer, tokenize_corpus
    from studio.core.errors import StudioError
    control = control or JobControl()
    yield PackDownload(0, None, f"Downloading TinyStories {subset} ({dl.LICENSE})…")
    gen = _live(lambda progress: dl.download(subset, cache, progress=progress, should_cancel=control.should_stop))
    while True:
        try:
            d, t = next(gen)
        except StopIteration as stop:
            path = stop.value
            break
        yield PackDownload(d, t, f"TinyStories {subset}: {d / 1e6:,.1f}" + (f" of {t / 1e6:,.1f} MB" if t else " MB"))
    yield PackDownload(1, 1, f"TinyStories {subset} cached at {path}")
    corpus = load_corpus(subset, cache)
    sizes = sizes or default_bpe_sizes()
    for i, v in enumerate(sizes):
        if control.should_stop():
            raise StudioError("offline pack cancelled; run it again to continue where it stopped")
        yield PackTokenizer(i, len(sizes), f"Training the BPE {v} vocabulary on TinyStories…")
        tok = make_tokenizer("bpe", corpus, v, cache=cache)
        tokenize_corpus(corpus, tok, cache)
    yield PackDone(len(sizes), len(sizes),
                   f"Ready offline: {corpus.label}; vocabularies {', '.join(map(str, sizes))} prepared")


def _live(work: Callable, every_s: float = 0.2):
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


def fetch_pretrained(names: list[str], cache=None, control: JobControl | None = None) -> Iterator[PackProgress]:
    """Download karpathy's pretrained tinyllamas (cached, resumable, verified): PackPretrained events
    with bytes done / total of the file in transfer, then one PackDone."""
    from studio.core.runs import tinyllamas as tl
    control = control or JobControl()
    for name in names:
        tl.model(name)  # unknown names fail before anything is downloaded
    for i, name in enumerate(names):
        m = tl.model(name)
        yield PackPretrained(0, None, f"Downloading {name} ({m.what}, {tl.LICENSE})…")
        gen = _live(lambda progress, n=name: tl.download(n, cache, progress, control.should_stop))
        while True:
            try:
                file, done, total = next(gen)
            except StopIteration as stop:
                model_path, _ = stop.value
                break
            yield PackPretrained(done, total, f"{name}: {file} {done / 1e6:,.1f}"
                                 + (f" of {total / 1e6:,.1f} MB" if total else " MB"))
        yield PackPretrained(i + 1, len(names), f"{name} cached at {model_path}")
    yield PackDone(len(names), len(names), f"Pretrained models ready offline: {', '.join(names)}")
