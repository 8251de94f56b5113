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


# ---------------------------------------------------------------------------- the house's habits (issue 26)
def _modules() -> dict:
    """Dotted module name -> file, for studio and blocks (packages by their __init__)."""
    out = {}
    for base in ("studio", "blocks"):
        for path in (ROOT / base).rglob("*.py"):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            out[name[: -len(".__init__")] if name.endswith(".__init__") else name] = path
    return out


def _imports_of(path, mods: dict) -> set:
    """The studio/blocks modules a file imports anywhere in it (function-level imports too)."""
    import ast
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in mods else node.module for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        for name in names:
            while name and name not in mods:
                name = name.rpartition(".")[0]
            if name and mods[name].name != "__init__.py":
                found.add(name)
    return found


def test_no_import_circles_between_files():
    """0 circles, imports inside functions included (a package's __init__ aside): a circle hidden
    in a function is still two files that cannot be read, tested or moved apart."""
    import networkx as nx
    mods = _modules()
    g = nx.DiGraph()
    for name, path in mods.items():
        if path.name != "__init__.py":
            g.add_edges_from((name, t) for t in _imports_of(path, mods) if t != name)
    circles = sorted(sorted(c) for c in nx.strongly_connected_components(g) if len(c) > 1)
    assert circles == [], circles


def test_files_and_functions_read_at_once():
    """One idea per file (at most 400 lines) and functions short enough to read at once (at most 100)."""
    import ast
    long_files, long_functions = [], []
    for path in sorted((ROOT / "studio").rglob("*.py")) + sorted((ROOT / "blocks").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        where = path.relative_to(ROOT).as_posix()
        if len(text.splitlines()) > 400:
            long_files.append(f"{where}: {len(text.splitlines())} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno >= 100:
                long_functions.append(f"{where}:{node.lineno} {node.name}: {node.end_lineno - node.lineno + 1} lines")
    assert long_files == [] and long_functions == [], long_files + long_functions


def test_rooms_stay_small_at_the_top():
    """studio/core and studio/_qt keep at most 15 entries at the top: new things go into a room."""
    for floor in ("core", "_qt"):
        top = [p.name for p in (ROOT / "studio" / floor).iterdir() if p.name != "__pycache__"]
        assert len(top) <= 15, (floor, sorted(top))
