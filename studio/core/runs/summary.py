"""One line saying what a run folder holds: when it was trained, for how long, how far it got.
Read from run.yaml and the end of metrics.jsonl only (streamed), remembered per file times:
a menu or a label may ask often, the files change rarely."""
from __future__ import annotations

import time
from pathlib import Path

from studio.core.runs.rundir import RunDir

_SUMMARIES: dict = {}  # (folder, file times) -> line


def run_summary(run_dir) -> str:
    """"trained 2026-12-06 14:03 for 2.0 min, 51,200 tokens, held-out 2.31 bits/byte"; raises
    what reading run.yaml or metrics.jsonl raises (callers pass damaged folders over)."""
    run = RunDir(run_dir)
    stamp = tuple(p.stat().st_mtime_ns if p.is_file() else 0 for p in (run.config_path, run.metrics_path))
    key = (str(Path(run_dir)), stamp)
    if key not in _SUMMARIES:
        if len(_SUMMARIES) > 256:
            _SUMMARIES.clear()
        _SUMMARIES[key] = _summarize(run)
    return _SUMMARIES[key]


def _summarize(run: RunDir) -> str:
    m = run.read_metrics(points=2)  # typed and streamed: only the last records are needed
    step, ev = m.last.get("step", {}), m.last.get("eval", {})
    if not m.read:
        return "not trained yet (no metrics)"
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(run.metrics_path.stat().st_mtime))
    minutes = step.get("elapsed_s", 0) / 60
    bpb = f", held-out {ev['val_bpb']:.2f} bits/byte" if "val_bpb" in ev else ""
    return f"trained {when} for {minutes:.1f} min, {step.get('step', 0):,} steps, {step.get('tokens', 0):,} tokens{bpb}"
