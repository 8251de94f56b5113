"""The Training panel's time budget, the preparing (compile) phase, bf16/fp32 shown, bits per byte next
to the loss, and the train-bpb curve (events fed to the views; no training thread is started)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))
from tiny_training import tiny_arch  # noqa: E402

from studio._qt.training.panel import TrainingPanel  # noqa: E402
from studio._qt.training.plots import PlotsPanel  # noqa: E402
from studio._qt.training.session import TrainingSession  # noqa: E402
from studio.core.state import Document, RunState  # noqa: E402
from studio.core.training.events import EvalMetrics, Preparing, SpeedSetup, StepMetrics  # noqa: E402


def make(qtbot):
    doc, run = Document("classroom"), RunState()
    run.follow(doc)
    doc.show_milestone("tiny", tiny_arch(), "Tiny")
    session = TrainingSession(run)
    panel = TrainingPanel(session, run)
    qtbot.addWidget(panel)
    return session, panel, doc, run


def test_train_for_minutes_and_speed_defaults(qtbot):
    _, panel, _, _ = make(qtbot)
    cfg = panel.config()
    assert cfg.minutes is None and cfg.precision == "auto" and cfg.compile == "auto"  # the fast path by default
    assert panel.steps.isEnabled()
    panel.minutes.setValue(3)
    cfg = panel.config()
    assert cfg.minutes == 3 and cfg.eval_interval == 0 and not panel.steps.isEnabled()  # time-based evals
    assert "off" in panel.minutes.specialValueText()
    panel.minutes.setValue(0)
    assert panel.config().minutes is None and panel.steps.isEnabled()


def test_preparing_phase_precision_and_bits_per_byte_are_shown(qtbot, tmp_path):
    session, panel, _, _ = make(qtbot)
    session.event.emit(Preparing("compiling the training step (cached for the next runs)"))
    assert panel.progress.maximum() == 0 and "preparing: compiling the training step" in panel.progress.format()
    assert "not counted as training" in panel.numbers.text()
    session.event.emit(SpeedSetup(2, "bf16", "bf16 (autocast): measured forward+backward 9.0 ms fp32 vs 4.0 ms bf16",
                                  "compiled (inductor)", True, 41.0))
    assert "bf16" in panel.numbers.text() and "prepared in 41 s" in panel.numbers.text()
    assert "measured" in panel.numbers.toolTip()
    session.event.emit(StepMetrics(5, 500, 3.2, 1e-3, 1.0, 900.0, 2.0, bpb=1.85, planned_steps=120, eta_s=65.0))
    assert panel.progress.maximum() == 120 and "ETA 1:05" in panel.progress.format()  # the budget's own ETA
    text = panel.numbers.text()
    assert "loss 3.200 (1.85 bits/byte)" in text and "bf16, compiled" in text
    session.event.emit(EvalMetrics(5, 500, 3.1, 1.79, 3.2, 1.85))
    assert "(1.85 bits/byte)" in panel.status.text() and "1.790 bits/byte" in panel.status.text()
    panel.resize(1100, 260)
    panel.show()
    qtbot.waitExposed(panel)
    out = Path("/tmp/shots-training-speed")
    out.mkdir(exist_ok=True)
    panel.grab().save(str(out / "panel.png"))


def test_train_bits_per_byte_curve(qtbot):
    session, _, doc, run = make(qtbot)
    plots = PlotsPanel(session, run_state=run)
    qtbot.addWidget(plots)
    session.key = doc.key
    run.start_live(doc.key)
    for i in range(1, 4):
        session.history.add(StepMetrics(i, i * 100, 3.3, 1e-3, 1.0, 10.0, 0.1 * i, bpb=1.9))
    plots.tick()
    assert plots.curve_points("bpb") == 3 and plots.curve_points("loss") == 3
