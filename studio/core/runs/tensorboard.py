"""A run's metrics as TensorBoard event files (RUN_DIR/tensorboard/), written with tensorboardX.

The records are the ones metrics.jsonl holds (``StepMetrics.record()``, ``EvalMetrics.record()``,
the run's setup and its final line): every number becomes a scalar named ``<kind>/<key>``
(``step/loss``, ``eval/val_bpb``, ``step/tokens_per_s``) at the record's step, so runs open in
the tool people already compare runs with. Lists (per-layer expert load) and text are left to
metrics.jsonl. ``mirror_metrics`` writes the records of a finished run the same way.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

from studio.core.formats.optional import require

FOLDER = "tensorboard"
SKIP = {"kind", "step"}


class TensorBoardLog:
    def __init__(self, run_dir):
        (tbx,) = require("TensorBoard logging", "tensorboardX", extra="tensorboard")
        self.path = Path(run_dir) / FOLDER
        self.path.mkdir(parents=True, exist_ok=True)
        self._writer = tbx.SummaryWriter(logdir=str(self.path), flush_secs=10)
        self.written = 0

    def write(self, record: dict) -> int:
        """Each number of one metrics record as a scalar; returns how many were written."""
        kind, step = str(record.get("kind", "step")), record.get("step")
        if not isinstance(step, int) or isinstance(step, bool):
            return 0
        n = 0
        for key, value in record.items():
            if key in SKIP or isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            if isinstance(value, float) and not math.isfinite(value):
                continue
            self._writer.add_scalar(f"{kind}/{key}", value, step)
            n += 1
        self.written += n
        return n

    def close(self) -> None:
        self._writer.flush()
        self._writer.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def mirror_metrics(run_dir) -> int:
    """Write every record of RUN_DIR/metrics.jsonl as TensorBoard scalars; returns how many."""
    from studio.core.runs.rundir import RunDir
    run = RunDir(run_dir)
    with TensorBoardLog(run.path) as log:
        if run.metrics_path.is_file():
            for line in run.metrics_path.read_text(encoding="utf-8").splitlines():
                try:
                    record = json.loads(line)
                except ValueError:
                    continue  # a line cut by a kill mid-write: metrics.jsonl's readers skip it too
                if isinstance(record, dict):
                    log.write(record)
        return log.written
