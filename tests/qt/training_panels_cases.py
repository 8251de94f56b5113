"""Training in the GUI: start -> metrics arrive -> plots update -> stop, without leaking a thread;
generation on the trained weights; the download dialog against a loopback hub; window close."""
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from PySide6.QtWidgets import QMainWindow, QMenu

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))
from hf_server import Hub  # noqa: E402
from tiny_training import tiny_arch  # noqa: E402

from studio._qt.training import install  # noqa: E402
from studio.core.rundir import RunDir  # noqa: E402
from studio.core.training import EvalMetrics, Finished, Sample  # noqa: E402


class FakeWindow(QMainWindow):
    """The main window's contract, nothing more."""

    def __init__(self, arch):
        super().__init__()
        self.timeline_model = SimpleNamespace(arch=arch)
        self.docks, self.menus, self.messages = {}, {}, []

    def add_dock(self, title, widget, area="bottom"):
        self.docks[title] = widget
        from PySide6.QtWidgets import QDockWidget
        d = QDockWidget(title, self)
        d.setWidget(widget)
        self.addDockWidget(__import__("PySide6.QtCore").QtCore.Qt.BottomDockWidgetArea, d)
        return d

    def menu(self, name):
        return self.menus.setdefault(name, QMenu(name, self))

    def show_status(self, msg, timeout_ms=0):
        self.messages.append(msg)


