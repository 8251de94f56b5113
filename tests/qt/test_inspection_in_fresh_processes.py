"""The Qt tests that run inspection jobs on the worker thread, each file in a fresh child pytest.

In the shared test process these cases crashed inside Qt's event loop (SIGSEGV in the GUI thread,
while an inspection job ran on the worker) at a random point after many other window tests had run
before them; alone, or after any handful of other files, they pass. A fresh process per file keeps
the suite's verdict about the inspector rather than about what earlier tests left in the process.
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
CASES = ["inspect_views_cases.py", "inspect_mainwindow_cases.py", "look_inside_cases.py",
         "run_follows_document_cases.py"]


@pytest.mark.parametrize("cases", CASES)
def test_in_a_fresh_process(cases):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(HERE.parents[1]),
                        str(HERE / cases)], cwd=HERE.parents[1], env=env, capture_output=True, text=True, timeout=900)
    last = r.stdout.strip().splitlines()[-1] if r.stdout.strip() else ""
    assert r.returncode == 0, r.stdout[-6000:] + r.stderr[-3000:]
    assert " passed" in last and "failed" not in last and "error" not in last, last
