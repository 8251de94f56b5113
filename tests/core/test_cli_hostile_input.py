"""Issue 17: the CLI never prints a traceback or "internal error" for bad input or a hostile
environment (broken pipe, non-UTF-8 --prompt, filesystem errors, library warnings)."""
from __future__ import annotations

import errno
import os
import subprocess
import sys
import warnings

import pytest

from studio import cli
from studio.core import errors as E


def test_broken_pipe_is_silent():
    r, w = os.pipe()
    os.close(r)  # the reader (`| head -1`) is gone before anything is written
    p = subprocess.run([sys.executable, "-m", "studio", "presets"], stdout=w, stderr=subprocess.PIPE, text=True,
                       timeout=120)
    os.close(w)
    assert p.returncode == 141
    assert p.stderr == ""


def test_non_utf8_prompt_is_one_line(capsys):
    bad = b"Once \xff".decode("utf-8", "surrogateescape")  # what Python makes of such argv bytes
    assert cli.main(["generate", "/nonexistent-run", "--prompt", bad]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "archstudio: --prompt is not valid UTF-8 text (byte at position 5); pass it as UTF-8"


@pytest.mark.parametrize("exc,code,want", [
    (OSError(errno.ENOSPC, "No space left on device", "/x/run.yaml"), 1, "/x/run.yaml: No space left on device (free some"),
    (PermissionError(errno.EACCES, "Permission denied", "/x"), 2, "/x: Permission denied"),
    (OSError(errno.ENAMETOOLONG, "File name too long", "/aaa"), 2, "/aaa: File name too long"),
    (OSError(errno.ELOOP, "Too many levels of symbolic links", "/loop"), 2, "/loop: Too many levels"),
    (MemoryError(), 2, "out of memory"),
    (RecursionError("maximum recursion depth exceeded"), 2, "nested too deeply"),
    (E.LoadError("a\nb"), 2, "archstudio: a"),
])
def test_errors_are_one_line_without_internal_error(capsys, exc, code, want):
    assert cli.report(exc) == code
    err = capsys.readouterr().err
    assert want in err and err.count("\n") == 1 and "internal error" not in err


def test_library_warnings_do_not_precede_the_error_line(capsys, monkeypatch):
    import studio.cli.basic as basic

    def noisy(args):
        warnings.warn("\x1b[31mlibrary noise\x1b[0m", UserWarning)
        raise E.StudioError("the one line")
    monkeypatch.setattr(basic, "cmd_presets", noisy)
    assert cli.main(["presets"]) == 2
    assert capsys.readouterr().err == "archstudio: the one line\n"


def test_doctor_survives_a_qt_probe_that_cannot_run(monkeypatch):
    from studio.cli import doctor

    def boom(*a, **k):
        raise OSError(errno.ENOEXEC, "Exec format error")
    monkeypatch.setattr(doctor.subprocess, "run", boom)
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    c = doctor._qt_starts()
    assert not c.ok and "cannot run the Qt probe" in c.detail


@pytest.fixture(scope="module")
def triggers():
    from test_schema_errors import TRIGGERS
    return TRIGGERS


@pytest.mark.parametrize("command", ["info", "validate"])
def test_every_architecture_trigger_is_exit_2_and_one_line(tmp_path, capsys, triggers, command):
    for name, (text, want) in triggers.items():
        p = tmp_path / "m.yaml"
        p.write_bytes(text if isinstance(text, bytes) else text.encode())
        assert cli.main([command, str(p)]) == 2, name
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and want in err and "internal error" not in err, (name, err)


def test_gui_start_with_a_damaged_timeline_is_one_line(capsys, monkeypatch):
    import studio.core.files.presets as P

    def broken(name):
        raise E.LoadError("presets/timeline.yaml: not UTF-8 text (byte 0xff at offset 3)")
    monkeypatch.setattr(P, "is_preset", broken)
    assert cli.main(["some-model"]) == 2
    assert capsys.readouterr().err == "archstudio: presets/timeline.yaml: not UTF-8 text (byte 0xff at offset 3)\n"
