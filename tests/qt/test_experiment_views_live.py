"""Every milestone experiment driven as a learner drives it, with keys and clicks: the card's Run
the experiment button in the real main window, Start clicked in the view (the experiment's own
settings made tiny), the curve, table and samples at the end, Stop during a run and Start
continuing it in the same folder, Esc closing a running view without blocking the window, the
folder reopened, the theme followed, o1 sampling a finished R1 run's policy."""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QFileDialog

from studio._qt.training import experiment_plot as EP
from studio._qt.training.experiment_view import NO_OPTIMUM, ExperimentView
from studio.core.experiments import addition as A
from studio.core.experiments import chatgpt as C
from studio.core.experiments import chinchilla as CH
from studio.core.experiments import flashattention as FA
from studio.core.experiments import grpo as G
from studio.core.experiments import instructgpt as IG
from studio.core.experiments import instructions as I
from studio.core.experiments import ppo as P
from studio.core.experiments import rlhf_pipeline as L
from studio.core.experiments import test_time as O1
from studio.core.experiments.common import RESULT_FILE

LONG = 180_000  # ms: generous, a busy shared machine runs these several times slower

TASK = A.Task(digits=2, dim=16, layers=1, context=32, pretrain_steps=6, pretrain_batch=4, corpus_problems=300,
              heldout=12, base_target=1.0, check_every=3)
PIPE = L.Settings(data=I.DataSettings(words=12, heldout=8, demos_per_word=6), dim=16, layers=1, context=128,
                  tokenizer="byte", pretrain_steps=4, pretrain_context=64, pretrain_batch=4, sft_steps=6, sft_batch=4,
                  sft_check_every=3, validation=4, rm_prompts=6, rm_contrast=20, rm_samples=2, rm_steps=2, rm_batch=4,
                  ppo=P.PPOSettings(iterations=2, prompts=4, minibatch=2, max_new=8), eval_samples=1, eval_every=1)
# milestone -> (module whose settings_for the minutes go through, the tiny settings it gives instead)
TINY = {
    FA.MILESTONE: (FA, FA.Settings(contexts=(32, 64), heads=1, head_dim=16, repeats=1)),
    CH.MILESTONE: (CH, CH.Settings(sizes=((8, 1), (16, 1), (32, 1)), flops=6e7, batch_size=2, context=16,
                                   eval_batches=2, tokenizer="byte", vocab_size=259, second_budget=0.0)),
    G.MILESTONE: (G, G.Settings(task=TASK, rl_steps=3, prompts=4, group=4, eval_every=2, eval_samples=2)),
    O1.MILESTONE: (O1, O1.Settings(task=TASK, samples=(1, 2, 4))),
    IG.MILESTONE: (IG, IG.Settings(PIPE)),
    C.MILESTONE: (C, C.Settings(pipeline=replace(PIPE, context=256))),
}
TEXT_SAMPLES = {G.MILESTONE, O1.MILESTONE, IG.MILESTONE, C.MILESTONE}


@pytest.fixture
def tiny(monkeypatch, tmp_path):
    """The minutes typed in the view give the tiny settings; folders and caches in tmp_path."""
    monkeypatch.setenv("ARCHSTUDIO_EXPERIMENTS_DIR", str(tmp_path / "experiments"))
    monkeypatch.setenv("ARCHSTUDIO_CACHE_DIR", str(tmp_path / "cache"))  # the starter corpus, not a download
    for module, settings in TINY.values():
        monkeypatch.setattr(module, "settings_for", lambda minutes, s=settings: s)
    return tmp_path / "experiments"


def type_minutes(qtbot, view, text: str) -> None:
    view.minutes.setFocus()
    QTest.keyClick(view.minutes, Qt.Key_A, Qt.ControlModifier)
    QTest.keyClicks(view.minutes, text)
    QTest.keyClick(view.minutes, Qt.Key_Tab)


def run_to_end(qtbot, view) -> None:
    QTest.mouseClick(view.start_btn, Qt.LeftButton)
    assert view.worker is not None and not view.start_btn.isEnabled() and view.stop_btn.isEnabled()
    qtbot.waitUntil(lambda: view.worker is None, timeout=LONG)
    qtbot.waitUntil(lambda: view._drawn == view.history.version, timeout=5000)  # the timer's last frame


def new_view(qtbot, milestone: str) -> ExperimentView:
    view = ExperimentView(milestone, milestone)
    qtbot.addWidget(view)
    view.resize(1000, 640)
    view.show()
    qtbot.waitExposed(view)
    return view


@pytest.mark.parametrize("milestone", list(TINY))
def test_each_card_opens_its_view_and_esc_closes_it(qtbot, window, milestone):
    panel = window.info_panel
    with qtbot.waitSignal(panel.updated, timeout=10_000):
        window.model.timeline.set_current(milestone)
    button = panel.experiment
    qtbot.waitUntil(lambda: button.isVisible() and button.milestone == milestone, timeout=10_000)
    QTest.mouseClick(button, Qt.LeftButton)
    win = button.opened
    qtbot.waitExposed(win)
    assert win.view.milestone == milestone and win.windowTitle() == f"Experiment — {button.title}"
    screen = win.screen().availableGeometry()
    assert win.width() <= screen.width() and win.height() <= screen.height()  # fits a 1366×768 screen
    QTest.keyClick(win, Qt.Key_Escape)
    qtbot.waitUntil(lambda: not win.isVisible(), timeout=5000)
    QTest.mouseClick(button, Qt.LeftButton)  # the same window comes back
    assert button.opened is win and win.isVisible()
    win.close()


