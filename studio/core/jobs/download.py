"""Downloading TinyStories as a job: progress events, then the cached path."""
from __future__ import annotations

import dataclasses
from typing import Iterator

from studio.core.jobs.control import JobControl


@dataclasses.dataclass(frozen=True)
class DownloadProgress:
    done: int
    total: int | None


@dataclasses.dataclass(frozen=True)
class Downloaded:
    path: str


def download_job(subset: str, cache, control: JobControl) -> Iterator[object]:
    """Progress comes from the download's callback, passed on through ``control.notify`` as it
    arrives; a cancelled download keeps its partial file for a later resume."""
    from studio.core.data import download as dl
    path = dl.download(subset, cache, progress=lambda d, t: control.notify(DownloadProgress(d, t)),
                       should_cancel=control.should_stop)
    yield Downloaded(str(path))
