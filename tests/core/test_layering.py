"""The Qt line and the no-torch accounting path, checked in fresh interpreters."""
import shutil
import subprocess
import sys

from conftest import ROOT


def _loaded(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True).stdout


def test_core_and_blocks_import_no_qt():
    out = _loaded("import sys, blocks, blocks.nn.attention, studio.core.compiler, studio.core.presets, studio.cli;"
                  "print(sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6','pyqtgraph','shiboken6')))")
    assert out.strip() == "[]"


def test_accounting_and_registry_need_no_torch():
    out = _loaded("import sys; from studio.core.presets import load_preset; from studio.core.accounting import account;"
                  "from studio.core.validate import validate; a = load_preset('2023-07-llama-2'); account(a, 'paper');"
                  "validate(a); print('torch' in sys.modules)")
    assert out.strip() == "False"


def test_import_linter_contracts_hold():
    exe = shutil.which("lint-imports")
    assert exe, "import-linter is a test dependency"
    r = subprocess.run([exe], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stdout + r.stderr