@pytest.mark.parametrize("milestone", list(TINY))
def test_each_experiment_runs_live_through_its_view_and_reopens(qtbot, tiny, milestone, monkeypatch):
    view = new_view(qtbot, milestone)
    type_minutes(qtbot, view, "0.5")
    assert view.minutes.value() == 0.5
    run_to_end(qtbot, view)
    h = view.history
    assert h.status == "done", h.message
    assert "before" in view.status.text() and "after" in view.status.text() and view.start_btn.isEnabled()
    assert not view.plots.waiting.isVisible()  # the stage list gave way to the curve
    assert any(len(c.getData()[0] if c.getData()[0] is not None else []) for c in view.curves.values())
    assert view.table.rowCount() >= 1 and view.table.columnCount() >= 2
    folder = Path(h.path)
    data = json.loads((folder / RESULT_FILE).read_text())
    assert data["milestone"] == milestone and folder.parent == tiny
    if milestone in TEXT_SAMPLES:
        assert view.samples.toPlainText().strip()

    again = new_view(qtbot, milestone)
    asked = []  # Open…'s folder dialog: it starts where the app keeps experiments, and returns this one
    monkeypatch.setattr(QFileDialog, "getExistingDirectory",
                        staticmethod(lambda parent, title, start="": asked.append(start) or str(folder)))
    QTest.mouseClick(again.open_btn, Qt.LeftButton)
    assert asked == [str(tiny)]
    again._redraw(force=True)
    assert again.history.status == "done" and again.table.rowCount() >= 1
    assert any(len(c.getData()[0] if c.getData()[0] is not None else []) for c in again.curves.values())
    assert "before" in again.status.text()


def test_chinchilla_ends_with_its_optimum_and_readable_size_ticks(qtbot, tiny):
    view = new_view(qtbot, CH.MILESTONE)
    run_to_end(qtbot, view)
    result = view.history.result
    if result.get("optimum"):
        text = view.samples.toPlainText()  # one budget: its one optimum line (the live run's, not twice)
        assert text.startswith("[compute-optimal") and text.count("fitted optimum N*") == 1
    else:  # a monotone tiny sweep claims none, and the pane says so instead of "appears when the sweep ends"
        assert view.samples.placeholderText() == NO_OPTIMUM
    ticks = view.plot.getAxis("bottom")._tickLevels[0]
    xs = [x for x, _ in result["curve"]]
    assert [label for _, label in ticks] == [EP.tick_label(x, 1e3) for x in sorted(xs)]
    assert all("·10" not in label for _, label in ticks)


def test_rlhf_reward_and_kl_go_beside_the_share_followed(qtbot, tiny):
    view = new_view(qtbot, IG.MILESTONE)
    run_to_end(qtbot, view)
    side = view.plots.side
    assert side is not None and side.isVisible()
    on_side = {n for n, c in view.curves.items() if c.getViewBox() is side.getViewBox()}
    assert on_side == {"mean reward", "KL to SFT (nats per reply)"}
    main_ys = [float(y) for n, c in view.curves.items() if n not in on_side for y in c.getData()[1]]
    assert main_ys and all(0.0 <= y <= 1.0 for y in main_ys)  # shares only, on the left plot
    # each plot's key above it (an in-plot legend covered the newest points)
    assert "held-out instructions followed" in view.plots.key.text() and "mean reward" not in view.plots.key.text()
    assert "mean reward" in view.plots.side_key.text() and "KL to SFT" in view.plots.side_key.text()


def test_stop_during_a_run_stops_and_start_continues_in_the_same_folder(qtbot, tiny, monkeypatch):
    slow = replace(TINY[CH.MILESTONE][1], sizes=((8, 1), (16, 1), (32, 1), (48, 2)), flops=6e10)
    monkeypatch.setattr(CH, "settings_for", lambda minutes: slow)
    view = new_view(qtbot, CH.MILESTONE)
    QTest.mouseClick(view.start_btn, Qt.LeftButton)
    qtbot.waitUntil(lambda: "training the" in view.status.text(), timeout=LONG)
    assert "(run " in view.status.text()  # the stage line carries its clock
    assert not view.open_folder(tiny) and "stop it" in view.status.text()  # not while its events arrive
    QTest.mouseClick(view.stop_btn, Qt.LeftButton)
    assert not view.stop_btn.isEnabled() and "Stopping" in view.status.text()
    qtbot.waitUntil(lambda: view.worker is None, timeout=LONG)
    assert view.history.status == "stopped" and view.start_btn.isEnabled()
    first = view.history.path
    qtbot.waitUntil(lambda: "Start (at" in view.status.text() and first in view.status.text(), timeout=5000)
    assert not (Path(first) / RESULT_FILE).exists()
    # stopped inside the first model's training: the plot lists what it got through, not a bare box
    qtbot.waitUntil(lambda: view.plots.waiting.text().startswith("Stopped before the first point"), timeout=5000)
    assert "■ training the 8-wide" in view.plots.waiting.text() and view.plots.waiting.isVisible()
    QTest.mouseClick(view.start_btn, Qt.LeftButton)
    assert view.history.path == first and "Continuing" in view.status.text()
    QTest.mouseClick(view.stop_btn, Qt.LeftButton)
    qtbot.waitUntil(lambda: view.worker is None, timeout=LONG)


