"""A run folder's own files and folders that are symlinks are never written through: a linked
metrics.jsonl, checkpoints/ or tokenizer/ would make training write into the files they lead to."""
import pytest

from studio.core import errors as E
from studio.core.runs.rundir import RunDir

NOTES = b"the only copy of my notes\n" * 10


def test_a_linked_metrics_file_is_refused_and_its_target_untouched(tmp_path):
    (tmp_path / "notes.txt").write_bytes(NOTES)
    run = RunDir(tmp_path / "run")
    run.path.mkdir()
    run.metrics_path.symlink_to(tmp_path / "notes.txt")
    with pytest.raises(E.StudioError, match="symbolic link"):
        run.append_metrics({"kind": "step", "step": 1})
    assert (tmp_path / "notes.txt").read_bytes() == NOTES


def test_a_linked_checkpoints_folder_is_refused(tmp_path):
    (tmp_path / "elsewhere").mkdir()
    run = RunDir(tmp_path / "run")
    run.path.mkdir()
    run.checkpoint_dir.symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    with pytest.raises(E.StudioError, match="symbolic link"):
        run.save_checkpoint({"model": {}}, 1)
    assert list((tmp_path / "elsewhere").iterdir()) == []


def test_appending_still_works(tmp_path):
    run = RunDir(tmp_path / "run")
    run.append_metrics({"kind": "step", "step": 1})
    run.append_metrics({"kind": "step", "step": 2})
    assert [r["step"] for r in run.metrics()] == [1, 2]
