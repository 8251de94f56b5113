import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("ARCHSTUDIO_SHARED", ROOT.parent / "shared"))
DATA = SHARED / "data"


@pytest.fixture
def shared_data() -> Path:
    if not DATA.is_dir():
        pytest.skip(f"needs ../shared/data (not found at {DATA})")
    return DATA


def run_cli(*args, env=None, timeout=300):
    import subprocess
    e = dict(os.environ, **(env or {}))
    return subprocess.run([sys.executable, "-m", "studio", *args], capture_output=True, text=True,
                          cwd=ROOT, env=e, timeout=timeout)
