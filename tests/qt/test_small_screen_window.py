"""Issue 22 H4: on a 1366×768 screen the window opens maximised, never grows past the screen
(the Training panel is 1350 px wide at its smallest), and F6 opens Training docked under the
timeline with its Stop button on screen. Measured in a child process whose only screen is
1366×768, started the way the app starts (``start_window``, deferred docks, first-run tour)."""
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _run_child(tmp_path) -> dict:
    screen = tmp_path / "screen.json"
    screen.write_text(json.dumps({"screens": [{"name": "laptop", "x": 0, "y": 0, "width": 1366, "height": 768,
                                              "logicalDpi": 96, "logicalBaseDpi": 96, "dpr": 1}]}))
    env = dict(os.environ, QT_QPA_PLATFORM=f"offscreen:configfile={screen}", HOME=str(tmp_path),
               XDG_CONFIG_HOME=str(tmp_path / "config"), XDG_DATA_HOME=str(tmp_path / "data"),
               ARCHSTUDIO_RECOVERY_DIR=str(tmp_path / "recovery"), OMP_NUM_THREADS="1")
    done = subprocess.run([sys.executable, str(HERE / "small_screen_child.py")], check=False, env=env, capture_output=True,
                          text=True, timeout=240, cwd=HERE.parents[1])
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_window_holds_together_on_a_1366x768_screen(tmp_path):
    got = _run_child(tmp_path)
    screen = got["screen"]
    assert screen == [0, 0, 1366, 768]
    assert got["maximized"] and got["start"] == screen, got
    f6 = got["f6"]
    assert f6["started"] and f6["visible"] and not f6["floating"], f6
    assert f6["window"] == screen, f6  # the Training panel did not widen the window
    assert f6["stop_visible"] and f6["stop_right"] <= screen[2], f6
    assert not got["floating_any"], got
    assert all(w <= screen[2] for w in got["panels"].values()), got["panels"]