@pytest.fixture
def make_window(qtbot):
    """FakeWindows made by a test, shut down and deleted at a fixed point (not by a later GC
    inside pytest-qt's teardown event processing, where PySide can crash on half-dead widgets)."""
    import gc

    import shiboken6
    from PySide6.QtCore import QCoreApplication, QEvent
    made = []

    def make(arch):
        w = FakeWindow(arch)
        qtbot.addWidget(w)
        made.append(w)
        return w
    yield make
    for w in made:
        shutdown = getattr(w, "training_shutdown", None)
        if shutdown is not None:
            shutdown()
        if shiboken6.isValid(w):
            w.close()
            w.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.DeferredDelete)
    QCoreApplication.processEvents()
    gc.collect()


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("ARCHSTUDIO_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("ARCHSTUDIO_RUNS_DIR", str(tmp_path / "runs"))
    return tmp_path


def configure(panel, steps=100_000):
    panel.tokenizer.setCurrentIndex(panel.tokenizer.findData("byte"))
    panel.steps.setValue(steps)
    panel.batch.setValue(4)
    panel.context.setValue(32)
    panel.eval_every.setValue(3)
    panel.threads.setValue(1)


def test_start_metrics_plots_stop_and_generate(qtbot, env, make_window):
    w = make_window(tiny_arch())
    session = install(w)
    assert set(w.docks) == {"Training", "Plots", "Generate"}
    panel, plots, gen = w.training_panel, w.plots_panel, w.generate_panel
    assert panel.data.currentData() == "starter"  # nothing downloaded: the starter corpus, labelled
    assert "not TinyStories" in panel.attribution.text()
    configure(panel)
    events = []
    session.event.connect(events.append)
    w.training_actions["start_stop"].trigger()  # F6
    qtbot.waitUntil(lambda: session.state == "running", timeout=60_000)
    assert any("not TinyStories" in m for m in w.messages)
    assert not panel.start_btn.isEnabled() and not panel.steps.isEnabled()
    qtbot.waitUntil(lambda: plots.curve_points("loss") >= 4 and plots.curve_points("val_loss") >= 1, timeout=60_000)
    qtbot.waitUntil(lambda: panel.sample.toPlainText().startswith("[step 10]"), timeout=60_000)
    assert plots.curve_points("lr") >= 4 and plots.curve_points("val_bpb") >= 1
    assert "step" in panel.progress.format() and "tok/s" in panel.progress.format()
    session.pause(True)
    assert panel.pause_btn.text() == "Resume"
    session.pause(False)
    w.training_actions["start_stop"].trigger()  # F6 again: stop
    qtbot.waitUntil(lambda: session.state == "idle", timeout=60_000)
    fin = [e for e in events if isinstance(e, Finished)]
    assert fin and fin[0].reason == "stopped"
    assert any(isinstance(e, EvalMetrics) for e in events) and any(isinstance(e, Sample) for e in events)
    run = RunDir(session.info["run_dir"])
    assert run.load_checkpoint()["step"] == fin[0].step
    assert "Stopped" in panel.progress.format() and panel.start_btn.isEnabled()
    # generate on the final weights: the prompt first, then the continuation
    gen.prompt.setText("Tom")
    gen.temperature.setValue(0.0)
    gen.max_tokens.setValue(8)
    gen.toggle()
    qtbot.waitUntil(lambda: gen.worker is None, timeout=30_000)
    assert gen.output.toPlainText().startswith("Tom")


def test_generate_during_training_uses_a_snapshot(qtbot, env, make_window):
    w = make_window(tiny_arch())
    session = install(w)
    configure(w.training_panel)
    w.training_panel.start()
    qtbot.waitUntil(lambda: session.history.series("loss").x.size >= 2, timeout=60_000)
    g = w.generate_panel
    g.max_tokens.setValue(5)
    g.toggle()
    qtbot.waitUntil(lambda: g.worker is None and g.go.text() == "Generate" and bool(g.output.toPlainText()), timeout=30_000)
    assert "weights at step" in g.source_label.text()
    w.training_shutdown()  # what closing the window does
    assert session.state == "idle" and not session.running
    assert RunDir(session.info["run_dir"]).has_checkpoint()


def test_overlay_earlier_run(qtbot, env, make_window):
    from studio.core.training.events import EvalMetrics as EM
    run = RunDir(env / "old")
    for i in range(1, 6):
        run.append_metrics(EM(i * 10, i * 1000, 3.0 - i * 0.1, 2.0 - i * 0.1, 3.0).record())
    w = make_window(tiny_arch())
    install(w)
    label = w.plots_panel.add_overlay(env / "old")
    assert label == "old" and w.plots_panel.overlays[0][2].getData()[0].size == 5
    w.plots_panel.x_axis.setCurrentIndex(1)  # tokens seen
    assert w.plots_panel.overlays[0][2].getData()[0].tolist() == [1000, 2000, 3000, 4000, 5000]
    from studio.core import errors as E
    with pytest.raises(E.StudioError, match="no validation metrics"):
        w.plots_panel.add_overlay(env)


def test_download_dialog_against_local_hub(qtbot, env, monkeypatch):
    from studio._qt.training.download import DownloadDialog
    body = b"Once upon a time.\n<|endoftext|>\nThe end.\n" * 50_000
    with Hub({"TinyStories-valid.txt": body}) as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        dlg = DownloadDialog("quick", None)
        qtbot.addWidget(dlg)
        dlg.start()
        qtbot.waitUntil(lambda: dlg.result_path is not None or dlg.error is not None, timeout=30_000)
        dlg.worker.wait()
    assert dlg.result_path and Path(dlg.result_path).read_bytes() == body
    assert dlg.value() == 1000
    w = FakeWindow(tiny_arch())
    qtbot.addWidget(w)
    install(w)
    w.training_panel.refresh_data_choices()
    assert w.training_panel.data.currentData() == "quick" and "CDLA-Sharing-1.0" in w.training_panel.attribution.text()


def test_closing_the_main_window_stops_training_and_saves(qtbot, env, window):
    """The real main window: the docks and the Train menu are installed; closing it mid-run stops
    the thread cleanly and leaves a checkpoint."""
    from studio.core.presets import load_preset
    assert hasattr(window, "training_session")
    assert "Start training" in [a.text() for a in window.menu("Train").actions()]
    window.timeline_model.set_current("2023-07-llama-2")
    configure(window.training_panel)
    session = window.training_session
    window.training_actions["start_stop"].trigger()
    qtbot.waitUntil(lambda: session.history.series("loss").x.size >= 1, timeout=90_000)
    assert session.info["run_dir"] and load_preset("2023-07-llama-2")  # trained a copy of the current model
    window.close()
    assert not session.running and session.state == "idle"
    run = RunDir(session.info["run_dir"])
    assert run.has_checkpoint() and run.load_checkpoint()["step"] >= 1


def test_a_started_run_is_recorded_in_the_project(qtbot, env, window):
    window.timeline_model.set_current("2023-07-llama-2")
    configure(window.training_panel)
    window.training_panel.steps.setValue(2)
    session = window.training_session
    with qtbot.waitSignal(session.prepared, timeout=120_000):
        window.training_panel.start()
    qtbot.waitUntil(lambda: session.state == "idle", timeout=120_000)
    proj = window.project_controller.project()
    assert proj.latest_run == session.info["run_dir"] and proj.training["steps"] == 2
