"""What preparing a lesson tells as it goes: one event per step of the lesson, carried to the CLI
and the lesson dialog (the lesson's job and the one model's training both yield them)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LessonEvent:
    kind: str            # "start", "model", "skip", "resume", "step", "eval", "model_done", "failed", "done"
    index: int           # 0-based position of the model in the lesson (len(models) for "done")
    total: int
    model: str
    message: str
    model_fraction: float = 0.0     # 0..1 of the current model
    overall_fraction: float = 0.0   # 0..1 of the whole lesson
    eta_s: float | None = None      # whole lesson, from the measured speed
    step: int = 0
    steps: int = 0
    val_bpb: float | None = None
    params: int = 0
