"""What a training run is asked to do (TrainConfig, one frozen dataclass with its intervals derived
once by ``for_run``), the fast defaults of the apps, and the device it runs on."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from studio.core import errors as E

if TYPE_CHECKING:  # torch is imported where a device is picked: the GUI builds a TrainConfig at the
    import torch   # click without paying seconds of importing torch on its thread (issue 21)


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 200                 # the run's total optimizer steps (sets the schedule)
    batch_size: int = 8
    context: int = 256
    lr: float = 3e-3                 # classroom models are small: measured fastest to stories in a minute
    min_lr_ratio: float = 0.1
    schedule: str = "cosine"         # cosine, or wsd (warmup-stable-decay: flat, then linear in the last 20%)
    warmup_steps: int | None = None  # default: 5% of the steps, at most 100
    weight_decay: float = 0.1
    beta1: float = 0.9
    beta2: float = 0.95
    grad_clip: float = 1.0
    optimizer: str = "adamw"         # adamw, muon (Muon for hidden matrices + AdamW for the rest), or
                                     # muonclip (muon + QK-clip of attention logits at qk_clip_tau)
    qk_clip_tau: float = 100.0       # Kimi K2's threshold
    muon_lr: float = 0.02
    precision: str = "fp32"          # fp32; bf16 (autocast, weights stay fp32); fp8 (simulated, see fp8.py);
                                     # auto: bf16 where native and measured faster (FAST, the apps' default)
    compile: bool | str = False      # torch.compile the step (inductor), eager where that fails; "auto":
                                     # only for runs long enough to win back the compile time
    attention: str = "sdpa"          # auto: causal attention with head size 8/16 runs the C++ small-head
                                     # kernel on a CPU (same function, faster; FAST); sdpa: always SDPA
    minutes: float | None = None     # train for this wall-clock budget instead of ``steps``
    read_every: int = 0              # steps between reads of the loss; 0 = every step on a CPU, 16 elsewhere
    grad_accum: int = 1
    eval_interval: int = 50
    eval_batches: int = 4
    sample_interval: int = 100       # 0 = no samples
    sample_tokens: int = 96
    checkpoint_interval: int = 100   # 0 = only on stop and at the end
    log_interval: int = 1            # steps between metrics.jsonl step records
    seed: int = 1337
    threads: int | None = None
    device: str = "cpu"              # cpu, cuda, mps or auto

    @property
    def budget_s(self) -> float | None:
        return None if self.minutes is None else 60.0 * float(self.minutes)

    @property
    def warmup(self) -> int:
        return self.warmup_steps if self.warmup_steps is not None else min(100, max(1, self.steps // 20))

    @classmethod
    def for_run(cls, steps: int | None = None, minutes: float | None = None, **given) -> TrainConfig:
        """A run's config with its intervals derived once, the same for the CLI, the panel, lessons
        and races: a time budget evaluates every 10 % of its time (eval_interval 0), checkpoints every
        100 steps, logs every step and decays warmup-stable-decay; a step count evaluates ~10 times,
        checkpoints ~10 times and logs ~2,000 step records. ``given`` (not None) overrides any field."""
        timed = minutes is not None
        steps = steps or cls.steps
        derived = {"steps": steps, "minutes": minutes, "sample_interval": 0,
                   "eval_interval": 0 if timed else min(100, max(10, steps // 10)),
                   "checkpoint_interval": 100 if timed else max(100, steps // 10),
                   "log_interval": 1 if timed else max(1, steps // 2000),
                   "schedule": "wsd" if timed else cls.schedule}
        return cls(**(derived | {k: v for k, v in given.items() if v is not None}))

    @classmethod
    def from_record(cls, stored: dict, **over) -> TrainConfig:
        """A run's config as its run.yaml recorded it (unknown keys of another version left out),
        with ``over`` (the machine's threads and device, a continuation's steps) on top."""
        known = set(cls.__dataclass_fields__)
        return cls(**({k: v for k, v in (stored or {}).items() if k in known} | over))


# What the CLI and the app train with unless told otherwise: the fastest way this machine runs the
# very same step (tests and the library keep the plain fp32 eager defaults, whose numbers are exact).
FAST = {"precision": "auto", "compile": "auto", "attention": "auto"}


def pick_device(name: str) -> torch.device:
    import torch
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        return torch.device("mps" if mps is not None and mps.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise E.StudioError("--device cuda: this torch build or machine has no CUDA device; use --device cpu")
    return torch.device(name)
