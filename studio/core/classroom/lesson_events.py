"""What preparing a lesson tells as it goes: one frozen dataclass per kind of event, carried to the CLI
and the lesson dialog (consumers dispatch on the type, as for training's events).

Every event has the fields of :class:`LessonEvent`: where the lesson stands (``index`` of the model,
``total`` models, the fractions done) and one ``message`` line the CLI prints and the dialog logs."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LessonEvent:
    """The fields every lesson event has (not yielded itself: each kind below is)."""
    index: int = 0                  # 0-based position of the model in the lesson (``total`` for the end)
    total: int = 0
    model: str = ""
    message: str = ""
    model_fraction: float = 0.0     # 0..1 of the current model
    overall_fraction: float = 0.0   # 0..1 of the whole lesson
    eta_s: float | None = None      # whole lesson, from the measured speed


@dataclass(frozen=True)
class LessonStarted(LessonEvent):
    """The lesson's models are listed and its data chosen."""


@dataclass(frozen=True)
class ModelStarted(LessonEvent):
    """A model's training (or its import) begins; the message says its size and plan."""
    steps: int = 0
    params: int = 0


@dataclass(frozen=True)
class ModelResumed(LessonEvent):
    """An unfinished model goes on from its checkpoint."""
    step: int = 0
    steps: int = 0


@dataclass(frozen=True)
class ModelSkipped(LessonEvent):
    """Already prepared (or a damaged entry of the index, left as it is)."""


@dataclass(frozen=True)
class LessonStep(LessonEvent):
    step: int = 0
    steps: int = 0                  # the steps this model is expected to reach (a time budget re-fits it)
    params: int = 0


@dataclass(frozen=True)
class LessonEval(LessonEvent):
    step: int = 0
    steps: int = 0
    val_bpb: float | None = None
    params: int = 0


@dataclass(frozen=True)
class ModelDone(LessonEvent):
    """A model is trained (or imported) and marked done in the index."""
    step: int = 0
    steps: int = 0
    val_bpb: float | None = None


@dataclass(frozen=True)
class ModelCompiling(LessonEvent):
    """A done model's training step is compiled into the cache for the class ("Train N more min")."""


@dataclass(frozen=True)
class ModelFailed(LessonEvent):
    """One model failed (said in the message); the lesson goes on with the next."""


@dataclass(frozen=True)
class LessonStopped(LessonEvent):
    """Stopped on request; the same command (or Resume) goes on from here."""
    step: int = 0
    steps: int = 0
    val_bpb: float | None = None


@dataclass(frozen=True)
class LessonDone(LessonEvent):
    """Every model was tried; the message counts the prepared ones."""

