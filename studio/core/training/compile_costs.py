"""What compiling the training step costs and gives back, measured per shape and kept in the user
cache (``compile-costs.json`` next to inductor's own cache), and the decision it feeds: compile
only when the compiled step wins back, in the seconds that remain, more than compiling takes.

A shape is the model's structure with its batch, context, precision, attention kernel and thread
count (what inductor's graph depends on). Each entry holds the latest measurements of that shape:
``cold_s`` (compiling with an empty cache, beside the training), ``warm_s`` (loading the compiled
step from the cache, a stall of the training loop) and ``ratio`` (compiled / eager step time).
A shape with an entry whose cache folder still exists is warm. Unmeasured shapes borrow the
median of this machine's other entries, or the priors below on a machine that never compiled.
"""
from __future__ import annotations

import hashlib
import json
import os
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

# Priors for a machine that never compiled (replaced by its own measurements after the first
# compile): a laptop compiles a classroom model's step in ~30-150 s (150 s measured at load 11 on
# 2 cores), loads it from the cache in ~5-16 s, and the compiled step takes ~0.75 of the eager one.
PRIOR = {"cold_s": 90.0, "warm_s": 15.0, "ratio": 0.75}
# Share of the eager training speed lost while a compile runs beside it (a niced child process on
# the same cores); a measured run replaces it per shape.
BESIDE = 0.35
FILE = "compile-costs.json"
# One marker file per shape being compiled now (``warming/KEY.json``: the compiling process's pid and
# start): a second process that would compile the same shape waits for that one instead (the app's
# background warm-up and a run started meanwhile never compile one shape twice at once).
WARMING = "warming"
STALE_S = 2 * 3600.0  # a marker this old is a crashed compile, whatever its pid says now


def _alive(pid: int) -> bool:
    if os.name == "nt":  # os.kill would terminate it there: the age alone decides
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def cache_root() -> Path | None:
    try:
        import platformdirs
        return Path(platformdirs.user_cache_dir("archstudio", appauthor=False))
    except ImportError:
        return None


def shape_key(model, batch: int, context: int, precision: str, attention: str, threads: int) -> tuple[str, str]:
    """(key, label) of a training step's shape: the model's structure (modules and parameter shapes,
    not values), batch, context, precision, attention kernel, threads and torch version."""
    import torch
    params = ";".join(f"{n}:{tuple(p.shape)}" for n, p in model.named_parameters())
    text = "\n".join([repr(model), params, f"B{batch} T{context} {precision} {attention} {threads}", torch.__version__])
    key = hashlib.sha256(text.encode()).hexdigest()[:20]
    name = getattr(model, "arch_id", type(model).__name__)
    label = f"{name} batch {batch} x context {context}, {precision}, {attention}, {threads} thread{'s' if threads != 1 else ''}"
    return key, label


