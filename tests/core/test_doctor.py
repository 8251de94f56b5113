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