def test_esc_on_a_running_view_stops_it_without_blocking_the_main_window(qtbot, window, tiny, monkeypatch):
    slow = replace(TINY[G.MILESTONE][1], rl_steps=100_000)
    monkeypatch.setattr(G, "settings_for", lambda minutes: slow)
    with qtbot.waitSignal(window.info_panel.updated, timeout=10_000):
        window.model.timeline.set_current(G.MILESTONE)
    QTest.mouseClick(window.info_panel.experiment, Qt.LeftButton)
    win = window.info_panel.experiment.opened
    qtbot.waitExposed(win)
    QTest.mouseClick(win.view.start_btn, Qt.LeftButton)
    qtbot.waitUntil(lambda: bool(win.view.history.series), timeout=LONG)  # RL has begun
    qtbot.waitUntil(lambda: " · step " in win.view.status.text(), timeout=LONG)  # the stage line counts its steps
    QTest.keyClick(win, Qt.Key_Escape)
    assert not win.isVisible() and win.view.worker is not None  # closed at once; the run ends by itself
    qtbot.waitUntil(lambda: win.view.worker is None, timeout=LONG)
    assert win.view.history.status == "stopped"


def test_the_plot_follows_the_theme(qtbot):
    from PySide6.QtWidgets import QApplication

    from studio._qt.theme import THEMES, apply_theme
    view = new_view(qtbot, FA.MILESTONE)
    app = QApplication.instance()
    old_palette, old_style = app.palette(), app.style().name()
    try:
        apply_theme(app, THEMES["dark"])
        dark = THEMES["dark"].base.lower()
        qtbot.waitUntil(lambda: view.plot.backgroundBrush().color().name() == dark)
        assert view.plot.getAxis("left").textPen().color().name() == THEMES["dark"].text.lower()
    finally:  # the application's palette is shared with every later test
        app.setStyle(old_style)
        app.setPalette(old_palette)
    base = old_palette.color(old_palette.ColorRole.Base).name()
    qtbot.waitUntil(lambda: view.plot.backgroundBrush().color().name() == base)


def test_o1_samples_the_policy_of_a_finished_r1_run(qtbot, tiny):
    r1 = new_view(qtbot, G.MILESTONE)
    run_to_end(qtbot, r1)
    assert r1.history.status == "done", r1.history.message
    o1 = new_view(qtbot, O1.MILESTONE)
    assert o1.source.count() == 2 and o1.source.source() == r1.history.path  # the newest R1 run first
    run_to_end(qtbot, o1)
    assert o1.history.status == "done", o1.history.message
    assert json.loads((Path(o1.history.path) / RESULT_FILE).read_text())["settings"]["source"] == r1.history.path
    o1.source.setCurrentIndex(o1.source.count() - 1)
    assert o1.source.source() is None  # the base model, pretrained here


def test_size_ticks_read_as_numbers(qtbot):
    empty = EP.ExperimentPlot(CH.MILESTONE)
    qtbot.addWidget(empty)
    assert empty.plot.getAxis("bottom")._tickLevels == [[]]  # no "2 3 … 9" of a bare log axis before the first point
    assert [EP.tick_label(x) for x in (1, 128, 4096, 9048, 19760, 430752, 2.5e6)] == \
        ["1", "128", "4096", "9048", "19.8 K", "431 K", "2.5 M"]
    assert EP.tick_label(9048, k_from=1e3) == "9.05 K"


def test_table_cells_group_thousands_and_keep_four_digits():
    from studio._qt.training.experiment_view import cell
    assert [cell(v) for v in (1104896, 9048, 0.48921, 1.2e11, 30000.0, 4096)] == \
        ["1,104,896", "9048", "0.4892", "1.2e+11", "30,000", "4096"]


def test_a_malformed_result_is_refused_in_one_line(qtbot, tmp_path):
    (tmp_path / RESULT_FILE).write_text(json.dumps({"milestone": FA.MILESTONE, "metric": "m", "higher_is_better": True,
                                                    "before": 1, "after": 2, "curve": [1, 2]}))  # not [x, y] pairs
    view = new_view(qtbot, FA.MILESTONE)
    assert not view.open_folder(tmp_path)
    assert "cannot show" in view.status.text() and "\n" not in view.status.text() and view.history.status == "idle"
