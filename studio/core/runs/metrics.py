"""metrics.jsonl: the one typed, streaming reader every view of a run's progress goes through.

Why one reader: ``plan --run``, ``lesson summary``, ``train --resume``, the race table and the
plots each used to read the whole file into a list of dicts and trust its values, so a string
where a number belongs (``"val_bpb": "low"``) was an internal error, and 8 million tiny records
took 37 s and 3 GB. Here the file is streamed in blocks; each record is typed (a record with a
wrong-typed field is skipped and counted, never half-used) and only what the views need is kept:
the last records of each kind, the last steps for a median speed, and a curve decimated to a
fixed number of points per kind (the whole run at a coarser resolution, as the live plots).
"""
from __future__ import annotations

import json
import os
import stat
import tempfile
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from studio.core.files.schema import MiB

MAX_METRICS_BYTES = 512 * MiB   # a longer file is read from its last 512 MiB (the newest records)
BLOCK = 4 * MiB
WHOLE = ("step", "tokens")      # whole numbers: the plots' x axes
NUMBERS = frozenset({"loss", "bpb", "val_loss", "val_bpb", "train_loss", "train_bpb", "lr", "grad_norm",
                     "tokens_per_s", "elapsed_s", "flops", "eta_s", "wall_s", "planned_steps"})
RECENT = 50


_NUM, _WHOLE, _TEXT = frozenset({int, float}), frozenset({int}), frozenset({str})
_TYPES = {"kind": _TEXT, "step": _WHOLE, "tokens": _WHOLE, **{k: _NUM for k in NUMBERS}}


def typed(rec) -> dict | None:
    """The record when every field the views read has its type (a null number is dropped), else None."""
    if type(rec) is not dict:
        return None
    drop = None
    for k, v in rec.items():  # one pass, one dict lookup per field: 8 million records are read in seconds
        want = _TYPES.get(k)
        if want is None or type(v) in want:
            continue
        if v is None and want is _NUM:
            drop = (drop or []) + [k]
        elif not (v is None and k == "kind"):
            return None
    for k in WHOLE:
        v = rec.get(k)
        if v is not None and not 0 <= v <= 1 << 62:
            return None
    if drop:
        rec = {k: v for k, v in rec.items() if k not in drop}
    return rec


class _Thinned:
    """At most ``capacity`` items of a stream: when full keep every other one, then take every
    2nd, 4th, … item (studio.core.training.history.Series does the same for the live plots)."""

    def __init__(self, capacity: int):
        self.capacity, self.items, self.stride, self.seen = max(2, capacity // 2 * 2), [], 1, 0

    def add(self, item) -> None:
        self.seen += 1
        if (self.seen - 1) % self.stride:
            return
        if len(self.items) == self.capacity:
            self.items = self.items[::2]
            self.stride *= 2
            if (self.seen - 1) % self.stride:
                return
        self.items.append(item)


@dataclass
class Metrics:
    """What a run's metrics.jsonl says, as far as the views need it."""
    read: int = 0                     # typed records
    skipped: int = 0                  # lines that were not a typed record (cut by a crash, damaged, wrong-typed)
    last: dict = field(default_factory=dict)      # kind -> its last record
    recent_steps: list = field(default_factory=list)  # the last RECENT step records
    max_step: int | None = None
    max_tokens: int | None = None
    curve: list = field(default_factory=list)     # decimated records of every kind, in file order

    def of_kind(self, kind: str) -> list[dict]:
        return [r for r in self.curve if r.get("kind") == kind]


def _regular_fd(path: Path) -> int | None:
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None
    try:
        if stat.S_ISREG(os.fstat(fd).st_mode):
            return fd
    except OSError:
        pass
    os.close(fd)  # a FIFO or a folder named metrics.jsonl: no metrics, never a hang
    return None


def raw_lines(path, limit: int = MAX_METRICS_BYTES):
    """Non-blank lines (bytes, without the newline) of a regular file, streamed; a file longer
    than ``limit`` is read from its last ``limit`` bytes, the first (partial) line dropped."""
    fd = _regular_fd(Path(path))
    if fd is None:
        return
    try:
        size = os.fstat(fd).st_size
        start = max(0, size - limit)
        os.lseek(fd, start, os.SEEK_SET)
        rest, first = b"", start > 0
        while True:
            try:
                block = os.read(fd, BLOCK)
            except OSError:
                block = b""
            if not block:
                break
            lines = (rest + block).split(b"\n")
            rest = lines.pop()
            if first and lines:
                lines, first = lines[1:], False
            yield [ln for ln in lines if ln.strip()]
        if rest.strip() and not first:
            yield [rest]
    finally:
        os.close(fd)


def parsed(lines: list[bytes]) -> list:
    """json values of ``lines``, one per line (None for a line that does not parse). Fast path:
    the block parsed as one JSON array; any damage, and it is parsed line by line."""
    try:
        values = json.loads(b"[" + b",".join(lines) + b"]")
        if len(values) == len(lines):
            return values
    except (UnicodeDecodeError, ValueError, RecursionError):
        pass
    out = []
    for raw in lines:
        try:
            out.append(json.loads(raw.decode("utf-8")))
        except (UnicodeDecodeError, ValueError, RecursionError):
            out.append(None)
    return out


def read_metrics(path, points: int = 4096) -> Metrics:
    """Stream ``path`` (see the module docstring); a missing or unreadable file is no metrics."""
    m = Metrics()
    thinned: dict[str, _Thinned] = {}
    recent: deque = deque(maxlen=RECENT)
    order = 0
    for lines in raw_lines(path):
        for value in parsed(lines):
            rec = typed(value)
            if rec is None:
                m.skipped += 1
                continue
            order += 1
            kind = rec.get("kind") or ""
            m.last[kind] = (order, rec)
            if kind == "step":
                recent.append(rec)
            step, tokens = rec.get("step"), rec.get("tokens")
            if step is not None and (m.max_step is None or step > m.max_step):
                m.max_step = step
            if tokens is not None and (m.max_tokens is None or tokens > m.max_tokens):
                m.max_tokens = tokens
            t = thinned.get(kind)
            if t is None:
                t = thinned[kind] = _Thinned(points if kind in ("step", "eval") else 256)
            t.add((order, rec))
    m.read = order
    kept = {o: r for t in thinned.values() for o, r in t.items}
    kept.update(dict(m.last.values()))  # the newest record of every kind is always in the curve
    m.curve = [kept[o] for o in sorted(kept)]
    m.last = {k: r for k, (_, r) in m.last.items()}
    m.recent_steps = list(recent)
    return m


def truncate_metrics(path, step: int) -> None:
    """Keep only the typed records at or before ``step`` (resume replays the steps after its
    checkpoint); streamed into a temp file renamed over the old one, untouched when nothing goes."""
    p = Path(path)
    fd = _regular_fd(p)
    if fd is None:
        return
    os.close(fd)
    changed = False
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    try:
        umask = os.umask(0o022)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)  # mkstemp makes 0600; metrics.jsonl is an ordinary file
        with os.fdopen(fd, "wb") as out:
            for lines in raw_lines(p, limit=1 << 62):  # every record up to the step stays
                for raw, value in zip(lines, parsed(lines)):
                    rec = typed(value)
                    if rec is None or (rec.get("step") or 0) > step:
                        changed = True
                        continue
                    out.write(raw + b"\n")
            out.flush()
            os.fsync(out.fileno())
        if changed:
            os.replace(tmp, p)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
