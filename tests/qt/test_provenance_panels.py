"""Issue 16 in the window: every figure the accounting panel and the graph's badges show carries
its provenance (and its source where one states it); stand-ins show structure and no figure."""
from studio.core.model import provenance as P
from studio.core.files.presets import load_preset

WORDS = tuple(P.glyph_word(p) for p in P.PROVENANCES)


def _show(window, qtbot, pid, scale):
    m = window.model
    m.timeline.set_index(m.timeline.ids.index(pid))
    m.document.set_scale(scale)
    scene = window.graph_view.graph_scene
    qtbot.waitUntil(lambda: not scene.animating, timeout=5000)
    scene.refresh_all()
    window.accounting_panel.refresh()
    return scene


def test_every_shown_figure_has_its_provenance_and_stand_ins_show_none(window, qtbot):
    panel = window.accounting_panel
    for pid in window.model.timeline.ids:
        arch = load_preset(pid)
        scene = _show(window, qtbot, pid, "paper")
        stand_in = P.hides_figures(arch, "paper")
        for (key, scale), cell in panel.cells.items():
            if not cell.isVisibleTo(panel):
                continue
            fig = P.figures(arch, scale).get(key)
            if fig is None or fig.value is None:
                assert "undisclosed" in cell.text() or cell.text() == "—", (pid, key, scale, cell.text())
                continue
            tip = cell.toolTip()
            assert P.glyph_word(fig.provenance) in tip, (pid, key, scale, tip)
            if fig.provenance in P.SOURCED:
                assert fig.source in tip, (pid, key, scale)
        assert stand_in == (panel.cells[("params_total", "paper")].text().endswith("undisclosed")), pid
        for nid, item in scene.nodes.items():
            if stand_in:
                assert item.badge == "" and item.lines == [] and not item.variant_badge, (pid, nid)
            elif item.badge:
                assert any(w in item.badge_tip for w in WORDS), (pid, nid, item.badge_tip)
        labels = [f.label for f in scene.frames.values()]
        assert labels and all(("illustrative" in x) == stand_in for x in labels), (pid, labels)


def test_stand_in_card_says_illustrative_and_published_rows_carry_their_provenance(window, qtbot):
    for pid, word in (("2024-09-o1", "Illustrative stand-in"), ("2019-10-rmsnorm", "n/a"),
                      ("2023-03-gpt-4", "reported")):
        _show(window, qtbot, pid, "paper")
        window.info_panel.refresh()
        text = window.info_panel.browser.toPlainText()
        assert word in text, (pid, text[:400])
        assert "Configuration:" in text and ("Built on:" in text)
    scene = _show(window, qtbot, "2022-11-chatgpt", "classroom")  # the classroom stand-in is real
    assert any(item.badge for item in scene.nodes.values())
