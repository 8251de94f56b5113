"""The inspector inside the real main window: graph click opens it, training snapshots feed it."""
import pytest
import torch

from studio.core.compiler import compile_architecture
from studio.core.tokenizers.byte_level import ByteTokenizer

WAIT = 60_000


@pytest.fixture
def ready(window, qtbot):
    if not hasattr(window, "inspect_controller"):
        pytest.skip("the main window did not install studio._qt.inspect")
    yield window
    window.inspect_controller.shutdown()


def test_graph_click_opens_inspector_on_that_block(ready, qtbot):
    w = ready
    w.timeline_model.set_current("2023-07-llama-2")
    assert {"Attention", "Routing"} <= set(w._docks)
    ctl = w.inspect_controller
    with qtbot.waitSignal(ctl.inspected, timeout=WAIT) as blocker:
        w.graph_view.block_activated.emit("attention")
    qtbot.waitUntil(lambda: not ctl.busy(), timeout=WAIT)
    ins = blocker.args[0]
    assert ins.arch_id == "2023-07-llama-2" and "untrained" in ins.label
    view = w.attention_inspector
    qtbot.waitUntil(lambda: view.ins is ins)
    assert view.sel == (0, -1) and ins.attention[0].node == "attention"
    assert w._docks["Attention"].isVisible()
    # switching heads and blocks through the combo boxes
    view.head_box.setCurrentIndex(5)
    view.block_box.setCurrentIndex(3)
    assert view.sel == (3, 4)


def test_training_snapshot_reaches_inspector(ready, qtbot):
    w = ready
    session = getattr(w, "training_session", None)
    if session is None:
        pytest.skip("training module not installed")
    w.timeline_model.set_current("2023-07-llama-2")
    arch = w.timeline_model.arch.copy()
    arch.scales["classroom"]["vocab_size"] = 259
    model = compile_architecture(arch)
    with qtbot.waitSignal(w.inspect_controller.inspected, timeout=WAIT) as blocker:
        session.snapshot_ready.emit((arch, model.state_dict(), 42, ByteTokenizer()))
    qtbot.waitUntil(lambda: not w.inspect_controller.busy(), timeout=WAIT)
    assert "step 42" in blocker.args[0].label
    assert "step 42" in w.attention_inspector.source_label.text()
