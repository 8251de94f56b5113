"""Importing a llama2.c model.bin + tokenizer.bin into a run folder as a job: the import dialog runs
it on the worker thread (the first import of a session imports torch and writes a checkpoint:
3.5-4 s at load 11 on the 2-core machine, a frozen window when it ran on the GUI thread)."""
from __future__ import annotations

import dataclasses
from collections.abc import Iterator

from studio.core import errors as E
from studio.core.jobs.control import JobControl


@dataclasses.dataclass(frozen=True)
class Llama2cImported:
    out: str                # the new run folder
    warnings: tuple         # one line each (e.g. a tokenizer that does not match the vocabulary)
    arch: object = dataclasses.field(repr=False)  # the run's Architecture, read back from its run.yaml


def llama2c_import_job(model: str, tokenizer: str, out: str, control: JobControl) -> Iterator[Llama2cImported]:
    from studio.core.formats.llama2c.runio import import_llama2c
    from studio.core.runs.rundir import RunDir
    try:
        path, warnings = import_llama2c(model, tokenizer, out)
        arch = RunDir(path).architecture()
    except OSError as exc:  # an unreadable file or folder: one line, as the CLI says it
        raise E.StudioError(str(exc)) from exc
    yield Llama2cImported(str(path), tuple(warnings), arch)
