""""Train N more min" in the Training panel: a finished time-budgeted run continues for N more
minutes through the CLI's resume path (plots, progress, run folder), and the control says why it
is disabled when there is nothing to continue."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))
from tiny_training import tiny_arch  # noqa: E402

from studio._qt.training.panel import TrainingPanel  # noqa: E402
from tests.qt.training_docks import configure  # noqa: E402
from studio._qt.training.session import TrainingSession  # noqa: E402
from studio.core.jobs.training import Continued  # noqa: E402
from studio.core.runs.rundir import RunDir  # noqa: E402
from studio.core.state import Document, RunState  # noqa: E402
from studio.core.training import Finished, StepMetrics  # noqa: E402

SHOTS = Path("/tmp/shots-more")


def shot(t, name):
    """The Training panel as it sits in a 1366-wide bottom dock, and the Plots beside it."""
    SHOTS.mkdir(exist_ok=True)
    for widget, what in ((t.panel, "panel"), (t.plots, "plots")):
        widget.resize(1366, 300)
        widget.grab().save(str(SHOTS / f"{name}-{what}.png"))


def test_train_n_more_minutes_continues_the_finished_run(qtbot, env, make_docks):  # noqa: F811
    t = make_docks(tiny_arch())
    panel, session, run, more = t.panel, t.session, t.run_state, t.panel.more
    assert not more.button.isEnabled() and "no trained run yet" in more.button.toolTip()
    assert not t.actions["more"].isEnabled()
    configure(panel)
    panel.minutes.setValue(0.1)  # a 6 s budget
    events = []
    session.job_event.connect(events.append)
    bars = []  # the bar's words after each step of the continuation (the panel has already drawn it)
    session.job_event.connect(lambda ev: bars.append(panel.progress.format()) if isinstance(ev, StepMetrics) else None)
    with qtbot.waitSignal(session.state_changed, check_params_cb=lambda s: s == "idle", timeout=90_000):
        panel.start()
        assert not more.button.isEnabled() and "training now" in more.button.toolTip()
    first = [e for e in events if isinstance(e, Finished)][-1]
    assert first.reason == "done" and first.budget_s == 6.0
    shot(t, "before")
    tip = more.button.toolTip()
    assert more.button.isEnabled() and "train 2023-07-llama-2 --resume --out" in tip and "--minutes 2" in tip
    more.minutes.setValue(0.1)
    assert more.button.text() == "Train 0.1 more min"
    menu = t.actions["more"]  # Train → the same, in words and state
    assert menu.isEnabled() and menu.text() == "Train 0.1 more min" and menu.toolTip() == more.button.toolTip()
    events.clear()
    bars.clear()
    with qtbot.waitSignal(session.state_changed, check_params_cb=lambda s: s == "idle", timeout=90_000):
        more.button.click()
        assert not more.button.isEnabled() and run.training in ("preparing", "running")
    cont = [e for e in events if isinstance(e, Continued)]
    steps = [e for e in events if isinstance(e, StepMetrics)]
    fin = [e for e in events if isinstance(e, Finished)][-1]
    assert len(cont) == 1 and cont[0].from_step == first.step
    assert steps[0].step == first.step + 1 and steps[0].tokens > first.tokens  # steps and tokens go on
    floor = panel.config().lr * 0.1
    assert fin.reason == "done" and fin.budget_s == 6.0 and fin.step > first.step
    assert floor < steps[0].lr <= panel.config().lr and steps[-1].lr == pytest.approx(floor)  # re-warmed, decayed
    assert all("of 0.1 more min" in b and "ETA" in b for b in bars)
    assert panel.progress.minimum() == first.step and "Finished at step" in panel.progress.format()
    assert f"continued from step {first.step}" in panel.status.text()
    # the plots go on from the earlier steps: one curve from step 1 to the end
    h = session.history.series("loss")
    assert h.x[0] == 1 and h.x[-1] == fin.step and len(h.x) == fin.step
    assert t.plots.curve_points("loss") == fin.step
    # the run folder records the continuation; its metrics are one unbroken run
    rd = RunDir(session.info["run_dir"])
    cfg = rd.read_config()
    assert [(c["from_step"], c["minutes"]) for c in cfg["continued"]] == [(first.step, 0.1)]
    assert cfg["training"]["minutes"] == 0.1 and cfg["result"]["step"] == fin.step
    recs = rd.metrics()
    assert [r["step"] for r in recs if r["kind"] == "step"] == list(range(1, fin.step + 1))
    assert [r["step"] for r in recs if r["kind"] == "resume"] == [first.step]
    assert rd.load_checkpoint()["step"] == fin.step and run.snapshot.step == fin.step
    assert more.button.isEnabled()  # and it can go on again
    shot(t, "after")


def test_the_control_says_why_there_is_nothing_to_continue(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("ARCHSTUDIO_CACHE_DIR", str(tmp_path / "cache"))
    doc, run = Document("classroom"), RunState()
    run.follow(doc)
    session = TrainingSession(run)
    panel = TrainingPanel(session, run)
    qtbot.addWidget(panel)
    b = panel.more.button
    assert not b.isEnabled() and b.toolTip() == "Nothing to continue: no model on screen"
    arch = tiny_arch()
    doc.show_milestone("tiny", arch, "Tiny")
    assert not b.isEnabled() and "no trained run yet: Start one first" in b.toolTip()
    doc.show("project", arch, "P", run_dir=tmp_path / "gone")
    assert not b.isEnabled() and "is gone" in b.toolTip()
    from studio.core.data import make_tokenizer
    folder = RunDir(tmp_path / "fresh")
    folder.initialize(arch, "2023-07-llama-2", make_tokenizer("byte", None, None), {"steps": 5})
    doc.show("project", arch, "Q", run_dir=folder.path)
    assert not b.isEnabled() and "has no checkpoint to continue from" in b.toolTip()
    folder.save_checkpoint({"model": {}}, 3)
    run.refresh()
    assert b.isEnabled() and "--resume" in b.toolTip()
    doc.show_milestone("lesson-model", arch, "L")
    run.set_prepared_lookup(lambda key: folder.path)  # a lesson folder offers a run for this model
    assert not b.isEnabled() and "the lesson's prepared run" in b.toolTip()
    panel.more.trigger()  # disabled: pressing it anyway starts nothing
    assert not session.running

    # a continuation that fails before it trains (here: a checkpoint without weights) says why in the
    # panel, and the model keeps the run it had trained in this window
    run.set_prepared_lookup(None)
    doc.show_milestone("trained-here", arch, "T")
    run.start_live(doc.key)
    run.live_prepared(folder.path, {}, doc.key)
    run.set_training("finished", doc.key)
    assert b.isEnabled()
    with qtbot.waitSignal(session.state_changed, check_params_cb=lambda s: s == "idle", timeout=60_000):
        b.click()
    assert "missing" in panel.status.text() and panel.progress.format() == "failed"
    assert run.source == "live" and run.run_dir == folder.path and b.isEnabled()


def test_a_time_budget_trains_warmup_stable_decay_as_the_cli(qtbot, env, make_docks):  # noqa: F811
    """Setting "Train for" picks warmup-stable-decay (a budget ends decayed), clearing it cosine;
    the user's own choice after that is kept."""
    panel = make_docks(tiny_arch()).panel
    assert panel.schedule.currentData() == "cosine" and panel.config().schedule == "cosine"
    panel.minutes.setValue(3.0)
    assert panel.schedule.currentData() == "wsd" and panel.config().schedule == "wsd"
    panel.minutes.setValue(5.0)
    panel.schedule.setCurrentIndex(panel.schedule.findData("cosine"))  # the user's pick stays
    panel.minutes.setValue(4.0)
    assert panel.config().schedule == "cosine" and panel.config().minutes == 4.0
    panel.minutes.setValue(0.0)
    assert panel.schedule.currentData() == "cosine" and panel.config().attention == "auto"


def test_the_budget_sets_batch_and_context_as_the_cli_unless_the_user_did(qtbot, env, make_docks):  # noqa: F811
    from studio.core.training.setup import budget_recipe
    panel = make_docks(tiny_arch()).panel
    short, long_ = budget_recipe(None), budget_recipe(10.0)
    assert (panel.batch.value(), panel.context.value()) == (short["batch_size"], short["context"])
    panel.minutes.setValue(10.0)
    assert (panel.config().batch_size, panel.context.value()) == (long_["batch_size"], long_["context"])
    assert panel.config().optimizer == long_["optimizer"] != short["optimizer"]
    panel.minutes.setValue(0.5)  # a short budget: back to the short recipe
    assert panel.config().batch_size == budget_recipe(0.5)["batch_size"]
    panel.batch.setValue(4)  # the user's own batch survives later budget changes
    panel.minutes.setValue(10.0)
    assert panel.config().batch_size == 4
