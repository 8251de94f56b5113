import os
import sys
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# a first start never compiles in the background during tests (tests/qt/test_background_warm.py unsets it)
os.environ["ARCHSTUDIO_NO_BACKGROUND_WARM"] = "1"
# the user's own timeline milestones never enter a test run (a test that adds some uses its own folder)
os.environ["ARCHSTUDIO_MILESTONES_DIR"] = tempfile.mkdtemp(prefix="archstudio-test-milestones-")

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("ARCHSTUDIO_SHARED", ROOT.parent / "shared"))
DATA = SHARED / "data"


@pytest.fixture
def shared_data() -> Path:
    if not DATA.is_dir():
        pytest.skip(f"needs ../shared/data (not found at {DATA})")
    return DATA


@pytest.fixture(scope="module")
def one_torch_thread():
    """For a module of tiny models (``pytestmark = pytest.mark.usefixtures("one_torch_thread")``): on a
    shared CPU extra threads only wait for each other (25× slower here)."""
    import torch
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def run_cli(*args, env=None, timeout=300):
    import subprocess
    e = dict(os.environ, **(env or {}))
    return subprocess.run([sys.executable, "-m", "studio", *args], capture_output=True, text=True,
                          cwd=ROOT, env=e, timeout=timeout)
