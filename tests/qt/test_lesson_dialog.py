"""Help → Prepare the lesson…: the dialog trains two tiny milestones on the generic worker, points
RunState at the lesson, and the Generate panel then writes with the prepared run of the model on
screen (and says which run it is); the summary exports CSV; the main window offers it in Help."""
import pytest
import torch

from studio._qt.classroom.lesson_dialog import LessonDialog
from studio._qt.classroom.lesson_summary import SummaryDialog
from studio._qt.training.generate_panel import GeneratePanel
from studio.core.state import StudioModel

WAIT = 240_000
TWO = ("recipe-microgpt", "2023-07-llama-2")


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ARCHSTUDIO_CACHE_DIR", str(tmp_path / "cache"))  # no TinyStories: the starter corpus
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture
def app(qtbot):
    """The model and a Generate panel kept alive together until the panel has shut down (as the
    main window holds them; letting the model go first crashed the event processing after a test)."""
    from PySide6.QtWidgets import QMainWindow
    w = QMainWindow()
    qtbot.addWidget(w)
    w.model = StudioModel(scale="classroom", start="2019-02-gpt-2")
    w.generate = GeneratePanel(w.model.run)
    yield w
    w.generate.shutdown()


def test_prepare_the_lesson_then_generate_with_the_prepared_run(qtbot, app, cache, tmp_path):
    model, gen = app.model, app.generate
    dlg = LessonDialog(model.run)
    qtbot.addWidget(dlg)
    dlg.folder.setText(str(tmp_path / "lesson"))
    from PySide6.QtCore import Qt
    for i in range(dlg.models.count()):
        item = dlg.models.item(i)
        item.setCheckState(Qt.Checked if item.data(Qt.UserRole) in TWO else Qt.Unchecked)
    assert sorted(dlg.chosen()) == sorted(TWO) and "2 models" in dlg.total.text()  # timeline order
    w = dlg.start(steps=4, batch_size=2, context=16, threads=1, precision="fp32", compile=False)
    with qtbot.waitSignal(w.ended, timeout=WAIT):
        pass
    assert dlg.overall.value() == 100 and "2 of 2 models prepared" in dlg.eta.text()
    assert dlg.start_btn.isEnabled() and not dlg.cancel_btn.isEnabled()
    assert dlg.start_btn.text() == "Start"  # a finished lesson has nothing to resume (issue 22 M6)
    assert model.run.source is None  # GPT-2 was not prepared: fresh weights, and the panel says so
    model.show_milestone("2023-07-llama-2")
    assert (model.run.source, model.run.run_dir) == ("prepared", tmp_path / "lesson" / "2023-07-llama-2")
    assert "prepared run 2023-07-llama-2: trained" in gen.source_label.text()  # which run, when, how long
    assert "starter corpus" in gen.source_label.text()
    gen.temperature.setValue(0.0)
    gen.max_tokens.setValue(8)
    gen.toggle()
    with qtbot.waitSignal(gen.worker.ended, timeout=WAIT):
        pass
    text = gen.output.toPlainText()
    assert text.startswith("Once upon a time") and len(text) > len("Once upon a time")
    summary = dlg.open_summary()
    qtbot.addWidget(summary)
    assert isinstance(summary, SummaryDialog) and summary.table.rowCount() == 2
    summary.export_csv(tmp_path / "s.csv")
    assert (tmp_path / "s.csv").read_text().splitlines()[0].startswith("id,status,val_bpb")


def test_main_window_offers_the_lesson_race_and_planner(window, qtbot):
    texts = [a.text() for a in window.menu("Help").actions()]
    assert texts[0] == "&Prepare the lesson…"
    view = [a.text() for a in window.menu("View").actions()]
    assert "Architecture &race…" in view and "Compute &planner…" in view
    planner = window.lesson.open_planner()
    qtbot.addWidget(planner)
    assert window.lesson.planner_view.plan.id == window.model.document.architecture.id


def test_timeline_marks_milestones_with_a_prepared_run(window, cache, tmp_path):
    from studio.core.classroom.lesson import LessonConfig, prepare, prepared_ids
    list(prepare(tmp_path / "lesson", LessonConfig(milestones=("2023-07-llama-2",), steps=2, batch_size=2,
                                                   context=16, threads=1, precision="fp32", compile=False)))
    assert prepared_ids(tmp_path / "lesson") == {"2023-07-llama-2"}
    window.lesson.mark_timeline(tmp_path / "lesson")
    strip = window.timeline_bar.strip
    assert strip.prepared == {"2023-07-llama-2"}
    strip.grab()  # paints with the ▲ marker without error
    window.lesson.mark_timeline(None)
    assert strip.prepared == set()


def test_pretrained_choice_reaches_the_lesson_and_offline_fails_only_that_entry(qtbot, cache, tmp_path, monkeypatch):
    from PySide6.QtCore import Qt

    from studio.core.classroom.lesson import Lesson
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens there: offline
    monkeypatch.setenv("ARCHSTUDIO_GITHUB_RAW", "http://127.0.0.1:9")
    model = StudioModel(scale="classroom", start="2019-02-gpt-2")
    dlg = LessonDialog(model.run)
    qtbot.addWidget(dlg)
    dlg.folder.setText(str(tmp_path / "lesson"))
    for i in range(dlg.models.count()):
        item = dlg.models.item(i)
        item.setCheckState(Qt.Checked if item.data(Qt.UserRole) == "recipe-microgpt" else Qt.Unchecked)
    dlg.pretrained["stories260K"].setChecked(True)
    w = dlg.start(steps=2, batch_size=2, context=16, threads=1, precision="fp32", compile=False)
    with qtbot.waitSignal(w.ended, timeout=WAIT):
        pass
    status = {e["id"]: e["status"] for e in Lesson(tmp_path / "lesson").entries()}
    assert status == {"recipe-microgpt": "done", "pretrained-stories260K": "failed"}
    assert "offline" in dlg.log.toPlainText()
