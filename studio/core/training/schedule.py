"""The learning-rate schedule, one function for step counts and time budgets: linear warmup, then a
decay shape (cosine, or warmup-stable-decay: flat, then linear over the last ``DECAY``) from the peak
to the floor over the run's progress (a share of its steps, or of its budget's seconds: budget.py)."""
from __future__ import annotations

import math

DECAY = 0.2  # share of the run spent decaying under warmup-stable-decay (WSD's cool-down)


def decayed(shape: str, progress: float, peak: float, floor: float) -> float:
    """The learning rate after warmup at ``progress`` (0 … 1) of the run, for ``shape`` cosine or wsd."""
    p = min(1.0, max(0.0, progress))
    if shape == "cosine":
        return floor + 0.5 * (1.0 + math.cos(math.pi * p)) * (peak - floor)
    into = (p - (1.0 - DECAY)) / DECAY
    return peak if into <= 0 else peak + (floor - peak) * min(1.0, into)


def lr_at(step: int, cfg) -> float:
    """Learning rate of the step with 0-based index ``step`` of a step-counted run (TrainConfig)."""
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    min_lr = cfg.lr * cfg.min_lr_ratio
    if cfg.schedule == "wsd":  # the decay's steps counted as the step-counted recipe always did
        decay_start = cfg.warmup + int((1.0 - DECAY) * max(0, cfg.steps - cfg.warmup))
        if step < decay_start:
            return cfg.lr
        into = (step - decay_start + 1) / max(1, cfg.steps - decay_start)
        return decayed("wsd", 1.0 - DECAY + DECAY * into, cfg.lr, min_lr)
    return decayed("cosine", (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup), cfg.lr, min_lr)
