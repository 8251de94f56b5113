"""The Qt line and the no-torch accounting path, checked in fresh interpreters."""
import shutil
import subprocess
import sys

from conftest import ROOT


def _loaded(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True).stdout


def test_core_and_blocks_import_no_qt():
    out = _loaded("import sys, blocks, blocks.nn.attention, studio.core.model.compiler, studio.core.files.presets, studio.cli, studio.cli.train, studio.cli.inspect;"
                  "print(sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6','pyqtgraph','shiboken6')))")
    assert out.strip() == "[]"


def test_accounting_and_registry_need_no_torch():
    out = _loaded("import sys; from studio.core.files.presets import load_preset; from studio.core.model.accounting import account;"
                  "from studio.core.model.validate import validate; a = load_preset('2023-07-llama-2'); account(a, 'paper');"
                  "validate(a); print('torch' in sys.modules)")
    assert out.strip() == "False"


def test_import_linter_contracts_hold():
    exe = shutil.which("lint-imports")
    assert exe, "import-linter is a test dependency"
    r = subprocess.run([exe], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stdout + r.stderr


def test_core_never_prints_exits_or_loads_qt_dynamically():
    """studio.core is a library: output, exit codes and Qt belong to the cli / _qt layers above it."""
    import ast
    offences = []
    for path in sorted((ROOT / "studio" / "core").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            where = f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("print", "exit", "quit"):
                offences.append(f"{where} {node.func.id}()")
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "sys" \
                    and node.attr in ("exit", "stdout", "stderr"):
                offences.append(f"{where} sys.{node.attr}")
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("studio._qt"):
                offences.append(f"{where} names {node.value}")
    assert offences == []


def test_cli_and_gui_are_sibling_layers():
    """The CLI imports no Qt module at all, so `archstudio info` works where PySide6 cannot load."""
    out = _loaded("import sys, studio.cli, studio.cli.basic, studio.cli.render, studio.cli.inspect, studio.cli.doctor;"
                  "print(sorted(m for m in sys.modules if m.startswith('studio._qt') or m.split('.')[0]=='PySide6'))")
    assert out.strip() == "[]"
