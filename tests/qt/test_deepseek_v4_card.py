"""DeepSeek-V4's card in the window says what the graph builds as real blocks and what is
illustrative, beside the published figures of the model cards."""


def test_v4_card_lists_modelled_and_illustrative_parts(window, qtbot):
    m = window.model
    m.timeline.set_index(m.timeline.ids.index("2026-04-deepseek-v4"))
    m.document.set_scale("paper")
    scene = window.graph_view.graph_scene
    qtbot.waitUntil(lambda: not scene.animating, timeout=5000)
    window.info_panel.refresh()
    text = window.info_panel.browser.toPlainText()
    modelled, rest = text.split("Modelled as real blocks:", 1)[1].split("Assumptions:", 1)
    assert "lightning indexer" in modelled and "Sinkhorn" in modelled and "Hash-routed" in modelled
    illustrative = rest.split("Illustrative or inferred:", 1)[1]
    assert "hash table" in illustrative and "0.0001" in illustrative
    assert "1.6 T" in text and "49 B" in text  # the card's published figures
    assert {"attention", "add_attn", "hc_expand", "attn_hc", "hc_head"} <= set(scene.nodes)
