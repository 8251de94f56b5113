"""Training in the GUI: start -> metrics arrive -> plots update -> stop, without leaking a thread;
generation on the trained weights; the download dialog against a loopback hub; window close."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))
import pytest
from hf_server import Hub
from tiny_training import tiny_arch

from studio.core.runs.rundir import RunDir
from studio.core.training import EvalMetrics, Finished, Sample
from tests.qt.training_docks import configure


def test_start_metrics_plots_stop_and_generate(qtbot, env, make_docks):
    t = make_docks(tiny_arch())
    session, run = t.session, t.run_state
    assert set(t.docks) == {"Training", "Plots", "Generate"}
    panel, plots, gen = t.panel, t.plots, t.generate
    assert panel.data.currentData() == "starter"  # nothing downloaded: the starter corpus, labelled
    assert "not TinyStories" in panel.attribution.text()
    assert run.source is None and "none for this model" in gen.source_label.text()
    configure(panel)
    events = []
    session.job_event.connect(events.append)
    t.actions["start_stop"].trigger()  # F6
    assert run.source == "live" and run.training == "preparing"  # the run belongs to the document on screen
    qtbot.waitUntil(lambda: session.state == "running", timeout=60_000)
    assert run.training == "running" and run.run_dir is not None and str(run.run_dir) == session.info["run_dir"]
    assert any("not TinyStories" in m for m in t.messages)
    assert not panel.start_btn.isEnabled() and not panel.steps.isEnabled()
    qtbot.waitUntil(lambda: plots.curve_points("loss") >= 4 and plots.curve_points("val_loss") >= 1, timeout=60_000)
    qtbot.waitUntil(lambda: panel.sample.toPlainText().startswith("[step 10]"), timeout=60_000)
    assert plots.curve_points("lr") >= 4 and plots.curve_points("val_bpb") >= 1
    assert "step" in panel.progress.format() and "tokens/s" in panel.numbers.text()  # bar: step + ETA only
    session.pause(True)
    assert panel.pause_btn.text() == "Resume" and run.training == "paused"
    session.pause(False)
    with qtbot.waitSignal(session.state_changed, check_params_cb=lambda s: s == "idle", timeout=60_000):
        t.actions["start_stop"].trigger()  # F6 again: stop
    fin = [e for e in events if isinstance(e, Finished)]
    assert fin and fin[0].reason == "stopped"
    assert any(isinstance(e, EvalMetrics) for e in events) and any(isinstance(e, Sample) for e in events)
    assert run.training == "finished" and run.snapshot is not None and run.snapshot.step == fin[0].step
    rd = RunDir(session.info["run_dir"])
    assert rd.load_checkpoint()["step"] == fin[0].step
    assert "Stopped" in panel.progress.format() and panel.start_btn.isEnabled()
    # generate on the final weights: the prompt first, then the continuation
    gen.prompt.setText("Tom")
    gen.temperature.setValue(0.0)
    gen.max_tokens.setValue(8)
    gen.toggle()
    assert gen.worker is not None
    with qtbot.waitSignal(gen.worker.ended, timeout=30_000):
        pass
    assert gen.output.toPlainText().startswith("Tom")
    # another model on screen: its own (no) run, and the first model's text does not stay
    t.doc.show_milestone("other", tiny_arch("2019-02-gpt-2"), "Other")
    assert run.source is None and gen.output.toPlainText() == "" and "none for this model" in gen.source_label.text()
    gen.toggle()
    assert gen.worker is None and "Nothing to generate" in gen.source_label.text()
    t.doc.show_milestone("tiny", tiny_arch(), "Tiny")  # back: the run is found again
    assert run.source == "live" and f"step {fin[0].step}" in gen.source_label.text()


def test_generate_during_training_uses_a_snapshot(qtbot, env, make_docks):
    t = make_docks(tiny_arch())
    session = t.session
    configure(t.panel)
    t.panel.start()
    qtbot.waitUntil(lambda: session.history.series("loss").x.size >= 2, timeout=60_000)
    g = t.generate
    g.max_tokens.setValue(5)
    g.toggle()
    qtbot.waitUntil(lambda: g.worker is None and g.go.text() == "Generate" and bool(g.output.toPlainText()), timeout=30_000)
    assert "snapshot at step" in g.source_label.text()
    assert t.run_state.snapshot is not None and t.run_state.training == "running"
    assert t.panel.owner.isHidden()
    t.doc.show_milestone("other", tiny_arch("2019-02-gpt-2"), "Other")  # the run goes on for its own model
    assert not t.panel.owner.isHidden() and "Tiny" in t.panel.owner.text()
    assert t.run_state.training == "idle" and t.run_state.live_key == "milestone:tiny"
    t.shutdown()  # what closing the window does
    assert session.state == "idle" and not session.running
    assert RunDir(session.info["run_dir"]).has_checkpoint()


def test_switching_models_mid_generation_drops_the_old_text(qtbot, env, make_docks, tmp_path, monkeypatch):
    """Generation runs on a run folder; showing another model stops it, and nothing of it is shown."""
    import time

    from studio.core.model.compiler import compile_architecture
    from studio.core.training import generation
    real = generation.generate_stream

    def slow(*a, **k):  # a tiny model writes 4096 tokens in seconds: slow enough that the switch comes mid-way
        for piece in real(*a, **k):
            time.sleep(0.01)
            yield piece
    monkeypatch.setattr(generation, "generate_stream", slow)
    from studio.core.tokenizers.byte_level import ByteTokenizer
    arch = tiny_arch()
    rd = RunDir(tmp_path / "imported")
    rd.initialize(arch, "tiny", ByteTokenizer())
    rd.save_checkpoint({"model": compile_architecture(arch).state_dict()}, step=3)
    t = make_docks(arch)
    t.doc.show("imported", arch, "Imported tiny", run_dir=rd.path)
    g = t.generate
    assert t.run_state.source == "imported" and "latest checkpoint" in g.source_label.text()
    g.max_tokens.setValue(g.max_tokens.maximum())
    g.toggle()
    w, ended = g.worker, []
    w.ended.connect(lambda: ended.append(True))  # connected now: the worker is deleted once it has ended
    qtbot.waitUntil(lambda: bool(g.output.toPlainText()), timeout=30_000)
    assert not ended, "the generation finished before the switch: nothing was tested"
    t.doc.show_milestone("tiny", tiny_arch(), "Tiny")
    qtbot.waitUntil(lambda: bool(ended) and g.worker is None, timeout=30_000)
    assert g.output.toPlainText() == "" and g.go.text() == "Generate"


def test_overlay_earlier_run(qtbot, env, make_docks):
    from studio.core.training.events import EvalMetrics as EM
    run = RunDir(env / "old")
    for i in range(1, 6):
        run.append_metrics(EM(i * 10, i * 1000, 3.0 - i * 0.1, 2.0 - i * 0.1, 3.0).record())
    t = make_docks(tiny_arch())
    label = t.plots.add_overlay(env / "old")
    assert label == "old" and t.plots.overlays[0].bpb_curve.getData()[0].size == 5
    t.plots.x_axis.setCurrentIndex(1)  # tokens seen
    assert t.plots.overlays[0].bpb_curve.getData()[0].tolist() == [1000, 2000, 3000, 4000, 5000]
    from studio.core import errors as E
    with pytest.raises(E.StudioError, match="no training or validation metrics"):
        t.plots.add_overlay(env)


def test_download_dialog_against_local_hub(qtbot, env, monkeypatch, make_docks):
    from studio._qt.training.download import DownloadDialog
    body = b"Once upon a time.\n<|endoftext|>\nThe end.\n" * 50_000
    with Hub({"TinyStories-valid.txt": body}) as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        dlg = DownloadDialog("quick", None)
        qtbot.addWidget(dlg)
        dlg.start()
        with qtbot.waitSignal(dlg.worker.ended, timeout=30_000):
            pass
    assert dlg.result_path and Path(dlg.result_path).read_bytes() == body
    assert dlg.value() == 1000 and dlg.worker is None
    t = make_docks(tiny_arch())
    t.panel.refresh_data_choices()
    assert t.panel.data.currentData() == "quick" and "CDLA-Sharing-1.0" in t.panel.attribution.text()


def test_closing_the_main_window_stops_training_and_saves(qtbot, env, window):
    """The real main window: the docks and the Train menu are installed; closing it mid-run stops
    the thread cleanly and leaves a checkpoint."""
    from studio.core.files.presets import load_preset
    assert "Start training" in [a.text() for a in window.menu("Train").actions()]
    window.model.show_milestone("2023-07-llama-2")
    configure(window.training.panel)
    session = window.training.session
    window.training.actions["start_stop"].trigger()
    qtbot.waitUntil(lambda: session.history.series("loss").x.size >= 1, timeout=90_000)
    assert session.info["run_dir"] and load_preset("2023-07-llama-2")  # trained a copy of the current model
    assert window.model.run.source == "live" and str(window.model.run.run_dir) == session.info["run_dir"]
    window.close()
    assert not session.running and session.state == "idle"
    run = RunDir(session.info["run_dir"])
    assert run.has_checkpoint() and run.load_checkpoint()["step"] >= 1


def test_a_started_run_is_recorded_in_the_project(qtbot, env, window):
    window.model.show_milestone("2023-07-llama-2")
    configure(window.training.panel)
    window.training.panel.steps.setValue(2)
    session = window.training.session
    with qtbot.waitSignal(session.prepared, timeout=120_000):
        window.training.panel.start()
    qtbot.waitUntil(lambda: session.state == "idle", timeout=120_000)
    proj = window.projects.project()
    assert proj.latest_run == session.info["run_dir"] and proj.training["steps"] == 2
