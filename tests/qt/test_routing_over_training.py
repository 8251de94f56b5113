"""Training a MoE model in the app fills the Routing dock's "Over training" tab from the training
job's step events (RunState's routing history, on the GUI thread): no model crosses threads."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))
from tiny_training import tiny_arch

from studio._qt.training import TrainingDocks
from studio.core.training.events import StepMetrics
from tests.qt.inspect_window import WAIT, Win
from tests.qt.training_docks import configure


def test_training_a_moe_model_shows_its_steps_over_training(qtbot, env):
    win = Win(tiny_arch("2023-12-mixtral"))
    qtbot.addWidget(win)
    docks = TrainingDocks(win.run, parent=win)
    win.show()
    try:
        rv, tr, panel = win.routing_view, win.routing_view.training, docks.panel
        assert tr.currentWidget() is tr.idle  # nothing trained yet: words
        configure(panel, steps=4)
        panel.eval_every.setValue(10)
        steps = []
        docks.session.job_event.connect(lambda ev: steps.append(ev.step) if isinstance(ev, StepMetrics) else None)
        panel.start()
        qtbot.waitUntil(lambda: docks.session.state == "idle", timeout=WAIT * 2)
        assert steps == [1, 2, 3, 4]
        history = win.run.routing_history
        snap = history.snapshot()
        assert snap.steps.tolist() == [1, 2, 3, 4] and len(snap.layers) == 2  # tiny Mixtral: 2 MoE layers
        # redrawn by itself from the history, at most 4 times a second: the last steps a quarter second later
        qtbot.waitUntil(lambda: "over 4 recorded steps (up to step 4)" in tr.note.text(), timeout=WAIT)
        assert tr.currentIndex() == 1
        assert tr.load_img.image.shape[:2] == (4, 4)  # 4 experts x 4 steps
        assert "auxiliary balance loss" in tr.aux_plot.getPlotItem().titleLabel.text
        win.show_arch(tiny_arch("2023-07-llama-2"), key="dense")  # another model: the run's curves go
        rv.refresh_history()
        assert tr.currentWidget() is tr.idle
    finally:
        docks.shutdown()
        win.inspect.shutdown()
