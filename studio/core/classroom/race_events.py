"""What a race tells as it goes: one frozen dataclass per kind of event (plain numbers and strings,
so the GUI's worker can carry them and the CLI print them). While the race is set up it yields the
trainer's ``Preparing`` (studio.core.training.events): its seconds count in the race's minutes."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RaceStarted:
    """The models are built and timed; the steps are about to start."""
    title: str
    message: str
    steps: int                   # the steps the race is expected to reach (a time budget re-fits it)
    preparing_s: float = 0.0     # from the command or click to here (part of the minutes)


@dataclass(frozen=True)
class RaceStep:
    """One model took the step on the batch every model takes."""
    model: int                   # index of the model
    name: str
    step: int
    steps: int                   # expected steps (re-fitted to the wall clock)
    tokens: int
    loss: float
    wall_s: float                # this model's own training time so far
    flops: float                 # its training FLOPs so far, 6 · active params · tokens
    batch: str                   # hash of the batch this model just trained on
    elapsed_s: float = 0.0       # the race's wall clock from the command or click


@dataclass(frozen=True)
class RaceEval:
    """A model's held-out bits per byte (every model evaluates at the same steps)."""
    model: int
    name: str
    step: int
    steps: int
    tokens: int
    val_bpb: float
    wall_s: float
    flops: float


@dataclass(frozen=True)
class RaceEnd:
    """The race's last event (each ending below is its own class)."""
    title: str
    message: str
    step: int                    # steps taken
    steps: int
    table: tuple                 # the final rows (race.yaml's table)
    elapsed_s: float = 0.0       # from the command or click to the table written


@dataclass(frozen=True)
class RaceDone(RaceEnd):
    """Ran its steps or its minutes."""


@dataclass(frozen=True)
class RaceStopped(RaceEnd):
    """Stopped on request; the table holds where each model got to."""
