"""Bounded metric buffers for live plots: memory stays fixed over 100k+ steps.

When a series fills its capacity it keeps every other point (and from then on records only
every 2nd, 4th, ... point), so the whole run stays visible at a coarser resolution.
"""
from __future__ import annotations

import numpy as np


class Series:
    def __init__(self, capacity: int = 4096):
        self.capacity = max(16, int(capacity)) // 2 * 2
        self._x = np.empty(self.capacity)
        self._y = np.empty(self.capacity)
        self._n = 0
        self._stride = 1
        self._seen = 0

    def append(self, x: float, y: float) -> None:
        self._seen += 1
        if (self._seen - 1) % self._stride:
            return
        if self._n == self.capacity:
            half = self.capacity // 2
            self._x[:half] = self._x[0:self.capacity:2]
            self._y[:half] = self._y[0:self.capacity:2]
            self._n = half
            self._stride *= 2
            if (self._seen - 1) % self._stride:
                return
        self._x[self._n] = x
        self._y[self._n] = y
        self._n += 1

    def __len__(self) -> int:
        return self._n

    @property
    def x(self) -> np.ndarray:
        return self._x[: self._n]

    @property
    def y(self) -> np.ndarray:
        return self._y[: self._n]

    def clear(self) -> None:
        self._n, self._stride, self._seen = 0, 1, 0


class MetricsHistory:
    """Named series keyed by step and by tokens seen (the plots' two x axes)."""

    NAMES = ("loss", "bpb", "val_loss", "val_bpb", "lr", "grad_norm", "tokens_per_s")  # bpb: the train loss in bits/byte

    def __init__(self, capacity: int = 4096):
        self.capacity = capacity
        self.by_step = {n: Series(capacity) for n in self.NAMES}
        self.by_tokens = {n: Series(capacity) for n in self.NAMES}
        self.version = 0  # bumps on every change, so a timer redraws only when needed

    def add(self, event) -> None:
        from studio.core.training.events import EvalMetrics, StepMetrics
        if isinstance(event, StepMetrics):
            vals = {"loss": event.loss, "lr": event.lr, "grad_norm": event.grad_norm, "tokens_per_s": event.tokens_per_s}
            if event.bpb is not None:
                vals["bpb"] = event.bpb
        elif isinstance(event, EvalMetrics):
            vals = {"val_loss": event.val_loss, "val_bpb": event.val_bpb}
        else:
            return
        for k, v in vals.items():
            self.by_step[k].append(event.step, v)
            self.by_tokens[k].append(event.tokens, v)
        self.version += 1

    def add_record(self, rec: dict) -> None:
        """A metrics.jsonl line (for overlays of earlier runs)."""
        step, tokens = rec.get("step"), rec.get("tokens", 0)
        if step is None:
            return
        for k in self.NAMES:
            v = rec.get(k)
            if isinstance(v, (int, float)):
                self.by_step[k].append(step, v)
                self.by_tokens[k].append(tokens, v)
        self.version += 1

    def series(self, name: str, x: str = "step") -> Series:
        return (self.by_step if x == "step" else self.by_tokens)[name]

    def clear(self) -> None:
        for d in (self.by_step, self.by_tokens):
            for s in d.values():
                s.clear()
        self.version += 1


def smooth(y: np.ndarray, alpha: float = 0.05) -> np.ndarray:
    """Exponential moving average with bias correction (as TensorBoard's smoothing)."""
    if len(y) == 0:
        return y
    out = np.empty_like(y, dtype=float)
    acc, w = 0.0, 0.0
    for i, v in enumerate(y):
        acc = (1 - alpha) * acc + alpha * v
        w = (1 - alpha) * w + alpha
        out[i] = acc / w
    return out
