"""Milestone experiments: the training-pipeline milestones (FlashAttention, Chinchilla, R1, o1, ...)
run as small live experiments. Each module has ``MILESTONE`` and ``job(request, control)``;
:func:`run` picks the module by milestone id. Modules load on first use (they import torch)."""
from __future__ import annotations

import importlib
from collections.abc import Iterator

from studio.core import errors as E

# milestone id -> module in this package
EXPERIMENTS = {
    "2022-05-flashattention": "flashattention",
    "2022-03-chinchilla": "chinchilla",
    "2025-01-deepseek-r1": "grpo",
    "2024-09-o1": "test_time",
    "2022-03-instructgpt": "instructgpt",
    "2022-11-chatgpt": "chatgpt",
}


def experiment_ids() -> list[str]:
    return list(EXPERIMENTS)


def has_experiment(milestone: str) -> bool:
    return milestone in EXPERIMENTS


def module_for(milestone: str):
    if milestone not in EXPERIMENTS:
        raise E.StudioError(f"{milestone!r} has no experiment; choose one of {', '.join(EXPERIMENTS)}")
    return importlib.import_module(f"studio.core.experiments.{EXPERIMENTS[milestone]}")


def run(request, control) -> Iterator:
    """The events of the experiment ``request.milestone`` (a core job, as training is)."""
    return module_for(request.milestone).job(request, control)
