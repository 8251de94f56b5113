"""Help → Offline pack…: the core generator on the generic worker, in a progress dialog (loopback hub)."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))
from hf_server import Hub  # noqa: E402

from studio._qt.classroom.offline_pack import OfflinePackDialog  # noqa: E402
from studio.core.data.starter import starter_stories  # noqa: E402


def test_pack_reports_progress_and_finishes(qtbot, tmp_path, monkeypatch):
    body = "".join(s + "\n<|endoftext|>\n" for s in starter_stories(400)).encode()
    with Hub({"TinyStories-valid.txt": body}) as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        dlg = OfflinePackDialog(None, "quick", tmp_path, sizes=[320])
        qtbot.addWidget(dlg)
        dlg.start()  # its events and its end reach the GUI thread through the event loop, after this
        with qtbot.waitSignal(dlg.worker.ended, timeout=120_000):
            pass
    assert dlg.error is None and dlg.worker is None
    assert dlg.value() == 100 and dlg.message.startswith("Ready offline") and "320" in dlg.message


@pytest.mark.parametrize("cancel", [False, True])
def test_offline_or_cancelled_is_one_line(qtbot, tmp_path, monkeypatch, cancel):
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    dlg = OfflinePackDialog(None, "quick", tmp_path, sizes=[320])
    qtbot.addWidget(dlg)
    dlg.start()
    with qtbot.waitSignal(dlg.worker.ended, timeout=60_000):
        if cancel:
            dlg.cancel()
    assert dlg.error and "\n" not in dlg.error and "Traceback" not in dlg.error
