"""A copy of the presets package in a temp folder that the app reads instead (the tests damage
the copy, never the package): a pytest fixture body shared by the core and Qt tests."""
import shutil
import types
from pathlib import Path


def clear_caches():
    from studio.core.classroom import race_setup as R
    from studio.core.files import presets as P
    for f in (P.timeline, P.raw_preset, P.resolved_data, R.race_presets):
        f.cache_clear()


def presets_copy(tmp_path, monkeypatch) -> Path:
    from studio.core.files import presets as P
    dst = tmp_path / "presets"
    shutil.copytree(Path(str(P.resources.files("presets"))), dst, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(P, "resources", types.SimpleNamespace(files=lambda name: dst))
    clear_caches()  # call it again after the test: the caches must not keep the damaged copy's data
    return dst
