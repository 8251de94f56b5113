"""MoE routing over training steps: expert load, aux loss and balancing bias per MoE layer.

The trainer calls ``RoutingHistory.record(step, model)`` after each step; the GUI reads bounded
``snapshot()``s from any thread.
"""
from __future__ import annotations

import math
import threading
from dataclasses import dataclass

import numpy as np


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

    def __init__(self, max_steps: int = 2048):
        self.max_steps = max(4, int(max_steps))
        self._lock = threading.Lock()
        self.clear()

    def clear(self) -> None:
        with self._lock:
            self._names: list[str] = []
            self._steps: list[int] = []
            self._load: list[list[np.ndarray]] = []
            self._aux: list[list[float]] = []
            self._bias: list[list[np.ndarray]] = []
            self._stride, self._seen, self.version = 1, 0, 0

    def record(self, step: int, model) -> None:
        """Read each MoE block's last-forward buffers (call right after the training step)."""
        moes = [(n, m) for n, m in model.named_modules() if hasattr(m, "tokens_per_expert") and hasattr(m, "expert_bias")]
        if not moes:
            return
        with self._lock:
            names = [n for n, _ in moes]
            if names != self._names or (self._steps and step <= self._steps[-1]):  # another model or run: start over
                self._names, self._steps = names, []
                self._load, self._aux, self._bias = [[] for _ in names], [[] for _ in names], [[] for _ in names]
                self._stride, self._seen = 1, 0
            self._seen += 1
            if (self._seen - 1) % self._stride:
                return
            self._steps.append(int(step))
            for i, (_, m) in enumerate(moes):
                c = m.tokens_per_expert.detach().float().cpu().numpy()
                self._load[i].append(c / c.sum() if c.sum() else c)
                a = m.aux_loss
                self._aux[i].append(float(a.detach()) if a is not None else math.nan)
                self._bias[i].append(m.expert_bias.detach().float().cpu().numpy().copy())
            if len(self._steps) > self.max_steps:
                self._steps = self._steps[::2]
                for lst in (self._load, self._aux, self._bias):
                    for i in range(len(lst)):
                        lst[i] = lst[i][::2]
                self._stride *= 2
            self.version += 1

    def snapshot(self) -> RoutingHistorySnapshot:
        with self._lock:
            return RoutingHistorySnapshot(
                layers=tuple(self._names), steps=np.array(self._steps, dtype=np.int64),
                load=tuple(np.array(x) for x in self._load), aux=tuple(np.array(x, dtype=np.float64) for x in self._aux),
                bias=tuple(np.array(x) for x in self._bias), version=self.version)
