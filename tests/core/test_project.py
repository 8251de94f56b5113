"""Project files: byte-stable round trip, clear errors, recovery files."""
import pytest

from studio.core.errors import LoadError
from studio.core.files.presets import load_preset
from studio.core.files.model_spec import load_model
from studio.core.files.project import (Project, load_project, load_recovery, recoveries, recovery_path, save_project,
                                 write_recovery, discard_recovery)


def _project():
    arch = load_preset("2023-07-llama-2")
    arch.graph.set_config("attention", "n_kv_heads", 4)
    return Project(arch, origin="2023-07-llama-2", name="my llama", training={"steps": 100, "lr": 0.001})


def test_round_trip_is_byte_stable(tmp_path):
    p = tmp_path / "a.archproj.yaml"
    save_project(_project(), p)
    first = p.read_bytes()
    proj = load_project(p)
    assert proj.origin == "2023-07-llama-2" and proj.training == {"steps": 100, "lr": 0.001}
    assert proj.architecture.graph.node("attention").config["n_kv_heads"] == 4
    save_project(proj, tmp_path / "b.yaml")
    assert (tmp_path / "b.yaml").read_bytes() == first
    assert load_model(str(p)).graph == proj.architecture.graph


@pytest.mark.parametrize("text, msg", [
    ("schema_version: 9\nkind: project\narchitecture: {}\n", "newer version"),
    ("schema_version: 1\nkind: project\narchitecture: [1]\n", "must be a mapping"),
    ("schema_version: 1\nkind: preset\narchitecture: {}\n", "not a project"),
    ("kind: project\narchitecture: {\n", "malformed YAML"),
    ("schema_version: 1\nkind: project\nbogus: 1\narchitecture: {}\n", "unknown key 'bogus'"),
])
def test_bad_files_give_one_clear_line(tmp_path, text, msg):
    p = tmp_path / "bad.yaml"
    p.write_text(text)
    with pytest.raises(LoadError, match=msg) as ei:
        load_project(p)
    assert "\n" not in str(ei.value)


def test_recovery_files(tmp_path):
    proj = _project()
    target = recovery_path(None, tmp_path, session="s1")
    write_recovery(proj, target)
    found = recoveries(tmp_path)
    assert [r.path for r in found] == [target] and found[0].name == "my llama"
    back = load_recovery(found[0])
    assert back.architecture.graph == proj.architecture.graph and back.path is None
    discard_recovery(target)
    assert recoveries(tmp_path) == []
