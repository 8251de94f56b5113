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
    session.job_event.emit(Preparing("compiling the training step (cached for the next runs)"))
    assert panel.progress.maximum() == 0 and "preparing: compiling the training step" in panel.progress.format()
    assert panel.numbers.text() == "Preparing: compiling the training step (cached for the next runs)"
    session.job_event.emit(SpeedSetup(2, "bf16", "bf16 (autocast): measured forward+backward 9.0 ms fp32 vs 4.0 ms bf16",
                                  "compiled (inductor)", True, 41.0))
    assert "bf16" in panel.numbers.text() and "prepared in 41 s" in panel.numbers.text()
    assert "measured" in panel.numbers.toolTip()
    session.job_event.emit(StepMetrics(5, 500, 3.2, 1e-3, 1.0, 900.0, 2.0, bpb=1.85, planned_steps=120, eta_s=65.0))
    assert panel.progress.maximum() == 120 and "ETA 1:05" in panel.progress.format()  # the budget's own ETA
    text = panel.numbers.text()
    assert "loss 3.200 (1.85 bits/byte)" in text and "bf16, compiled" in text
    session.job_event.emit(EvalMetrics(5, 500, 3.1, 1.79, 3.2, 1.85))
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
    run.start_live(doc.key)
    for i in range(1, 4):
        session.history.add(StepMetrics(i, i * 100, 3.3, 1e-3, 1.0, 10.0, 0.1 * i, bpb=1.9))
    plots.tick()
    assert plots.curve_points("bpb") == 3 and plots.curve_points("loss") == 3


def test_preparing_spends_the_budget_on_the_bar_and_in_the_more_minutes_tip(qtbot, monkeypatch):
    """With a time budget the bar is the budget's wall clock from the click while the run prepares
    (it is part of the minutes), and "Train N more min" says how much is gone (issue 22 M8)."""
    from studio.core.training.events import StepSwitched
    session, panel, doc, run = make(qtbot)
    clock = {"spent": 30.0}
    monkeypatch.setattr(session, "budget_clock", lambda: (clock["spent"], 120.0))
    run.start_live(doc.key)  # what the session does at the click: RunState says "preparing"
    session.budget_s = 120.0
    monkeypatch.setattr(type(session), "running", property(lambda s: True))
    session.job_event.emit(Preparing("building the small-head attention kernel beside the training"))
    assert (panel.progress.minimum(), panel.progress.maximum(), panel.progress.value()) == (0, 1000, 250)
    assert "0:30 of 2:00" in panel.progress.format() and "building the small-head" in panel.progress.format()
    assert "part of the 2-minute budget" in panel.numbers.text() and "still ends on time" in panel.numbers.text()
    clock["spent"] = 60.0
    qtbot.waitUntil(lambda: panel.progress.value() == 500, timeout=3000)  # it ticks on its own meanwhile
    assert "1:00 of 2:00" in panel.progress.format()
    panel.more.refresh()
    tip = panel.more.button.toolTip()
    assert "1.0 of its 2 min gone, still preparing: preparing is part of them" in tip and not panel.more.button.isEnabled()
    assert "part of it" in panel.minutes.toolTip() and "included" in panel.more.minutes.toolTip()
    session.job_event.emit(SpeedSetup(1, "bf16", "bf16 (autocast): measured", "eager; compiles in the background", False,
                                  61.0))
    assert not panel.prep_clock.active and "prepared in 61 s (part of the budget)" in panel.numbers.text()
    session.job_event.emit(StepSwitched(40, "step", "compiled (inductor) from the warm cache", True))
    assert "from step 40: step compiled (inductor)" in panel.numbers.toolTip()
