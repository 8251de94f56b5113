"""Long-running work as Qt-free generators of frozen-dataclass events.

Each job is ``job(control) -> Iterator[event]``: the GUI's one generic worker
(``studio._qt.worker.Worker``) runs it on a thread and carries every event to the GUI thread;
a test or the CLI can simply iterate it. ``JobControl`` is what the job polls (stop, pause,
one-shot requests such as "copy your weights now").
"""
from studio.core.jobs.control import JobControl

__all__ = ["JobControl"]
