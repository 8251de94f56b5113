"""The Routing view does not follow every RunState change while it is hidden (scrubbing the
timeline fires one per step); shown again, it says what the model on screen is at once."""
from studio._qt.inspect.routing_view import NO_MOE
from studio.core.files.presets import load_preset
from tests.core.test_inspection import arch_of
from tests.qt.inspect_window import Win


def test_hidden_routing_view_follows_when_shown(qtbot, monkeypatch):
    w = Win(arch_of())
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    try:
        rv = w.routing_view
        dock = w.docks["Routing"]
        dock.show()
        dock.raise_()
        qtbot.waitUntil(rv.isVisible)
        assert rv.empty.text() == NO_MOE  # visible: follows at once
        dock.hide()
        assert not rv.isVisible()
        calls = []
        real = rv.follow_model
        monkeypatch.setattr(rv, "follow_model", lambda: (calls.append(1), real()))
        for _ in range(3):
            w.show_arch(load_preset("2023-12-mixtral"))
            w.show_arch(arch_of())
        w.show_arch(load_preset("2023-12-mixtral"))
        assert calls == []  # hidden: nothing recomputed per change
        dock.show()
        dock.raise_()
        qtbot.waitUntil(rv.isVisible)
        assert calls == [1]  # once, for the model on screen now
        assert not rv.empty.isVisibleTo(rv) and "Mixtral 8x7B" in rv.wait_note.text()
        w.show_arch(arch_of())  # visible again: follows at once
        assert rv.empty.isVisibleTo(rv) and rv.empty.text() == NO_MOE
    finally:
        w.inspect.shutdown()


def test_remembered_moe_counts_follow_an_edit(qtbot):
    """The routing view remembers moe_layers per architecture content: an edited expert count
    on the same milestone is not answered from the memo."""
    w = Win(load_preset("2023-12-mixtral"))
    qtbot.addWidget(w)
    try:
        rv = w.routing_view
        rv.follow_model()
        assert rv.moe == (4, 8, 2) and "2 of 8 experts" in rv.wait_note.text()
        w.show_arch(arch_of())
        rv.follow_model()
        assert rv.moe == (0, 0, 0)
        edited = load_preset("2023-12-mixtral")
        moe = next(nid for nid, n in edited.graph.nodes.items() if n.spec.has("moe"))
        w.show_arch(edited)
        w.doc.set_config(moe, "top_k", 3)
        rv.follow_model()
        assert rv.moe[2] == 3 and "3 of 8 experts" in rv.wait_note.text()
    finally:
        w.inspect.shutdown()
