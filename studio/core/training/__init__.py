"""Training: a Qt-free generator (``train_steps``) yielding frozen-dataclass events, and bounded
metric buffers for live plots.

Names are loaded on first use, so that ``studio.core.training.setup`` and the events can be
imported (e.g. to refuse bad CLI input) without paying for importing torch.
"""
import importlib

_WHERE = {
    **dict.fromkeys(("CheckpointSaved", "EvalMetrics", "Finished", "Preparing", "RoutingSample", "Sample", "SpeedSetup",
                     "StepMetrics", "StepSwitched"),
                    "events"),
    **dict.fromkeys(("MetricsHistory", "Series", "smooth"), "history"),
    **dict.fromkeys(("TrainConfig", "pick_device", "FAST"), "config"),
    **dict.fromkeys(("Trainer", "evaluate", "sample_text", "train_steps"), "trainer"),
    "TrainingDiverged": "readout", "lr_at": "schedule", "make_optimizer": "optimizer",
    "Budget": "budget",
}
__all__ = sorted(_WHERE)


def __getattr__(name):
    if name in _WHERE:
        return getattr(importlib.import_module(f"studio.core.training.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'studio.core.training' has no attribute {name!r}")
