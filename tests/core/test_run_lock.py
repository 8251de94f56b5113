"""The run lock (RUN_DIR/.lock) is created with O_EXCL|O_NOFOLLOW: a .lock that is a symlink,
a hard link or a FIFO is refused in one line and the file it leads to is never written; a stale
lock left by a dead trainer is still taken over."""
import os
import subprocess
import sys

import pytest
from conftest import ROOT

from studio import cli
from studio.core import errors as E
from studio.core.runs.rundir import RunDir

NOTES = b"my notes: three years of them\n" * 40


@pytest.fixture
def notes(tmp_path):
    p = tmp_path / "notes.txt"
    p.write_bytes(NOTES)
    return p


def test_a_symlinked_lock_is_refused_and_its_target_untouched(tmp_path, notes):
    run = tmp_path / "run"
    run.mkdir()
    (run / ".lock").symlink_to(notes)
    with pytest.raises(E.StudioError, match="symbolic link") as info, RunDir(run).lock():
        pass
    assert "\n" not in str(info.value) and notes.read_bytes() == NOTES and (run / ".lock").is_symlink()


def test_a_dangling_symlinked_lock_creates_nothing_outside(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / ".lock").symlink_to(tmp_path / "would-be-created")
    with pytest.raises(E.StudioError, match="symbolic link"), RunDir(run).lock():
        pass
    assert not (tmp_path / "would-be-created").exists()


def test_a_hard_linked_lock_is_refused(tmp_path, notes):
    run = tmp_path / "run"
    run.mkdir()
    os.link(notes, run / ".lock")
    with pytest.raises(E.StudioError, match="hard link"), RunDir(run).lock():
        pass
    assert notes.read_bytes() == NOTES


def test_a_fifo_lock_is_refused_without_blocking(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    os.mkfifo(run / ".lock")
    with pytest.raises(E.StudioError, match="not a regular file"), RunDir(run).lock():
        pass


def test_a_stale_lock_is_taken_over_and_a_held_one_refused(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / ".lock").write_text("99999999")  # left by a trainer that died
    with RunDir(run).lock():
        assert (run / ".lock").read_text() == str(os.getpid())
        holder = subprocess.run([sys.executable, "-c", ("import sys; from studio.core.runs.rundir import RunDir\n"
                                 "try:\n    RunDir(sys.argv[1]).lock().__enter__()\nexcept Exception as e:\n"
                                 "    print(e)"), str(run)], cwd=ROOT, capture_output=True, text=True, check=False,
                                timeout=60)
        assert f"another archstudio process (pid {os.getpid()})" in holder.stdout
    with RunDir(run).lock():  # released: taken again
        pass


def test_train_resume_with_a_symlinked_lock_is_exit_2(tmp_path, notes, capsys):
    run = tmp_path / "run"
    run.mkdir()
    (run / ".lock").symlink_to(notes)
    assert cli.main(["train", "recipe-microgpt", "--resume", "--out", str(run)]) == 2
    err = capsys.readouterr().err
    assert "symbolic link" in err and len(err.strip().splitlines()) == 1 and notes.read_bytes() == NOTES
