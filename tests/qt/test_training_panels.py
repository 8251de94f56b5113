"""The training-panel GUI tests run in a fresh interpreter of their own.

They train real models in QThreads while the GUI thread spins its event loop; after the
rest of the suite (hundreds of widgets made and destroyed, torch thread pools set up by
the core tests) that mix crashed inside Qt's event processing on this machine, while the
same tests pass in a fresh process every time. A child pytest keeps the suite's verdict
honest (any failure or crash of the child fails this test) without the shared-process state.
"""
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def test_training_panels_in_a_fresh_process(tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(HERE.parents[1]),
                        str(HERE / "training_panels_cases.py")],
                       cwd=HERE.parents[1], env=env, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout[-6000:] + r.stderr[-3000:]
    assert " passed" in r.stdout and "failed" not in r.stdout.splitlines()[-1]
