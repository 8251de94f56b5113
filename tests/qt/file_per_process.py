"""Each Qt test file runs in a fresh child pytest.

Why: in one long shared process, tests that wait in Qt's event loop for a worker-thread job
(inspection, lesson, training) crashed the GUI thread with SIGSEGV at a random point once enough
window tests had run before them (seen after ~800 tests; every file passes alone, and with any
handful of others). One process per file keeps each file's verdict about its own code; the child's
result lines are reported here. Set ARCHSTUDIO_QT_IN_PROCESS=1 to run the files in this process.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

CHILD = "ARCHSTUDIO_QT_CHILD"
ROOT = Path(__file__).resolve().parents[2]


def in_parent() -> bool:
    return not os.environ.get(CHILD) and not os.environ.get("ARCHSTUDIO_QT_IN_PROCESS")


class QtFile(pytest.File):
    def collect(self):
        yield QtFileRun.from_parent(self, name=self.path.name)


class QtFileRun(pytest.Item):
    def runtest(self):
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen", **{CHILD: "1"})
        r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(ROOT),
                            str(self.path)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
        lines = r.stdout.strip().splitlines()
        self.summary = lines[-1] if lines else ""
        if r.returncode != 0 or " passed" not in self.summary or "failed" in self.summary or "error" in self.summary:
            raise QtFileFailed(r.stdout[-8000:] + "\n" + r.stderr[-3000:])

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, QtFileFailed):
            return f"{self.path.name} failed in its child process:\n{excinfo.value}"
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, 0, f"{self.path.name} (child process)"


class QtFileFailed(Exception):
    pass