class CostBook:
    """The per-shape measurements in ``root/compile-costs.json`` (written temp + rename)."""

    def __init__(self, root: Path | None = None):
        self.root = root if root is not None else cache_root()
        self.path = None if self.root is None else self.root / FILE

    def entries(self) -> dict:
        if self.path is None or not self.path.is_file():
            return {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}  # a damaged book is a cold machine, not an error
        return data if isinstance(data, dict) else {}

    def get(self, key: str) -> dict | None:
        e = self.entries().get(key)
        return e if isinstance(e, dict) else None

    def is_warm(self, key: str) -> bool:
        """Compiled before, and inductor's cache folder that holds it is still there."""
        e = self.get(key)
        return bool(e and e.get("cold_s") and e.get("inductor_dir") and Path(e["inductor_dir"]).is_dir())

    def record(self, key: str, label: str, **values) -> None:
        if self.path is None:
            return
        data = self.entries()
        e = dict(data.get(key) or {}, label=label, when=time.strftime("%Y-%m-%d %H:%M:%S"))
        e.update({k: (round(v, 4) if isinstance(v, float) else v) for k, v in values.items() if v is not None})
        data[key] = e
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError:
            pass  # a read-only cache only loses the measurement

    def _marker(self, key: str) -> Path | None:
        return None if self.root is None else self.root / WARMING / f"{key}.json"

    def warming(self, key: str) -> dict | None:
        """The live claim ({"pid", "since": epoch seconds}) of a process compiling ``key`` now, or None
        (a claim whose process is gone or that is older than STALE_S is removed)."""
        path = self._marker(key)
        try:
            claim = json.loads(path.read_text(encoding="utf-8")) if path is not None else None
        except (OSError, ValueError):
            return None
        if not isinstance(claim, dict) or not isinstance(claim.get("pid"), int):
            return None
        if _alive(claim["pid"]) and time.time() - float(claim.get("since", 0)) < STALE_S:
            return claim
        self.release(key, claim["pid"])
        return None

    def claim(self, key: str, pid: int | None = None) -> dict | None:
        """Mark ``key`` as compiled now by ``pid`` (this process); None when claimed, else the live
        claim of the process that compiles it already. Atomic (O_EXCL): two claimers, one wins."""
        path = self._marker(key)
        if path is None:
            return None
        pid = os.getpid() if pid is None else pid
        for _ in range(2):
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                other = self.warming(key)  # a stale claim is removed here, and claimed on the next try
                if other is not None:
                    return other
                continue
            except OSError:
                return None  # a read-only cache: nobody can mark, compile anyway
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump({"pid": pid, "since": time.time()}, f)
            return None
        return self.warming(key)

    def release(self, key: str, pid: int | None = None) -> None:
        """Remove ``key``'s claim (only ``pid``'s, when given)."""
        path = self._marker(key)
        if path is None:
            return
        if pid is not None:
            try:
                if json.loads(path.read_text(encoding="utf-8")).get("pid") != pid:
                    return
            except (OSError, ValueError, AttributeError):
                pass
        try:
            path.unlink()
        except OSError:
            pass

    def estimate(self, key: str, what: str) -> tuple[float, str]:
        """(value, where it came from) of ``cold_s``, ``warm_s`` or ``ratio`` for a shape."""
        e = self.get(key) or {}
        if e.get(what):
            return float(e[what]), "measured for this shape"
        if what == "cold_s" and e.get("cold_s_at_least"):  # a compile stopped by the end of its run
            return max(PRIOR["cold_s"], 1.2 * float(e["cold_s_at_least"])), "more than a stopped compile took"
        others = [float(v[what]) for v in self.entries().values() if isinstance(v, dict) and v.get(what)]
        if others:
            return statistics.median(others), f"median of {len(others)} other shape{'s' if len(others) > 1 else ''}"
        return PRIOR[what], "prior (never measured on this machine)"


@dataclass(frozen=True)
class CompilePlan:
    compile: bool
    warm: bool
    reason: str             # one line for run.yaml and the setup line
    gain_s: float = 0.0     # expected eager-equivalent seconds of training won (negative: lost)


def plan(book: CostBook, key: str, remaining_s: float) -> CompilePlan:
    """Whether compiling pays off in ``remaining_s`` seconds of training, in eager-equivalent
    seconds: eager trains ``r``; compiling trains ``min(r, c) (1 - BESIDE)`` while a cold compile runs
    beside, stalls ``w`` to load the step, then trains ``(r - c - w) / ratio``."""
    warm = book.is_warm(key)
    ratio, _ = book.estimate(key, "ratio")
    w, w_from = book.estimate(key, "warm_s")
    c, c_from = (0.0, "") if warm else book.estimate(key, "cold_s")
    other = None if warm else book.warming(key)
    if other is not None:  # another process compiles this shape now: the run waits for it beside its training
        c = max(0.0, c - (time.time() - float(other.get("since", time.time()))))
        c_from += f"; being compiled now by process {other['pid']}"
    r = float(remaining_s)
    compiled = min(r, c) * (1 - BESIDE) + max(0.0, r - c - w) / max(0.05, ratio)
    gain = compiled - r
    how = (f"warm cache: {w:.0f} s to load ({w_from})" if warm else
           f"cold cache: ≈{c:.0f} s to compile ({c_from}) + {w:.0f} s to load")
    speed = f"compiled step {ratio:.2f}× the eager one"
    if gain > 0:
        return CompilePlan(True, warm, f"compiles in the background ({how}; {speed}; ≈{gain:.0f} s won in {r:.0f} s)",
                           gain)
    return CompilePlan(False, warm, f"eager ({how}; {speed}: would not pay off in the {r:.0f} s left)", gain)
