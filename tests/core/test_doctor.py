"""archstudio doctor passes here and names each missing piece when one is removed."""
import textwrap

from conftest import run_cli


def test_doctor_passes_on_this_machine(tmp_path):
    r = run_cli("doctor", env={"ARCHSTUDIO_CACHE_DIR": str(tmp_path / "c"), "ARCHSTUDIO_DATA_DIR": str(tmp_path / "d")})
    assert r.returncode == 0, r.stdout + r.stderr
    assert "All needed pieces are present." in r.stdout and "[ok  ] torch" in r.stdout


def _hide(tmp_path, module):
    """A sitecustomize that makes `module` unimportable: the package is removed as far as Python can tell."""
    (tmp_path / "sitecustomize.py").write_text(textwrap.dedent(f"""
        import sys, importlib.abc
        class _Hide(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path, target=None):
                if name == {module!r} or name.startswith({module!r} + "."):
                    raise ModuleNotFoundError(name)
        sys.meta_path.insert(0, _Hide())
    """))
    return {"PYTHONPATH": str(tmp_path)}


def test_doctor_names_a_missing_package_and_its_fix(tmp_path):
    for module, dist in (("sentencepiece", "sentencepiece"), ("pyqtgraph", "pyqtgraph")):
        d = tmp_path / module
        d.mkdir()
        r = run_cli("doctor", env=_hide(d, module))
        assert r.returncode == 1, r.stdout
        assert f"[MISSING] {module}: missing" in r.stdout and f"pip install {dist}" in r.stdout


def test_doctor_names_an_unwritable_folder(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    r = run_cli("doctor", env={"ARCHSTUDIO_CACHE_DIR": str(blocker / "sub")})
    assert r.returncode == 1 and "cache folder" in r.stdout and "not writable" in r.stdout


def test_doctor_reports_what_is_warm_for_a_fast_first_minute(tmp_path):
    from studio.core.training import compile_costs as cc
    cold = run_cli("doctor", env={"XDG_CACHE_HOME": str(tmp_path / "cold")})
    assert "[note] compiled steps: none warm yet" in cold.stdout and "small-head kernel: not built yet" in cold.stdout
    root = tmp_path / "warm" / "archstudio"
    (root / "kernels").mkdir(parents=True)
    (root / "kernels" / "small_head_attention-0123.so").write_bytes(b"")
    (root / "torchinductor").mkdir()
    cc.CostBook(root).record("k1", "stories260k batch 8 x context 128, bf16, small-head, 1 thread", cold_s=90.0,
                             ratio=0.7, inductor_dir=str(root / "torchinductor"))
    cc.CostBook(root).record("k2", "a shape whose cache was wiped", cold_s=90.0, inductor_dir=str(root / "gone"))
    warm = run_cli("doctor", env={"XDG_CACHE_HOME": str(tmp_path / "warm")})
    assert "[ok  ] small-head kernel: built" in warm.stdout
    assert "[ok  ] compiled steps: 1 shape warm: stories260k batch 8 x context 128" in warm.stdout
    assert "wiped" not in warm.stdout
