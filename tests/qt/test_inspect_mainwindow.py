"""The inspector inside the real main window, run in a fresh child pytest.

In the shared test process these cases crashed inside Qt's event loop (SIGSEGV in the GUI thread
while an inspection job ran) only after other window tests had run before them; alone they pass.
A fresh process keeps the suite's verdict about the inspector, not about leftovers of other tests.
"""
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def test_inspector_in_the_main_window_in_a_fresh_process():
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(HERE.parents[1]),
                        str(HERE / "inspect_mainwindow_cases.py")],
                       cwd=HERE.parents[1], env=env, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout[-6000:] + r.stderr[-3000:]
    assert " passed" in r.stdout and "failed" not in r.stdout.splitlines()[-1]
