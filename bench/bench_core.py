"""Core benchmarks: accounting of the largest paper preset (in-process) and `archstudio info`
cold start (a fresh interpreter; must import neither torch nor Qt).

    python bench/bench_core.py
"""
from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def largest_paper_preset():
    from studio.core.model.accounting import account
    from studio.core.files.presets import load_preset, preset_ids
    best = None
    for pid in preset_ids():
        arch = load_preset(pid)
        if "paper" in arch.scales:
            n = account(arch, "paper").params_total
            if best is None or n > best[1]:
                best = (pid, n)
    return best


def bench_accounting(pid: str, repeats: int = 20) -> float:
    from studio.core.model.accounting import account
    from studio.core.files.presets import load_preset
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        account(load_preset(pid), "paper")
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def bench_info_cold(pid: str, repeats: int = 7) -> tuple[float, bool]:
    times = []
    clean = True
    for _ in range(repeats):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "studio", "info", pid, "--json"], cwd=ROOT, check=True,
                       capture_output=True)
        times.append(time.perf_counter() - t)
    probe = subprocess.run([sys.executable, "-c", "import sys, runpy; sys.argv=['archstudio','info','" + pid +
                            "','--json']\ntry:\n runpy.run_module('studio', run_name='__main__')\nexcept SystemExit: pass\n"
                            "print('LOADED', any(m.split('.')[0] in ('torch','PySide6','pyqtgraph') for m in sys.modules), file=sys.stderr)"],
                           cwd=ROOT, capture_output=True, text=True)
    clean = "LOADED False" in probe.stderr
    return statistics.median(times), clean


if __name__ == "__main__":
    pid, n = largest_paper_preset()
    acc = bench_accounting(pid)
    cold, clean = bench_info_cold(pid)
    print(f"largest paper preset: {pid} ({n:,} params)")
    print(f"accounting in-process (median of 20, preset load included): {acc * 1000:.1f} ms (target < 100 ms)")
    print(f"archstudio info cold start (median of 7): {cold * 1000:.0f} ms (target < 500 ms); torch/Qt imported: {not clean}")
