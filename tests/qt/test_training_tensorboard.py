"""The Training panel's TensorBoard setting: a run started from the GUI also writes its metrics as
TensorBoard event files into its run folder; without the setting it writes none."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))
import pytest
from test_tensorboard import scalars
from tiny_training import tiny_arch

from tests.qt.training_docks import configure

pytest.importorskip("tensorboardX", reason="the 'tensorboard' extra is part of the test extra")


@pytest.mark.parametrize("on", [True, False])
def test_gui_run_writes_event_files_when_asked(qtbot, env, make_docks, on):
    t = make_docks(tiny_arch())
    session, panel = t.session, t.panel
    configure(panel, steps=6)
    panel.tensorboard.setChecked(on)
    t.actions["start_stop"].trigger()
    qtbot.waitUntil(lambda: session.state == "running", timeout=60_000)
    assert not panel.tensorboard.isEnabled()  # fixed for the run, like the other settings
    run_dir = Path(session.info["run_dir"])
    qtbot.waitUntil(lambda: session.state == "idle", timeout=120_000)
    tb = run_dir / "tensorboard"
    if not on:
        assert not tb.exists()
        return
    steps = [s for s, _ in scalars(tb)["step/loss"]]
    assert steps == list(range(1, len(steps) + 1)) and steps[-1] == 6 and "eval/val_bpb" in scalars(tb)
