"""MoE routing over training steps: expert load, aux loss and balancing bias per MoE layer.

Filled on the GUI thread from the training job's step events (``StepMetrics.routing``, read by
the trainer on the worker right after the step): the history never sees a model, so nothing is
shared across threads and no lock is needed. ``changed`` (psygnal) fires after each recorded
step; views redraw from ``snapshot()``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from psygnal import Signal


def load_cv(counts) -> float:
    c = np.asarray(counts, dtype=np.float64)
    m = c.mean() if c.size else 0.0
    return float(c.std() / m) if m > 0 else 0.0


@dataclass(frozen=True, eq=False)
class RoutingHistorySnapshot:
    layers: tuple  # MoE module names
    steps: np.ndarray  # (S,)
    load: tuple  # per layer (S, E): fraction of routed tokens each expert got at each step
    aux: tuple  # per layer (S,): auxiliary loss (NaN where the block had none)
    bias: tuple  # per layer (S, E): auxiliary-loss-free selection bias
    version: int

    def collapsed(self, i: int, last: int = 0) -> tuple:
        """Experts that got no token in any of the (last N) recorded steps of layer i."""
        ld = self.load[i][-last:] if last else self.load[i]
        return tuple(int(e) for e in np.flatnonzero(ld.sum(0) == 0)) if len(ld) else ()

    def cv(self, i: int) -> np.ndarray:
        return np.array([load_cv(row) for row in self.load[i]])


class RoutingHistory:
    """Expert load, aux loss and balancing bias over training steps, per MoE layer.

    Bounded: past ``max_steps`` records every other one is dropped (and only every other later
    step kept), so a 100k-step run still covers its whole history in fixed memory.
    """

    changed = Signal()

    def __init__(self, max_steps: int = 2048):
        self.max_steps = max(4, int(max_steps))
        self.clear()

    def clear(self) -> None:
        self._names: tuple = ()
        self._steps: list[int] = []
        self._load: list[list[tuple]] = []
        self._aux: list[list[float]] = []
        self._bias: list[list[tuple]] = []
        self._stride, self._seen, self.version = 1, 0, 0

    def add(self, ev) -> None:
        """Record a step event's routing (a StepMetrics; events without ``routing`` are ignored)."""
        sample = getattr(ev, "routing", None)
        if sample is None or not sample.layers:
            return
        step = int(ev.step)
        if sample.layers != self._names or (self._steps and step <= self._steps[-1]):  # another model or run
            self._names, self._steps = tuple(sample.layers), []
            self._load, self._aux, self._bias = ([[] for _ in sample.layers] for _ in range(3))
            self._stride, self._seen = 1, 0
        self._seen += 1
        if (self._seen - 1) % self._stride:
            return
        self._steps.append(step)
        for i in range(len(self._names)):
            self._load[i].append(sample.load[i])
            self._aux[i].append(math.nan if sample.aux[i] is None else float(sample.aux[i]))
            self._bias[i].append(sample.bias[i])
        if len(self._steps) > self.max_steps:
            self._steps = self._steps[::2]
            for lst in (self._load, self._aux, self._bias):
                for i in range(len(lst)):
                    lst[i] = lst[i][::2]
            self._stride *= 2
        self.version += 1
        self.changed.emit()

    def snapshot(self) -> RoutingHistorySnapshot:
        return RoutingHistorySnapshot(
            layers=self._names, steps=np.array(self._steps, dtype=np.int64),
            load=tuple(np.array(x, dtype=np.float64) for x in self._load),
            aux=tuple(np.array(x, dtype=np.float64) for x in self._aux),
            bias=tuple(np.array(x, dtype=np.float64) for x in self._bias), version=self.version)
