"""Where the stories come from: TinyStories downloads, local files, or the starter corpus.

Local formats: a ``.txt`` with ``<|endoftext|>`` separators (TinyStories' own text files), a plain
``.txt`` (documents separated by blank lines), JSON shards (a list of objects with a ``story``
field, as in ``TinyStories_all_data.tar.gz``) and JSON Lines (``story`` or ``text`` per line); a
folder reads every such file in it, sorted by name.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from studio.core import errors as E
from studio.core.data import download as dl
from studio.core.data.starter import LABEL as STARTER_LABEL
from studio.core.data.starter import starter_stories

SEPARATOR = "<|endoftext|>"
SUFFIXES = (".txt", ".json", ".jsonl")


@dataclass(frozen=True)
class Corpus:
    name: str            # "quick", "full", "starter" or the path
    label: str           # one line for status bars and the CLI
    stories: tuple       # stripped, non-empty story texts
    sha256: str          # content hash of the stories (keys the token and vocabulary caches)
    is_tinystories: bool

    def describe(self) -> dict:
        """The run.yaml ``data`` entry."""
        return {"source": self.name, "label": self.label, "sha256": self.sha256, "stories": len(self.stories)}


def content_hash(stories) -> str:
    h = hashlib.sha256()
    for s in stories:
        h.update(s.encode("utf-8"))
        h.update(b"\0")
    return h.hexdigest()


def split_text(text: str) -> list[str]:
    if SEPARATOR in text:
        parts = text.split(SEPARATOR)
    else:
        parts = re.split(r"\n[ \t]*\n", text)
    return [p.strip() for p in parts if p.strip()]


def _json_stories(path: Path, items) -> list[str]:
    out = []
    for i, it in enumerate(items):
        if isinstance(it, str):
            out.append(_utf8_safe(it))
        elif isinstance(it, dict) and isinstance(it.get("story", it.get("text")), str):
            out.append(_utf8_safe(it.get("story", it.get("text"))))
        else:
            raise E.LoadError(f"{path}: item {i} has no 'story' or 'text' string")
    return [s.strip() for s in out if s.strip()]


def _utf8_safe(s: str) -> str:
    """JSON may escape a lone surrogate (``"\\ud800"``), which is no character and cannot be
    written as UTF-8 (hashing and tokenizing the story would fail): it becomes U+FFFD, as a bad
    byte in a .txt file does."""
    try:
        s.encode("utf-8")
        return s
    except UnicodeEncodeError:
        return s.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


MAX_DATA_BYTES = 8 << 30  # TinyStories' full JSON is 4.6 GB; anything larger is not training text here


def read_file(path: Path) -> list[str]:
    """Stories of one file. Regular files only (a FIFO never blocks), size bounded; JSON and JSONL
    must be UTF-8 (the bad byte is named), .txt is read with replacement as before."""
    from studio.core.files.schema import load_json, read_bytes
    data = read_bytes(path, MAX_DATA_BYTES, "training data file")
    if path.suffix in (".json", ".jsonl"):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise E.LoadError(f"{path}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start:,}); "
                              "JSON must be UTF-8") from None
        if path.suffix == ".jsonl":
            items = [load_json(line, f"{path}: line {i + 1}") for i, line in enumerate(text.splitlines()) if line.strip()]
            return _json_stories(path, items)
        parsed = load_json(text, str(path))
        return _json_stories(path, parsed if isinstance(parsed, list) else [parsed])
    return split_text(data.decode("utf-8", errors="replace"))


def read_stories(path) -> list[str]:
    p = Path(path)
    if p.is_dir():
        files = sorted(f for f in p.iterdir() if f.is_file() and f.suffix in SUFFIXES)
        if not files:
            raise E.LoadError(f"{p}: no .txt, .json or .jsonl files in this folder")
        stories = [s for f in files for s in read_file(f)]
    elif p.is_file() or p.exists():  # a FIFO or device: read_file names what it is
        stories = read_file(p)
    else:
        raise E.LoadError(f"{p}: no such file or folder; pass a .txt/.json/.jsonl file, quick, full or starter")
    if len(stories) < 2:
        raise E.LoadError(f"{p}: found {len(stories)} story/document; at least 2 are needed (one is held out for validation)")
    return stories


def load_corpus(spec: str | None = None, cache=None) -> Corpus:
    """``spec``: None (cached TinyStories if there is one, else the starter corpus), ``quick``,
    ``full``, ``starter`` or a path."""
    if spec is None:
        for sub in ("quick", "full"):
            if dl.cached_path(sub, cache):
                return load_corpus(sub, cache)
        spec = "starter"
    if spec == "starter":
        stories = starter_stories()
        return Corpus("starter", STARTER_LABEL, tuple(stories), content_hash(stories), False)
    if spec in dl.SUBSETS:
        p = dl.cached_path(spec, cache)
        if p is None:
            raise E.StudioError(f"TinyStories '{spec}' is not downloaded yet; run 'archstudio data fetch --subset {spec}' "
                                "(or use --data starter / --data PATH)")
        stories = read_stories(p)
        label = f"TinyStories {spec} ({dl.SUBSETS[spec].filename}, {len(stories):,} stories; {dl.LICENSE})"
        return Corpus(spec, label, tuple(stories), content_hash(stories), True)
    p = Path(spec).expanduser()
    stories = read_stories(p)
    ts = "tinystories" in p.name.lower()
    label = f"{p} ({len(stories):,} stories)"
    return Corpus(str(p.resolve()), label, tuple(stories), content_hash(stories), ts)
