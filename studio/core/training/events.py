"""What ``train_steps`` yields: frozen dataclasses of plain numbers / numpy arrays only, so a
QThread can carry them to the GUI and the CLI can write them to metrics.jsonl unchanged."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np


@dataclass(frozen=True)
class RoutingSample:
    """Every MoE layer's routing at one step, read by the trainer right after the step (on the
    worker, where the model is): plain tuples of floats, so the GUI thread can keep a routing
    history from step events without ever touching the live model."""
    layers: tuple           # MoE module names, e.g. ("layers.1.feed_forward", …)
    load: tuple             # per layer: a tuple of token fractions per routed expert (sums to 1)
    aux: tuple              # per layer: the auxiliary balance loss (NaN where the block has none)
    bias: tuple             # per layer: the auxiliary-loss-free selection bias per expert


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
    bpb: float | None = None           # the loss in bits per byte (comparable across tokenizers)
    planned_steps: int = 0             # the steps this run is expected to reach (a time budget re-fits it)
    eta_s: float | None = None         # seconds of training left (steps, evals, samples, checkpoints)
    routing: RoutingSample | None = None  # MoE models: the routing at this step (the Routing dock's history)

    def record(self) -> dict:
        d = {k: v for k, v in asdict(self).items() if k not in ("expert_load", "routing") and v is not None}
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
    train_bpb: float = float("nan")

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
class Preparing:
    """A part of the preparing phase starts (its time counts in a time budget: the user waits for it)."""
    what: str               # e.g. "measuring bf16 against fp32", "compiling the training step"


@dataclass(frozen=True)
class SpeedSetup:
    """How the steps will run, decided while preparing (also written to run.yaml ``runtime``)."""
    threads: int
    precision: str          # fp32, bf16 or fp8
    precision_reason: str
    step: str               # "compiled (inductor)" or "eager (…why…)"
    compiled: bool
    preparing_s: float      # from the command or click to the first step (part of a time budget)
    attention: str = "sdpa"  # which attention kernel runs, and the measurement that chose it

    def record(self) -> dict:
        return {"kind": "setup", **asdict(self)}


@dataclass(frozen=True)
class StepSwitched:
    """A speed-up took over between two steps (the small-head kernel built, the compiled step
    loaded), or a planned one was given up; ``note`` says which and why (run.yaml ``runtime``)."""
    step: int
    what: str               # "attention" or "step"
    note: str
    compiled: bool          # whether the steps now run compiled


@dataclass(frozen=True)
class Finished:
    step: int
    tokens: int
    reason: str             # "done" (reached the step or time budget) or "stopped"
    train_loss: float
    val_loss: float
    val_bpb: float
    tokens_per_s: float
    train_bpb: float = float("nan")
    elapsed_s: float = 0.0  # wall time of this session from the command or click (preparing included)
    budget_s: float | None = None  # the time budget of this segment, if the run trains for a time
    final_lr: float | None = None

    def record(self) -> dict:
        return {"kind": "finished", **{k: v for k, v in asdict(self).items() if v is not None}}
