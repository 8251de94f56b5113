"""A first start's background warm-up of the default training shape (issue 21 item 3).

On a fresh laptop the first "Train for N min" pays the small-head kernel's C++ build, the precision
probe and (where the cost model says it pays) the step's compile inside its budget, or trains eagerly.
This job does the three ahead of time for exactly the run the Training dock's Start would begin now
(its model, data, tokenizer, batch, context, threads), then for the run its "Train for N min" of 2
minutes or more would begin (a larger batch and context: budget_variants): in a niced child process (no torch in the
app's process, nothing holding the GUI's GIL; closing the app kills it with everything it started),
it prepares that run in a scratch folder (the data, the tokenizer and the token cache the first run
then reads), builds the kernel into its cache, measures the probe where ``step._probe_precision``
reads it (the cost book, under the run's own "eager probe" key), and compiles the step of the
precision the compiled run would train in (``warm.compile_shape``: inductor's cache and the cost
book, under the claim that keeps a run started meanwhile from compiling the same shape again).

    for ev in first_warm_job(request, control):   # WarmStage…, then WarmDone (or a StudioError)

The child is ``python -m studio.cli.first_warm_child -`` (reads the request as JSON, prints one JSON
line per stage and one with the result); :func:`warm_stages` is its body.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

from studio.core import errors as E

OFF_ENV = "ARCHSTUDIO_NO_BACKGROUND_WARM"  # set to 1: a first start prepares nothing in the background
CHILD = [sys.executable, "-m", "studio.cli.first_warm_child", "-"]
POLL_S = 0.25  # how often the job looks at its stop flag while the child works


def off_by_env() -> bool:
    return os.environ.get(OFF_ENV, "") not in ("", "0")


@dataclass(frozen=True)
class FirstWarmRequest:
    """The runs the Training dock's Start would begin (TrainRequest's fields, the configs as dicts)."""
    model_spec: str
    data_spec: str | None
    tokenizer: str | None
    vocab_size: int | None
    tokenizer_model: str | None
    configs: tuple  # dataclasses.asdict(TrainConfig) of each run to warm, in order (budget_variants)

    def fingerprint(self) -> str:
        """The request with the versions that shape a compiled graph (no torch import: metadata)."""
        from importlib import metadata
        try:
            versions = [metadata.version("torch"), metadata.version("llm-architecture-studio")]
        except metadata.PackageNotFoundError:
            versions = []
        text = json.dumps([dataclasses.asdict(self), versions], sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:20]


@dataclass(frozen=True)
class WarmStage:
    what: str  # "building the small-head attention kernel", "measuring bf16 against fp32", …


@dataclass(frozen=True)
class WarmDone:
    label: str         # the shape ("2023-07-llama-2 batch 8 x context 128, bf16, small-head, 1 thread")
    note: str          # one line: what is warm now, or why the step stays eager
    already: bool      # warm before this job started: nothing was done
    wall_s: float
    cpu_s: float       # the child's CPU seconds, its compile workers included
    detail: str = ""   # each shape's full line (label, compile seconds, speed-up)


def budget_variants(config: dict) -> tuple[dict, ...]:
    """The panel's run (``config``, asdict of its TrainConfig), then the run its "Train for N min" of
    2 minutes or more trains (setup.budget_recipe's batch, context and optimizer, each only where the
    panel still holds the short recipe's value: the panel's own rule), unless that is the same shape."""
    from studio.core.training.setup import LONG_BUDGET_MIN, budget_recipe
    short, long_ = budget_recipe(None), budget_recipe(LONG_BUDGET_MIN)
    if config.get("minutes") and config["minutes"] >= LONG_BUDGET_MIN:
        return (config,)
    timed = dict(config, minutes=max(LONG_BUDGET_MIN, 3.0), schedule="wsd")
    for field in ("batch_size", "context", "optimizer"):
        if config.get(field) == short[field]:
            timed[field] = long_[field]
    same = all(timed[f] == config.get(f) for f in ("batch_size", "context")) and \
        (timed["optimizer"] == "muonclip") == (config.get("optimizer") == "muonclip")
    return (config,) if same else (config, timed)


def is_recipe_warm(request: FirstWarmRequest, book=None) -> bool:
    """This very request was warmed before and its compiled steps are still in the cache (no torch)."""
    from studio.core.training import compile_costs as cc
    book = book if book is not None else cc.CostBook()
    fp = request.fingerprint()
    warm = sum(1 for k, e in book.entries().items() if isinstance(e, dict) and e.get("first_warm") == fp
               and book.is_warm(k))
    return warm >= len(request.configs)


def first_warm_job(request: FirstWarmRequest, control, command: list[str] | None = None) -> Iterator[object]:
    """Run the child and relay its stages; stopped (the app closes), the child and its workers are
    killed. ``command`` replaces the child's program (tests)."""
    if is_recipe_warm(request):
        yield WarmDone("", "already warm", True, 0.0, 0.0)
        return
    child = _Child(command or CHILD, json.dumps(dataclasses.asdict(request)))
    result = None
    try:
        while result is None:
            if control.should_stop():
                return
            msg = child.next(POLL_S)
            if msg is _Child.ENDED:
                break
            if isinstance(msg, dict) and "stage" in msg:
                yield WarmStage(str(msg["stage"]))
            elif isinstance(msg, dict) and isinstance(msg.get("result"), dict):
                result = msg["result"]
    finally:
        child.stop()
    if result is None or not result.get("ok"):
        why = (result or {}).get("error") or child.last_error()
        raise E.StudioError(f"preparing training in the background failed: {why}")
    yield WarmDone(str(result.get("label", "")), str(result.get("note", "")), bool(result.get("already")),
                   time.perf_counter() - child.t0, float(result.get("cpu_s") or 0.0), str(result.get("detail", "")))


class _Child:
    """The child process, its JSON lines read by a thread into a queue (portable: no select on pipes)."""
    ENDED = object()

    def __init__(self, command: list[str], request_json: str):
        self.t0 = time.perf_counter()
        self.err = tempfile.TemporaryFile(mode="w+", encoding="utf-8")
        self.proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.err,
                                     text=True, start_new_session=os.name == "posix")
        self.proc.stdin.write(request_json)
        self.proc.stdin.close()
        self.lines: queue.Queue = queue.Queue()
        self.reader = threading.Thread(target=self._read, name="archstudio-first-warm-reader", daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            if line.startswith("{"):
                try:
                    self.lines.put(json.loads(line))
                except ValueError:
                    pass  # a library's own output that happens to start with a brace
        self.lines.put(self.ENDED)

    def next(self, timeout: float):
        try:
            return self.lines.get(timeout=timeout)
        except queue.Empty:
            return None

    def stop(self) -> None:
        from studio.core.training.warm import kill_group
        kill_group(self.proc)  # (an ended child is only reaped)
        self.reader.join(5.0)
        self.proc.stdout.close()

    def last_error(self) -> str:
        self.err.seek(0)
        lines = [ln for ln in self.err.read().strip().splitlines() if ln.strip()]
        return lines[-1][:200] if lines else f"the child ended with exit status {self.proc.poll()}"
