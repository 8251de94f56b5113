"""What ``train_steps`` yields: frozen dataclasses of plain numbers / numpy arrays only, so a
QThread can carry them to the GUI and the CLI can write them to metrics.jsonl unchanged."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np


@dataclass(frozen=True)
class StepMetrics:
    step: int               # optimizer steps done (1-based after the first step)
    tokens: int             # training tokens seen so far
    loss: float             # cross-entropy of this step's batch (without aux terms)
    lr: float
    grad_norm: float        # before clipping
    tokens_per_s: float
    elapsed_s: float
    aux_loss: float | None = None      # MoE load-balancing loss where the model has one
    mtp_loss: float | None = None
    expert_load: tuple = field(default=())  # per MoE layer: np.ndarray of token fractions per expert

    def record(self) -> dict:
        d = {k: v for k, v in asdict(self).items() if k != "expert_load" and v is not None}
        if self.expert_load:
            d["expert_load"] = [np.round(a, 4).tolist() for a in self.expert_load]
        return {"kind": "step", **d}


@dataclass(frozen=True)
class EvalMetrics:
    step: int
    tokens: int
    val_loss: float
    val_bpb: float          # bits per byte: comparable across tokenizers
    train_loss: float       # mean of the recent training losses

    def record(self) -> dict:
        return {"kind": "eval", **asdict(self)}


@dataclass(frozen=True)
class Sample:
    step: int
    text: str


@dataclass(frozen=True)
class CheckpointSaved:
    step: int
    path: str
    reason: str             # "interval", "stop", "end"


@dataclass(frozen=True)
class Finished:
    step: int
    tokens: int
    reason: str             # "done" (reached the step budget) or "stopped"
    train_loss: float
    val_loss: float
    val_bpb: float
    tokens_per_s: float
