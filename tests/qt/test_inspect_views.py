"""pytest-qt: the Attention and Routing docks on the app's Document + RunState (build the model, build the view, change the model)."""
import numpy as np
import pytest
import torch

from studio.core.model.compiler import compile_architecture
from studio.core.state.run import Snapshot
from tests.core.test_inspection import arch_of, moe_mla_arch
from tests.core.test_routing_history import step_from_model
from tests.qt.inspect_window import WAIT, Win


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Tiny models: two OpenMP threads on a shared 2-core box spin against other processes (~100x slower)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture
def win(qtbot):
    w = Win(arch_of())
    qtbot.addWidget(w)
    w.show()
    yield w
    w.inspect.shutdown()


def inspect_untrained(qtbot, w):
    with qtbot.waitSignal(w.inspect_controller.inspected, timeout=WAIT) as blocker:
        w.menus["Inspect"].actions()[0].trigger()
    qtbot.waitUntil(lambda: not w.inspect_controller.busy(), timeout=WAIT)
    return blocker.args[0]


def test_docks_and_menu(win):
    assert set(win.inspect.docks) == {"Attention", "Routing"}
    texts = [a.text() for a in win.menus["Inspect"].actions()]
    assert texts[0] == "Inspect the model on screen" and "Open run or checkpoint…" in texts
    assert win.inspect_controller.source is None  # nothing is computed before the user asks


def test_untrained_milestone_grid_and_selection(qtbot, win):
    ins = inspect_untrained(qtbot, win)
    view = win.attention_inspector
    assert "untrained" in view.source_label.text()
    assert len(view._cells) == 4 and all(len(c) == 9 for c in view._cells)  # 8 heads + mean per layer
    img = view._cells[1][3].image
    assert img.shape == (len(ins.tokens), len(ins.tokens), 3)
    # GQA: the two groups' frames differ in colour, heads of one group share it
    pens = [view._boxes[0][h][0].border.color().name() for h in range(8)]
    assert len(set(pens[:4])) == 1 and len(set(pens[4:])) == 1 and pens[0] != pens[4]
    view.head_box.setCurrentIndex(3)  # head 2
    assert view.sel == (0, 2)
    np.testing.assert_array_equal(view.big.item.image, view._cells[0][2].image)
    view.block_box.setCurrentIndex(2)
    assert view.sel[0] == 2 and "GQA" in view.info.text() and "kv1 ← h4–h7" in view.info.text()
    # masked (future) cells are not drawn as weight 0
    top_right = view.big.item.image[0, -1]
    assert not np.array_equal(top_right, np.array([68, 1, 84]))


def test_hover_readout_and_graph_click(qtbot, win):
    inspect_untrained(qtbot, win)
    view = win.attention_inspector
    view.select(3, 0)
    vb = view.big.getPlotItem().vb
    pos = vb.mapViewToScene(pg_point(0.5, 2.5))  # column 0 (BOS), row 2
    view._hover(pos)
    assert view.readout.text().startswith("query 2 ") and "key 0 “<s>”" in view.readout.text()
    w = view.ins.attention[3].weights[0][2, 0]
    assert f"{w:.4f}" in view.readout.text()
    view._hover(vb.mapViewToScene(pg_point(5.5, 1.5)))
    assert "masked" in view.readout.text()
    view.select(3, -1)
    win.graph_view.block_activated.emit("attention")
    assert view.sel == (0, -1)
    win.graph_view.block_activated.emit("feed_forward")  # not attention: nothing changes
    assert view.sel == (0, -1)


def pg_point(x, y):
    from PySide6.QtCore import QPointF
    return QPointF(x, y)


def test_slider_change_reinspects_untrained(qtbot, win):
    inspect_untrained(qtbot, win)
    with qtbot.waitSignal(win.inspect_controller.inspected, timeout=WAIT) as blocker:
        win.show_arch(arch_of("2020-05-gpt-3"))
    qtbot.waitUntil(lambda: not win.inspect_controller.busy(), timeout=WAIT)
    assert blocker.args[0].arch_id == "2020-05-gpt-3"
    qtbot.waitUntil(lambda: len(win.attention_inspector._cells) == 4 and len(win.attention_inspector._cells[0]) == 5)
    win.attention_inspector.select(1, -1)
    assert "window 64" in win.attention_inspector.info.text()


