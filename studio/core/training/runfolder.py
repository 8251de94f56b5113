"""A new RUN_DIR appears only when its first step can run: it is set up in a hidden temp folder
beside the target (run.yaml, tokenizer/) and renamed into place after the data has been checked.

Before this, ``train`` wrote run.yaml and tokenizer/ before it knew the data was long enough, so
data too short, a kill or a full disk left a folder that ``--resume`` ("no checkpoint") and a
new ``train`` ("is not empty") both refused.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from studio.core import errors as E
from studio.core.runs.rundir import RunDir


def _umask() -> int:
    m = os.umask(0o022)
    os.umask(m)
    return m


class StagedRun:
    """``staged = StagedRun(final)``; fill ``staged.run`` (a RunDir on the temp folder); then
    ``staged.commit()`` renames it to ``final`` (or ``staged.discard()`` removes it)."""

    def __init__(self, final):
        self.final = Path(final)
        if self.final.exists() and not self.final.is_dir():
            raise E.StudioError(f"{self.final}: is a file; --out needs a folder for the run")
        try:
            self.final.parent.mkdir(parents=True, exist_ok=True)
            self.tmp = Path(tempfile.mkdtemp(prefix=f".{self.final.name}.", suffix=".tmp", dir=self.final.parent))
            os.chmod(self.tmp, 0o777 & ~_umask())  # mkdtemp makes it private; a run folder is an ordinary folder
        except OSError as exc:
            raise E.StudioError(f"{self.final}: cannot create the run folder ({exc.strerror or exc})") from None
        self.run = RunDir(self.tmp)

    def commit(self) -> RunDir:
        try:
            if self.final.is_dir():
                self.final.rmdir()  # an empty folder the user named (checked by the caller)
            os.replace(self.tmp, self.final)
        except OSError as exc:
            self.discard()
            raise E.StudioError(f"{self.final}: cannot create the run folder ({exc.strerror or exc})") from None
        return RunDir(self.final)

    def discard(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)


def check_first_step(model, data) -> None:
    """Raise the trainer's own StudioError now if the data cannot fill one training window and
    one validation window at the model's context."""
    from studio.core.training.batches import Batcher, eval_batcher, is_encoder_decoder
    encdec = is_encoder_decoder(model)
    ctx = model.context
    Batcher(data.train, ctx, encdec, "cpu")
    eval_batcher(data.val, ctx, encdec, "cpu")
