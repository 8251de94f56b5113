"""The card's Run the experiment button and the live experiment view: shown only on a milestone
that has an experiment, a tiny experiment run on the worker fills the curve, table and folder, a
finished folder reopens, another milestone's folder is refused in one line."""
import json

import pytest

from studio._qt.training.experiment_view import ExperimentButton, ExperimentView
from studio.core.experiments import flashattention as FA
from studio.core.experiments.common import RESULT_FILE
from studio.core.state import StudioModel

TINY = FA.Settings(contexts=(32, 64), heads=1, head_dim=16, repeats=1)


def test_the_card_offers_the_experiment_only_where_there_is_one(qtbot):
    from studio._qt.panels.info_panel import InfoPanel
    model = StudioModel(start="2020-05-gpt-3")
    panel = InfoPanel(model)
    qtbot.addWidget(panel)
    panel.show()
    assert panel.experiment.isHidden()
    with qtbot.waitSignal(panel.updated, timeout=4000):
        model.show_milestone("2022-03-chinchilla")
    assert not panel.experiment.isHidden() and panel.experiment.milestone == "2022-03-chinchilla"
    with qtbot.waitSignal(panel.updated, timeout=4000):
        model.show_milestone("2023-02-llama-1")
    assert panel.experiment.isHidden()


def test_the_button_opens_one_window_for_the_milestone(qtbot):
    button = ExperimentButton()
    qtbot.addWidget(button)
    button.show_for("2022-05-flashattention", {"title": "FlashAttention", "experiment_note": "carries over"})
    win = button.open_window()
    qtbot.addWidget(win)
    assert win.view.milestone == "2022-05-flashattention" and button.open_window() is win
    button.show_for("2017-06-transformer")
    assert button.isHidden() and button.open_window() is None


def test_a_tiny_experiment_runs_live_and_its_folder_reopens(qtbot, tmp_path):
    view = ExperimentView(FA.MILESTONE, "FlashAttention")
    qtbot.addWidget(view)
    out = tmp_path / "fa"
    w = view.start(out_dir=out, settings=TINY)
    assert w is not None and not view.start_btn.isEnabled()
    qtbot.waitUntil(lambda: view.worker is None, timeout=120_000)
    assert view.history.status == "done", view.history.message
    view._redraw(force=True)
    assert "memory naive ÷ sdpa (tiled)" in view.curves
    assert view.table.rowCount() == 2 and view.table.columnCount() >= 5
    assert "before" in view.status.text() and view.start_btn.isEnabled()
    assert json.loads((out / RESULT_FILE).read_text())["milestone"] == FA.MILESTONE

    again = ExperimentView(FA.MILESTONE)
    qtbot.addWidget(again)
    assert again.open_folder(out)
    assert again.history.series["peak memory naive ÷ tiled"][0] == [32.0, 64.0]
    assert "HBM accesses standard ÷ flash (paper)" in again.curves  # the paper's estimate beside the measurement
    assert again.table.rowCount() == 2 and again.table.item(1, 0).text() == "64"
    assert "HBM accesses standard ÷ flash (paper)" in view.curves  # the live view adds it at the end


@pytest.mark.parametrize("milestone", ["2022-03-chinchilla"])
def test_another_milestones_folder_is_refused_in_one_line(qtbot, tmp_path, milestone):
    (tmp_path / RESULT_FILE).write_text(json.dumps({"milestone": FA.MILESTONE, "metric": "m", "higher_is_better": True,
                                                    "before": 1, "after": 2, "curve": [[1, 1], [2, 2]]}))
    view = ExperimentView(milestone)
    qtbot.addWidget(view)
    assert not view.open_folder(tmp_path)
    assert "not 2022-03-chinchilla" in view.status.text()
    assert not view.open_folder(tmp_path / "missing")
    assert "no experiment.json" in view.status.text() and "\n" not in view.status.text()
