"""Training: a Qt-free generator (``train_steps``) yielding frozen-dataclass events, and bounded
metric buffers for live plots.

Names are loaded on first use, so that ``studio.core.training.setup`` and the events can be
imported (e.g. to refuse bad CLI input) without paying for importing torch.
"""
import importlib

_WHERE = {
    **dict.fromkeys(("CheckpointSaved", "EvalMetrics", "Finished", "Preparing", "Sample", "SpeedSetup", "StepMetrics"),
                    "events"),
    **dict.fromkeys(("MetricsHistory", "Series", "smooth"), "history"),
    **dict.fromkeys(("TrainConfig", "TrainingDiverged", "evaluate", "lr_at", "make_optimizer", "sample_text",
                     "train_steps", "pick_device", "FAST"), "trainer"),
    "Budget": "budget",
}
__all__ = sorted(_WHERE)


def __getattr__(name):
    if name in _WHERE:
        return getattr(importlib.import_module(f"studio.core.training.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'studio.core.training' has no attribute {name!r}")
