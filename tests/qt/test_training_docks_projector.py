"""Issue 13's training-dock defects, napari-shaped (no training thread is started: the session's
signals are the model): the progress bar's text fits on one line and the bar is full when done;
the data choice survives a restart; the live sample shows no U+FFFD or <unk>; an earlier run of
this window is overlaid by itself, with its loss as well as its bits per byte."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))
from tiny_training import tiny_arch  # noqa: E402

from studio._qt.training.panel import UNKNOWN_MARK, TrainingPanel  # noqa: E402
from studio._qt.training.plots import PlotsPanel  # noqa: E402
from studio._qt.training.session import TrainingSession  # noqa: E402
from studio.core.runs.rundir import RunDir  # noqa: E402
from studio.core.state import Document, RunState  # noqa: E402
from studio.core.tokenizers import BOS, UNK  # noqa: E402
from studio.core.tokenizers.byte_level import ByteTokenizer  # noqa: E402
from studio.core.training.events import EvalMetrics, Finished, Sample, StepMetrics  # noqa: E402

PREPARED = {"steps": 3000, "is_tinystories": False, "label": "starter corpus", "params": 1_488_000,
            "tokenizer": "bpe", "vocab": 1024, "run_dir": "/tmp/not-used"}


def _panel(qtbot, width=420):
    doc, run = Document("classroom"), RunState()
    run.follow(doc)
    doc.show_milestone("tiny", tiny_arch(), "Tiny")
    session = TrainingSession(run)
    panel = TrainingPanel(session, run)
    session.setParent(panel)  # deleted with the panel, not at a random garbage-collection moment
    qtbot.addWidget(panel)
    return session, panel


def _one_line_fits(bar) -> bool:
    return bar.fontMetrics().horizontalAdvance(bar.text()) + 12 <= bar.width()


def ended_run(run, key, run_dir):
    """RunState as a training run of document ``key`` in ``run_dir`` leaves it when it has ended."""
    run.start_live(key)
    run.live_prepared(run_dir, {"run_dir": str(run_dir)}, key)
    run.set_training("finished", key)


def test_progress_text_fits_and_the_bar_is_full_when_done(qtbot):
    session, panel = _panel(qtbot)
    panel.resize(1366, 330)  # the Training dock at 1366x768
    panel.show()
    qtbot.waitExposed(panel)
    session.state_changed.emit("preparing")
    session.prepared.emit(PREPARED)
    session.state_changed.emit("running")
    session.job_event.emit(StepMetrics(1234, 1234 * 1024, 3.123, 1e-3, 1.0, 12345.0, 100.0))
    bar = panel.progress
    assert bar.text().startswith("step 1234 / 3000") and "ETA" in bar.text()
    assert "loss 3.123" in panel.numbers.text() and "12,345 tokens/s" in panel.numbers.text()
    assert _one_line_fits(bar)
    assert panel.data.width() >= panel.data.sizeHint().width()  # the data choice is read whole
    assert panel.split.count() == 3  # data | settings | run share a splitter
    session.job_event.emit(Finished(3000, 3000 * 1024, "done", 2.1, 2.2, 1.9, 12000.0))
    session.state_changed.emit("idle")
    assert bar.value() == bar.maximum() > 0 and bar.text() == "Finished at step 3000"  # not blank
    assert _one_line_fits(bar)


def test_a_stopped_run_keeps_its_bar(qtbot):
    session, panel = _panel(qtbot)
    session.prepared.emit(PREPARED)
    session.state_changed.emit("running")
    session.job_event.emit(StepMetrics(700, 700 * 1024, 3.0, 1e-3, 1.0, 9000.0, 50.0))
    session.job_event.emit(Finished(700, 700 * 1024, "stopped", 3.0, 3.1, 2.5, 9000.0))
    session.state_changed.emit("idle")
    assert panel.progress.value() == 700 and "Stopped" in panel.progress.text()


def test_failure_while_preparing_leaves_no_busy_bar(qtbot):
    session, panel = _panel(qtbot)
    session.state_changed.emit("preparing")
    assert panel.progress.maximum() == 0  # busy while preparing
    session.failed.emit("no data")
    session.state_changed.emit("idle")
    assert panel.progress.maximum() > 0 and panel.progress.text() == "failed"


def test_the_data_choice_is_remembered_across_restarts(qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog
    monkeypatch.setenv("ARCHSTUDIO_CACHE_DIR", str(tmp_path / "cache"))
    stories = tmp_path / "my-stories.txt"
    stories.write_text("Once upon a time.\n")
    _, first = _panel(qtbot)
    assert first.data_spec() == "starter"  # a first start
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(stories), "")))
    first.data.setCurrentIndex(first.data.findData("choose"))
    assert first.data_spec() == str(stories)
    _, second = _panel(qtbot)  # the app started again
    assert second.data_spec() == str(stories) and "my-stories.txt" in second.attribution.text()
    stories.unlink()  # the file went away: the first choice again, no error
    _, third = _panel(qtbot)
    assert third.data_spec() == "starter"


def test_live_sample_shows_no_replacement_characters(qtbot):
    session, panel = _panel(qtbot)
    tok = ByteTokenizer()
    raw = [BOS, UNK, *(3 + b for b in "Ony".encode()), 3 + 0xFF, *(3 + b for b in "你".encode()), 3 + 0xE4]
    session.job_event.emit(Sample(40, tok.decode(raw)))
    text = panel.sample.toPlainText()
    assert "\ufffd" not in text and "<unk>" not in text
    assert text.startswith("[step 40] " + UNKNOWN_MARK + "Ony") and "你" in text and "\\xff" in text
    assert UNKNOWN_MARK in panel.sample.toolTip()


def _run_folder(path: Path, evals=True) -> Path:
    run = RunDir(path)
    run.path.mkdir(parents=True)
    for i in range(1, 6):
        run.append_metrics(StepMetrics(i * 10, i * 1000, 4.0 - i * 0.2, 1e-3, 1.0, 100.0, float(i)).record())
        if evals:
            run.append_metrics(EvalMetrics(i * 10, i * 1000, 3.0 - i * 0.1, 2.0 - i * 0.1, 3.0).record())
    return run.path


def test_the_earlier_run_is_overlaid_by_itself_with_loss_and_bits_per_byte(qtbot, tmp_path):
    doc, run = Document("classroom"), RunState()
    run.follow(doc)
    session = TrainingSession(run)
    plots = PlotsPanel(session, run_state=run)
    session.setParent(plots)
    qtbot.addWidget(plots)
    gpt2 = _run_folder(tmp_path / "gpt2")
    ended_run(run, "gpt2", gpt2)  # GPT-2's run ended in this window
    session.state_changed.emit("idle")
    assert plots.overlays == []  # nothing drawn over GPT-2's own curves
    session.prepared.emit({**PREPARED, "run_dir": str(tmp_path / "llama2")})  # then LLaMA 2 starts
    assert len(plots.overlays) == 1 and plots.overlays[0].auto
    assert plots.overlay_points(0, "loss") == 5 and plots.overlay_points(0, "val_bpb") == 5
    assert "earlier run" in plots.overlay_key.text() and plots.clear_btn.isEnabled()
    session.prepared.emit({**PREPARED, "run_dir": str(tmp_path / "third")})
    assert len(plots.overlays) == 1  # not twice
    plots.clear_overlays()
    session.prepared.emit({**PREPARED, "run_dir": str(tmp_path / "fourth")})
    assert plots.overlays == []  # cleared stays cleared


def test_manual_overlay_of_a_run_without_evaluations_draws_its_loss(qtbot, tmp_path):
    doc, run = Document("classroom"), RunState()
    run.follow(doc)
    session = TrainingSession(run)
    plots = PlotsPanel(session, run_state=run)
    session.setParent(plots)
    qtbot.addWidget(plots)
    plots.add_overlay(_run_folder(tmp_path / "short", evals=False))
    assert plots.overlay_points(0, "loss") == 5 and plots.overlay_points(0, "val_bpb") == 0
    assert not plots.overlays[0].auto and "earlier run" not in plots.overlay_key.text()


def test_plots_without_a_run_explain_instead_of_empty_axes(qtbot, tmp_path):
    doc, run = Document("classroom"), RunState()
    run.follow(doc)
    doc.show_milestone("tiny", tiny_arch(), "Tiny")
    session = TrainingSession(run)
    plots = PlotsPanel(session, run_state=run)
    session.setParent(plots)
    qtbot.addWidget(plots)
    plots.tick()
    assert plots.pages.currentWidget() is plots.empty_note and "Start training" in plots.empty_note.text()
    run.start_live(doc.key)
    session.history.add(StepMetrics(1, 100, 3.3, 1e-3, 1.0, 10.0, 0.1))
    plots.tick()
    assert plots.pages.currentWidget() is plots.canvas
    doc.show_milestone("other", tiny_arch(), "Other")  # another model, no run, but an overlay: the plots
    plots.add_overlay(_run_folder(tmp_path / "earlier"))
    plots.tick()
    assert plots.pages.currentWidget() is plots.canvas
    plots.clear_overlays()
    assert plots.pages.currentWidget() is plots.empty_note


def test_runs_drawn_by_themselves_go_when_another_model_comes_on_screen(qtbot, tmp_path):
    """Issue 22 L12: after an import (another model on screen) the earlier runs drawn over the
    previous run stayed, unrelated to what is shown; a run the user overlaid stays until cleared."""
    doc, run = Document("classroom"), RunState()
    run.follow(doc)
    doc.show_milestone("first", tiny_arch(), "First")
    session = TrainingSession(run)
    plots = PlotsPanel(session, run_state=run)
    session.setParent(plots)
    qtbot.addWidget(plots)
    ended_run(run, "a", _run_folder(tmp_path / "a"))
    session.state_changed.emit("idle")
    session.prepared.emit({**PREPARED, "run_dir": str(tmp_path / "b")})
    plots.add_overlay(_run_folder(tmp_path / "chosen"))
    assert [o.auto for o in plots.overlays] == [True, False]
    doc.show_milestone("imported", tiny_arch(), "Imported")  # e.g. File → Import → llama2.c model…
    assert [o.auto for o in plots.overlays] == [False] and "earlier run" not in plots.overlay_key.text()


def test_the_run_box_lets_go_of_the_last_run_when_another_model_comes_on_screen(qtbot, monkeypatch):
    """Issue 22 M10: after switching model (or importing) the Run box kept the previous model's
    step, loss, sample and status; and a download's error stayed after a local file was chosen."""
    from PySide6.QtCore import Qt
    session, panel = _panel(qtbot)
    doc = panel.run_state.document
    monkeypatch.setattr(session, "start", lambda req, key=None: None)  # the click, not a real run
    qtbot.mouseClick(panel.start_btn, Qt.LeftButton)
    session.prepared.emit(PREPARED)
    session.job_event.emit(StepMetrics(10, 1000, 3.2, 1e-3, 1.0, 100.0, 1.0))
    session.job_event.emit(Sample(10, "Once upon a time"))
    assert panel.status.text() and panel.sample.toPlainText()
    doc.show_milestone("other", tiny_arch(), "Other")  # nothing trains: another model on screen
    assert panel.status.text() == "" and panel.sample.toPlainText() == "" and panel.numbers.text() == ""
    assert panel.progress.format() == "idle"
    import studio._qt.training.download as download

    class Offline:  # the download dialog as it ends with no network
        result_path, error = None, "Could not download TinyStories: no network"

        def __init__(self, *a):
            pass

        def start(self):
            pass

        def exec(self):
            return 0
    monkeypatch.setattr(download, "DownloadDialog", Offline)
    panel.local_path = "/tmp/my-stories.txt"
    panel.refresh_data_choices()
    panel.data.setCurrentIndex(panel.data.findData("download:quick"))
    assert "no network" in panel.status.text()
    panel.data.setCurrentIndex(panel.data.findData("/tmp/my-stories.txt"))  # another choice: the error goes
    assert panel.status.text() == ""


def test_the_run_line_names_a_file_by_its_name_and_passes_no_verdict_on_it(qtbot):
    """Issue 22 M11: 'Training on /…/train-2316-stories.txt (2,316 stories) [NOT TinyStories]'
    showed a whole path and called a file the app cannot judge not TinyStories."""
    session, panel = _panel(qtbot)
    session.prepared.emit({**PREPARED, "label": "/home/me/data/train-2316-stories.txt (2,316 stories)"})
    text = panel.status.text()
    assert text.startswith("Training on train-2316-stories.txt (2,316 stories) ·") and "NOT" not in text
    session.prepared.emit({**PREPARED, "label": "TinyStories quick", "is_tinystories": True})
    assert panel.status.text().startswith("Training on TinyStories quick [TinyStories] ·")
