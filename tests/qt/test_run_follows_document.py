"""Generate, Attention, Routing and Export read the run of the model on screen (RunState), never
"the last training run": import stories260K after a DeepSeek-V3 run and every view uses the import.

Napari's shape: build the model (StudioModel), build the views on it, change the model, assert the views.
"""
import sys
from pathlib import Path

import pytest
import torch
from PySide6.QtWidgets import QMainWindow

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))
from tiny_training import tiny_arch

from studio._qt.dialogs.export_dialog import Llama2cActions
from studio._qt.inspect import InspectDocks
from studio._qt.training.generate_panel import GeneratePanel
from studio.core.model.compiler import compile_architecture
from studio.core.state import StudioModel
from studio.core.state.run import Snapshot
from studio.core.tokenizers.byte_level import ByteTokenizer

WAIT = 60_000
DEEPSEEK = "2024-12-deepseek-v3"


@pytest.fixture
def llama2c_files():
    import os
    root = Path(__file__).resolve().parents[2]
    d = Path(os.environ.get("ARCHSTUDIO_SHARED", root.parent / "shared")) / "data" / "llama2c"
    if not (d / "stories260K.bin").is_file() or not (d / "tok512.bin").is_file():
        pytest.skip(f"needs stories260K.bin and tok512.bin in {d}")
    return d


@pytest.fixture
def app(qtbot):
    """The app's model with the views that read runs, composed on a plain window."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    model = StudioModel(scale="classroom", start=DEEPSEEK)
    w = QMainWindow()
    qtbot.addWidget(w)
    w.model = model
    w.inspect = InspectDocks(model.run, parent=w)
    w.generate = GeneratePanel(model.run)
    w.llama2c = Llama2cActions(model, parent=w)
    yield w
    w.inspect.shutdown()
    w.generate.shutdown()
    torch.set_num_threads(n)


def test_imported_run_replaces_a_previous_deepseek_training_run_everywhere(qtbot, app, llama2c_files, tmp_path):
    model, ctl, gen = app.model, app.inspect.controller, app.generate
    # a DeepSeek-V3 run trained in this window (its final snapshot): the views show it
    ds = model.document
    assert ds.architecture.id == DEEPSEEK
    arch = tiny_arch(DEEPSEEK)
    ctl.prompt = "Once upon a time"  # the tiny stand-in sees 32 tokens
    model.run.start_live(ds.key)
    model.run.live_prepared(tmp_path / "ds-run")
    model.run.set_snapshot(Snapshot(arch, compile_architecture(arch).state_dict(), 7, ByteTokenizer()))
    model.run.set_training("finished")
    with qtbot.waitSignal(ctl.inspected, timeout=WAIT) as first:
        app.inspect.inspect_on_screen()
    qtbot.waitUntil(lambda: not ctl.busy(), timeout=WAIT)
    assert "DeepSeek-V3, training snapshot at step 7" == first.args[0].label
    assert "step 7" in gen.source_label.text()

    # File → Import → llama2.c model…
    dlg = app.llama2c.open_import()
    qtbot.addWidget(dlg)
    dlg.model_edit.setText(str(llama2c_files / "stories260K.bin"))
    dlg.tok_edit.setText(str(llama2c_files / "tok512.bin"))
    out = tmp_path / "stories260K"
    dlg.out_edit.setText(str(out))
    with qtbot.waitSignal(ctl.inspected, timeout=WAIT) as after:
        dlg.do_import()
    qtbot.waitUntil(lambda: not ctl.busy(), timeout=WAIT)
    assert model.document.kind == "imported" and model.timeline.index is None
    assert (model.run.source, model.run.run_dir) == ("imported", out)
    # Attention
    assert ctl.source.kind == "run" and Path(ctl.source.path) == out
    ins = after.args[0]
    assert "step 7" not in ins.label and out.name in ins.label
    assert out.name in app.inspect.attention.source_label.text()
    assert ins.attention and ins.attention[0].weights.shape[0] == 8  # stories260K: 8 heads
    # Routing: a dense model, and the DeepSeek run's history is not this model's
    assert not ins.routing and app.inspect.routing.empty.isVisibleTo(app.inspect.routing)
    assert ctl.history.version == 0
    # Generate
    assert "step 7" not in gen.source_label.text() and out.name in gen.source_label.text()
    gen.temperature.setValue(0.0)
    gen.max_tokens.setValue(12)
    gen.prompt.setText("Once upon a time")
    gen.toggle()
    with qtbot.waitSignal(gen.worker.ended, timeout=WAIT):
        pass
    text = gen.output.toPlainText()
    assert text.startswith("Once upon a time") and len(text) > len("Once upon a time")
    # Export offers the imported run, and it fits llama2.c
    exp = app.llama2c.open_export()
    qtbot.addWidget(exp)
    assert exp.run_edit.text() == str(out) and exp.compatible and exp.screen_label.isHidden()

    # back to DeepSeek-V3 on the timeline: its own run again
    with qtbot.waitSignal(ctl.inspected, timeout=WAIT) as back:
        model.show_milestone(DEEPSEEK)
    qtbot.waitUntil(lambda: not ctl.busy(), timeout=WAIT)
    assert model.run.source == "live" and "step 7" in back.args[0].label
    assert gen.output.toPlainText() == ""  # the stories260K text did not carry over
