"""Memory a finished job freed goes back to the system (studio.core.jobs.heap)."""
import os
import subprocess
import sys
import threading

import pytest

from studio.core.jobs.heap import give_back

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim and /proc are Linux's")


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def test_what_a_worker_thread_freed_is_returned_by_give_back():
    peak = []

    def job():  # ~100 MB of small blocks: they live in the thread's malloc arena, not in mmaps of their own
        blocks = [bytes(1000) for _ in range(100_000)]
        peak.append(_rss_mb())
        del blocks
    t = threading.Thread(target=job)
    t.start()
    t.join()
    give_back()
    assert _rss_mb() < peak[0] - 50, "the pages the job freed stayed resident"


def test_the_app_limits_its_threads_to_two_arenas():
    # in a child: the limit is process-wide and would change how the test above allocates
    code = "from studio.core.jobs.heap import limit_arenas; raise SystemExit(0 if limit_arenas(2) else 3)"
    assert subprocess.run([sys.executable, "-c", code], check=False, timeout=60).returncode == 0
