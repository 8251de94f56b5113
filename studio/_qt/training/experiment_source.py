"""o1's model, chosen in its experiment view: the RL policy of a finished DeepSeek-R1 experiment
(the issue's "on the R1 experiment's model"), newest first, or R1's base model pretrained on the
spot. Without this the app could only ever sample the base model: the CLI's ``--from`` had no
counterpart in the window."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QComboBox

R1 = "2025-01-deepseek-r1"
BASE = ""  # the item's data for "pretrain the base model here"


def finished_r1_folders(parent: Path, most: int = 12) -> list[Path]:
    """Finished R1 experiment folders under ``parent`` (the app's experiments folder), newest first."""
    from studio.core.errors import StudioError
    from studio.core.experiments.common import read_result
    found = []
    try:
        folders = [p for p in parent.iterdir() if p.is_dir() and p.name.startswith(R1)]
    except OSError:
        return []
    for p in folders:
        try:
            data = read_result(p)  # the core's one reader of experiment.json
        except StudioError:
            continue
        weights = data.get("weights")
        if data.get("milestone") == R1 and isinstance(weights, dict) and weights.get("policy"):
            found.append((p.stat().st_mtime, p))
    return [p for _, p in sorted(found, reverse=True)[:most]]


class SourceChoice(QComboBox):
    """Which model o1 samples: a finished R1 run's policy, or the base model pretrained here."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setToolTip("o1 samples the RL policy of a finished DeepSeek-R1 experiment (run that one first), "
                        "or R1's base model pretrained here when there is none")
        self.setSizeAdjustPolicy(QComboBox.AdjustToContents)
        self.refresh()

    def refresh(self) -> None:
        from studio.core.experiments.common import default_experiment_dir
        keep = self.currentData()
        self.clear()
        for p in finished_r1_folders(default_experiment_dir(R1).parent):
            self.addItem(f"R1's RL policy: {p.name}", str(p))
        self.addItem("R1's base model, pretrained here", BASE)
        i = self.findData(keep) if keep is not None else -1
        self.setCurrentIndex(max(0, i))

    def source(self) -> str | None:
        return self.currentData() or None