def test_snapshot_updates_and_routing_view(qtbot, win):
    """A live run of the model on screen feeds its snapshots and routing history through RunState."""
    arch = moe_mla_arch(bias_balancing=True)
    win.show_arch(arch, key="moe-mla")
    ctl = win.inspect_controller
    win.run.start_live(win.doc.key)
    torch.manual_seed(1)
    model = compile_architecture(arch).train()
    win.run.set_snapshot(Snapshot(arch, {k: v.clone() for k, v in model.state_dict().items()}, 0))
    with qtbot.waitSignal(ctl.inspected, timeout=WAIT) as b1:
        win.inspect.inspect_on_screen()
    qtbot.waitUntil(lambda: not ctl.busy(), timeout=WAIT)
    history = ctl.history
    assert history is win.run.routing_history and history.version == 0
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    x = torch.randint(3, 259, (2, 24))
    for step in range(1, 6):
        _, loss = model(x[:, :-1], x[:, 1:])
        opt.zero_grad()
        loss.backward()
        opt.step()
        win.run.record_step(step_from_model(step, model), win.doc.key)  # as the session does with each step event
    with qtbot.waitSignal(ctl.inspected, timeout=WAIT) as b2:  # the trainer's next snapshot: shown at once
        win.run.set_snapshot(Snapshot(arch, {k: v.clone() for k, v in model.state_dict().items()}, 5))
    qtbot.waitUntil(lambda: not ctl.busy(), timeout=WAIT)
    assert "step 5" in win.attention_inspector.source_label.text()
    a1, a2 = b1.args[0].attention[2].weights, b2.args[0].attention[2].weights
    assert not np.allclose(a1, a2)  # new weights, new maps
    rv = win.routing_view
    assert rv.layer_box.count() == 3 and not rv.empty.isVisibleTo(rv)
    m = b2.args[0].routing[0]
    assert rv.map.item.image.shape == (1 + 8, len(b2.args[0].tokens), 3)  # shared row + experts
    assert list(rv.bars.opts["height"]) == list(m.counts)
    assert "top-2" in rv.summary.text() and "1 shared" in rv.summary.text()
    tr = rv.training
    qtbot.waitUntil(lambda: tr.load_img.image is not None, timeout=WAIT)  # redrawn by itself: it listens to the history
    assert tr.load_img.image.shape[:2] == (8, 5) and "step 5" in tr.note.text()
    assert tr.currentIndex() == 1 and "step 5" in rv.source_label.text()  # the plots, and whose weights
    assert len(tr.bias_curves) == 8 and "bias per expert" in tr.bias_plot.getPlotItem().titleLabel.text
    # another model on screen: none of this run's curves stay
    with qtbot.waitSignal(ctl.inspected, timeout=WAIT):
        win.show_arch(arch_of())
    qtbot.waitUntil(lambda: not ctl.busy(), timeout=WAIT)
    rv.refresh_history()
    assert tr.load_img.image is None and "No run is training this model" in tr.note.text()
    assert tr.currentWidget() is tr.idle  # words, not empty −400…400 axes (issue 22 L6)
    assert "untrained" in rv.source_label.text()
    assert "untrained" in win.attention_inspector.source_label.text()


def test_dense_model_says_no_moe(qtbot, win):
    inspect_untrained(qtbot, win)
    assert win.routing_view.empty.isVisibleTo(win.routing_view)


def test_bad_run_folder_is_a_status_message(qtbot, win, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(tmp_path))
    next(a for a in win.menus["Inspect"].actions() if a.text().startswith("Open run")).trigger()
    assert "not a run folder" in win.status and win.inspect_controller.source is None


def test_encoder_decoder_source_box(qtbot, win):
    win.show_arch(arch_of("2017-06-transformer"))
    ins = inspect_untrained(qtbot, win)
    view = win.attention_inspector
    assert view.encoder.isVisibleTo(view)  # only encoder-decoder models show the source box
    assert ins.source_tokens == ins.tokens  # empty box: the encoder reads the prompt, as the model does
    view.encoder.setText("Die Katze.")
    with qtbot.waitSignal(win.inspect_controller.inspected, timeout=WAIT) as blocker:
        view._run()
    qtbot.waitUntil(lambda: not win.inspect_controller.busy(), timeout=WAIT)
    ins = blocker.args[0]
    assert ins.source_tokens[1:3] == ("D", "i")
    cross = next(i for i, a in enumerate(ins.attention) if a.kind == "cross_attention")
    view.select(cross, -1)
    assert view.big.item.image.shape[:2] == (len(ins.tokens), len("Die Katze.") + 1)
    assert "cross" in view.block_box.currentText()
