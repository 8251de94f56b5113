"""The Plots dock shows the curves of the run that belongs to the model on screen (no thread started)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))
from tiny_training import tiny_arch  # noqa: E402

from studio._qt.training.plots import PlotsPanel  # noqa: E402
from studio._qt.training.session import TrainingSession  # noqa: E402
from studio.core.runs.rundir import RunDir  # noqa: E402
from studio.core.state import Document, RunState  # noqa: E402
from studio.core.training.events import EvalMetrics, StepMetrics  # noqa: E402


def test_plots_follow_the_run_of_the_model_on_screen(qtbot, tmp_path):
    saved = RunDir(tmp_path / "saved")
    saved.path.mkdir()
    for i in range(1, 6):
        saved.append_metrics(EvalMetrics(i * 10, i * 1000, 3.0 - i * 0.1, 2.0 - i * 0.1, 3.0).record())
    doc, run = Document("classroom"), RunState()
    run.follow(doc)
    session = TrainingSession(run)
    plots = PlotsPanel(session, run_state=run)
    qtbot.addWidget(plots)
    doc.show("project", tiny_arch(), "A project", run_dir=saved.path)
    plots.tick()
    assert plots.curve_points("val_bpb") == 5  # the project's run, read from its metrics.jsonl
    doc.show_milestone("llama", tiny_arch(), "LLaMA 2")
    plots.tick()
    assert plots.curve_points("val_bpb") == 0 and plots.curve_points("loss") == 0  # no run: no curves
    # this window's training run of the model on screen (the session's history)
    run.start_live(doc.key)
    session.history.add(StepMetrics(1, 100, 3.3, 1e-3, 1.0, 10.0, 0.1))
    plots.tick()
    assert plots.curve_points("loss") == 1
    doc.reopen(next(k for k in doc.opened if k.startswith("project")))
    plots.tick()
    assert plots.curve_points("val_bpb") == 5 and plots.curve_points("loss") == 0
