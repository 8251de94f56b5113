"""A first start prepares training in the background (issue 21 item 3): once the window is idle the
job starts for the Training panel's own settings and the status bar says what it does and how it
ended, under any temporary message; the Train menu's setting and ARCHSTUDIO_NO_BACKGROUND_WARM turn
it off; closing the window kills its child. The child is a fake (no torch, no inductor)."""
import json
import os
import sys
import textwrap
import time

import pytest

from studio.core.training import first_warm as FW


@pytest.fixture(autouse=True)
def warm_on(tmp_path, monkeypatch):
    """Before the window is made: the suite's opt-out unset, a cache of its own, a fake child."""
    monkeypatch.delenv(FW.OFF_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(FW, "CHILD", child(tmp_path, """
        say(stage="building the small-head attention kernel")
        time.sleep(0.3)
        c = req["configs"][0]
        say(result={"ok": True, "label": "%s batch %d x context %d, %d thread" % (req["model_spec"],
                    c["batch_size"], c["context"], c["threads"]), "note": "compiled step warm", "detail": "each shape's line", "cpu_s": 1.0})
    """))


def child(tmp_path, body: str) -> list[str]:
    script = tmp_path / "child.py"
    script.write_text("import json, os, sys, time\nreq = json.loads(sys.stdin.read())\n"
                      f"open({str(tmp_path / 'request.json')!r}, 'w').write(json.dumps(dict(req, pid=os.getpid())))\n"
                      "def say(**m): print(json.dumps(m), flush=True)\n" + textwrap.dedent(body), encoding="utf-8")
    return [sys.executable, str(script)]


def test_a_first_start_warms_the_panels_shape_and_says_so(window, qtbot, tmp_path):
    warm = window.first_run.background_warm
    label = warm.label
    qtbot.waitUntil(lambda: "Preparing training for this laptop in the background: building the small-head "
                    "attention kernel…" == label.text(), timeout=10_000)
    assert label.isVisible()
    req = json.loads((tmp_path / "request.json").read_text())
    panel = window.training.panel
    assert req["model_spec"] == "2023-07-llama-2" and req["data_spec"] == panel.data_spec()
    c, timed = req["configs"]  # Start's run, then a "Train for 3 min"'s (its batch and context)
    assert (timed["batch_size"], timed["context"], timed["threads"]) == (16, 256, panel.threads.value())
    assert (c["batch_size"], c["context"], c["threads"]) == (panel.batch.value(), panel.context.value(),
                                                             panel.threads.value())
    assert (c["compile"], c["attention"], c["precision"]) == ("auto", "auto", panel.precision.currentData())
    window.show_status("Cannot show 2017-06-transformer: damaged", 60_000)  # more important: it keeps the bar
    qtbot.waitUntil(lambda: label.text().startswith("Training prepared for this laptop in "), timeout=10_000)
    assert label.text().endswith(": compiled step warm") and not label.isVisible()
    assert label.toolTip() == "each shape's line"
    window.statusBar().clearMessage()
    assert label.isVisible()
    qtbot.waitUntil(lambda: warm.worker is None, timeout=5000)


def test_the_setting_and_the_variable_turn_it_off(window, qtbot, tmp_path, monkeypatch):
    warm = window.first_run.background_warm
    action = warm.action
    assert action.isChecked() and action in window.menu("Train").actions()
    action.trigger()  # off, before the window was idle a second
    qtbot.wait(1500)
    assert not (tmp_path / "request.json").exists() and warm.worker is None and not warm.label.isVisible()
    assert window.settings.value("training/background_warm", type=bool) is False
    action.trigger()
    monkeypatch.setenv(FW.OFF_ENV, "1")
    warm.when_idle()
    qtbot.wait(1500)
    assert not (tmp_path / "request.json").exists() and warm.worker is None


def test_closing_the_window_kills_the_child(window, qtbot, tmp_path, monkeypatch):
    monkeypatch.setattr(FW, "CHILD", child(tmp_path, 'say(stage="compiling the training step")\ntime.sleep(60)'))
    warm = window.first_run.background_warm
    warm._idle.stop()  # (the first poll may have started the other child already: it ends in a moment)
    qtbot.waitUntil(lambda: warm.worker is None, timeout=10_000)
    warm.start()
    qtbot.waitUntil(lambda: "compiling the training step" in warm.label.text(), timeout=10_000)
    pid = json.loads((tmp_path / "request.json").read_text())["pid"]
    t = time.perf_counter()
    window.close()
    assert warm.worker is None or warm.worker._ended
    assert time.perf_counter() - t < 10
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # killed and reaped
