"""``archstudio data fetch``: download TinyStories into the cache (resumable)."""
from __future__ import annotations

import sys
import time

from studio.core import errors as E


class ProgressBar:
    """A one-line progress bar on stderr (redrawn in place on a terminal, a few lines otherwise)."""

    def __init__(self, label: str, stream=None):
        self.label, self.stream = label, stream or sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.t0, self.last, self.last_pct = time.monotonic(), 0.0, -25

    def __call__(self, done: int, total: int | None) -> None:
        now = time.monotonic()
        pct = 100 * done / total if total else None
        if self.tty:
            if now - self.last < 0.1 and done != total:
                return
            self.last = now
            rate = done / max(1e-6, now - self.t0)
            bar = "#" * int(30 * done / total) if total else ""
            tail = f"{pct:5.1f}% of {total / 1e6:,.1f} MB" if total else f"{done / 1e6:,.1f} MB"
            self.stream.write(f"\r{self.label} [{bar:<30}] {tail}  {rate / 1e6:,.1f} MB/s ")
        elif pct is not None and pct - self.last_pct >= 25:
            self.last_pct = pct - pct % 25
            self.stream.write(f"{self.label}: {pct:.0f}% of {total / 1e6:,.1f} MB\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


def cmd_data(args) -> int:
    from studio.core.data import download as dl
    if getattr(args, "data_command", None) != "fetch":
        raise E.StudioError("archstudio data: say what to do, e.g. 'archstudio data fetch --subset quick'")
    if getattr(args, "pretrained", None):
        return _fetch_pretrained(args.pretrained, args.cache)
    sub = dl.SUBSETS[args.subset]
    bar = ProgressBar(f"TinyStories {sub.name}")
    print(f"downloading {sub.what} from {dl.subset_url(sub.name)}", file=sys.stderr)
    try:
        path = dl.download(sub.name, args.cache, progress=bar)
    except dl.DownloadError as exc:
        bar.close()
        print(f"archstudio: {exc}", file=sys.stderr)
        return 1
    bar.close()
    print(f"cached at {path}")
    print(f"licence: {dl.LICENSE} ({dl.ATTRIBUTION})")
    return 0


def _fetch_pretrained(names: list[str], cache) -> int:
    """``data fetch --pretrained NAME…``: karpathy/tinyllamas checkpoints and their tokenizers."""
    from studio.core.runs import tinyllamas as tl
    from studio.core.data import download as dl
    for name in names:
        tl.model(name)  # an unknown name: exit 2 before any download
    for name in names:
        bars: dict = {}
        try:
            mp, tp = tl.download(name, cache, progress=lambda f, d, t: bars.setdefault(f, ProgressBar(f))(d, t))
        except dl.DownloadError as exc:
            for b in bars.values():
                b.close()
            print(f"archstudio: {exc}", file=sys.stderr)
            return 1
        for b in bars.values():
            b.close()
        print(f"{name}: cached at {mp} (tokenizer {tp}); licence {tl.LICENSE}")
    print("import one as a run: archstudio lesson prepare --pretrained NAME (or archstudio import-llama2c)")
    return 0
