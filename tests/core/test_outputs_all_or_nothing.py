"""Issue 17: outputs are committed together or not at all (export's model.bin + tokenizer.bin;
inspect.json after its images), and a failing write is one clear line."""
from __future__ import annotations

import os

import pytest

from studio.core import errors as E
from studio.core.files.yamlio import atomic_write_files


def _fail_on(monkeypatch, name: str):
    real = os.replace

    def replace(src, dst):
        if os.path.basename(str(dst)) == name and str(src).endswith(".tmp"):
            raise OSError(28, "No space left on device", str(dst))
        return real(src, dst)
    monkeypatch.setattr(os, "replace", replace)


def test_files_are_committed_together(tmp_path, monkeypatch):
    (tmp_path / "model.bin").write_bytes(b"old model")
    (tmp_path / "tokenizer.bin").write_bytes(b"old tok")
    _fail_on(monkeypatch, "tokenizer.bin")
    with pytest.raises(OSError):
        atomic_write_files({tmp_path / "model.bin": b"new model", tmp_path / "tokenizer.bin": b"new tok"})
    assert (tmp_path / "model.bin").read_bytes() == b"old model"
    assert (tmp_path / "tokenizer.bin").read_bytes() == b"old tok"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.bin", "tokenizer.bin"]  # no temp left


def test_new_files_are_removed_when_the_commit_fails(tmp_path, monkeypatch):
    _fail_on(monkeypatch, "tokenizer.bin")
    with pytest.raises(OSError):
        atomic_write_files({tmp_path / "model.bin": b"m", tmp_path / "tokenizer.bin": b"t"})
    assert list(tmp_path.iterdir()) == []


def test_files_are_written_when_nothing_fails(tmp_path):
    (tmp_path / "model.bin").write_bytes(b"old")
    atomic_write_files({tmp_path / "model.bin": b"m", tmp_path / "tokenizer.bin": b"t"})
    assert (tmp_path / "model.bin").read_bytes() == b"m" and (tmp_path / "tokenizer.bin").read_bytes() == b"t"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.bin", "tokenizer.bin"]


@pytest.fixture
def l2c_run(shared_data, tmp_path):
    from studio.core.formats.llama2c.runio import import_llama2c
    out, _ = import_llama2c(shared_data / "llama2c" / "stories260K.bin", shared_data / "llama2c" / "tok512.bin",
                            tmp_path / "imported")
    return out


def test_export_failure_between_the_files_leaves_the_old_pair(l2c_run, tmp_path, monkeypatch):
    from studio.core.formats.llama2c.runio import export_run
    out = tmp_path / "out"
    first = export_run(l2c_run, out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    _fail_on(monkeypatch, "tokenizer.bin")
    with pytest.raises(E.StudioError, match="cannot write the export .No space left on device"):
        export_run(l2c_run, out, quantize="q8_0")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert first.bytes == len(before["model.bin"])


def test_inspect_writes_inspect_json_after_the_images(l2c_run, tmp_path, monkeypatch):
    from studio.cli import inspect as cli_inspect
    order = []

    def images(ins, out, theme="light"):
        order.append("images")
        raise E.StudioError("images failed")
    monkeypatch.setattr(cli_inspect, "render_images", images)

    class Args:
        run_dir, prompt, out, source, theme = str(l2c_run), "Zoo", str(tmp_path / "ins"), None, "light"
    with pytest.raises(E.StudioError, match="images failed"):
        cli_inspect.cmd_inspect(Args)
    assert order == ["images"] and not (tmp_path / "ins" / "inspect.json").exists()


def test_inspect_full_disk_is_not_called_qt_cannot_start(tmp_path, monkeypatch):
    from studio.cli import frontend
    from studio.cli import inspect as cli_inspect

    class Fe:
        def render_inspection(self, ins, out, theme):
            raise OSError(28, "No space left on device")
    monkeypatch.setattr(frontend, "current", lambda: Fe())
    with pytest.raises(E.StudioError, match="cannot write the images .No space left on device"):
        cli_inspect.render_images(object(), tmp_path)
