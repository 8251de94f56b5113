"""The race view: a tiny race on the generic worker, live curves fed from the Qt-free RaceHistory,
the final table, reopening a saved race, the demo presets, and the compute planner following the
model on screen."""
import pytest
import torch

from studio._qt.panels.planner_view import PlannerView
from studio._qt.classroom.race_view import RaceView
from studio.core.classroom.race_history import RaceHistory
from studio.core.state import StudioModel

WAIT = 240_000


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ARCHSTUDIO_CACHE_DIR", str(tmp_path / "cache"))
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def test_race_runs_draws_curves_and_table_then_reopens(qtbot, cache, tmp_path):
    view = RaceView(RaceHistory())
    qtbot.addWidget(view)
    view.demo.setCurrentIndex(view.demo.findData("custom"))
    view.model_boxes[0].setCurrentIndex(view.model_boxes[0].findData("2019-02-gpt-2"))
    view.model_boxes[1].setCurrentIndex(view.model_boxes[1].findData("2023-07-llama-2"))
    assert view.chosen_models() == ("2019-02-gpt-2", "2023-07-llama-2")
    w = view.start(tmp_path / "race", steps=4, batch_size=2, context=16, tokenizer="byte", vocab_size=259,
                   eval_interval=2, threads=1)
    assert not view.start_btn.isEnabled() and view.stop_btn.isEnabled()
    with qtbot.waitSignal(w.ended, timeout=WAIT):
        pass
    view._redraw()
    assert view.history.status == "done" and view.table.rowCount() == 2
    xs, ys = view.curves[0].getData()
    assert list(xs) == [2 * 2 * 16, 4 * 2 * 16] and len(ys) == 2  # held-out bpb against tokens seen
    assert not view.curves[2].isVisible()
    assert view.table.item(0, 0).text() == "GPT-2" and view.table.item(1, 6).text().startswith("Once upon a time")
    view.x_axis.setCurrentIndex(view.x_axis.findData("flops"))
    assert view.curves[1].getData()[0][-1] == pytest.approx(view.history.table[1]["flops"])

    again = RaceView(RaceHistory())
    qtbot.addWidget(again)
    assert again.open_race(tmp_path / "race")
    assert again.table.rowCount() == 2 and list(again.curves[0].getData()[1]) == list(ys)
    assert not again.open_race(tmp_path) and "not a race folder" in again.status.text()


def test_demo_presets_fill_the_model_choice(qtbot):
    view = RaceView(RaceHistory())
    qtbot.addWidget(view)
    view.demo.setCurrentIndex(view.demo.findData("dense-vs-moe"))
    assert view.match.currentData() == "active" and not view.model_boxes[0].isEnabled()
    assert [b.currentData() for b in view.model_boxes[:2]] == ["2023-07-llama-2", "2023-12-mixtral"]
    assert view.chosen_models() == ("2023-07-llama-2", "2023-12-mixtral") and "active" in view.say.text() + "active"


def test_planner_follows_the_model_on_screen(qtbot):
    model = StudioModel(scale="classroom", start="2023-07-llama-2")
    view = PlannerView(model)
    qtbot.addWidget(view)
    assert "824,448" in view.figures.text() and "28.6" in view.figures.text()
    model.show_milestone("2023-12-mixtral")
    qtbot.waitUntil(lambda: view.plan.id == "2023-12-mixtral", timeout=5000)
    assert "active per token" in view.figures.text() and "undisclosed" in view.figures.text()


def test_a_race_from_the_app_runs_its_minutes_from_the_click(qtbot, cache, tmp_path, monkeypatch):
    """The view's race gets the click's clock reading: its minutes count the preparing (issue 21), and
    the preparing is said in the status line while it runs."""
    import studio.core.classroom.race as R
    import studio.core.classroom.race_steps as RS
    from studio.core.training.events import Preparing
    monkeypatch.setattr(RS, "clock", lambda: 1234.5)
    asked = {}

    def job(out, cfg, control, started_at):
        asked.update(minutes=cfg.minutes, started_at=started_at, control=control)
        yield Preparing("training the race's tokenizer")
    monkeypatch.setattr(R, "race", job)
    view = RaceView(RaceHistory())
    qtbot.addWidget(view)
    view.minutes.setValue(2)
    w = view.start(tmp_path / "race")
    with qtbot.waitSignal(w.ended, timeout=WAIT):
        pass
    view._redraw(force=True)
    assert asked["started_at"] == 1234.5 and asked["minutes"] == 2 and hasattr(asked["control"], "should_stop")
    assert "preparing: training the race's tokenizer" in view.status.text()
