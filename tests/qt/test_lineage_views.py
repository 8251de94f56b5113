"""Lineage on screen (issue 25, issue 22 H3): the card, presentation mode's card and the RoPE
node all tell a milestone's change against the model it builds on, headline first, and name
what it is compared with."""
from PySide6.QtCore import Qt


def _card(window, pid, qtbot):
    window.model.show_milestone(pid)
    window.info_panel.refresh()
    return window.info_panel.browser.toPlainText()


def test_presentation_card_leads_with_llama2s_gqa_and_names_llama1(window, qtbot):
    window.model.show_milestone("2023-07-llama-2")
    window.present_action.trigger()  # F5's action, as a lesson starts it
    try:
        text = window.graph_view.card.text()
        assert "Compared with LLaMA 1, the model it builds on" in text
        first = text.index("• ")
        assert text[first:].startswith("• Attention: 64 → 8 key/value heads: 64 query heads share 8 (GQA)")
        assert "GPT-4" not in text  # the tick before LLaMA 2 on the timeline is not what it built on
        with qtbot.waitSignal(window.info_panel.updated, timeout=2000):
            qtbot.keyClick(window.graph_view, Qt.Key_Right)  # stepping on: Mixtral, against LLaMA 2
        text = window.graph_view.card.text()
        assert "Compared with LLaMA 2, the model it builds on" in text and "• Feed-forward: SwiGLU → Mixture of experts" in text
    finally:
        qtbot.keyClick(window, Qt.Key_Escape)


def test_the_card_names_the_block_a_component_replaces_and_the_ideas_a_merge_brings(window, qtbot):
    text = _card(window, "2019-10-rmsnorm", qtbot)
    assert "What changed in GPT-2: it replaces LayerNorm (Ba et al. 2016) in every norm of GPT-2 XL" in text
    assert "Introduced on RNN translation models (RNNSearch), a Transformer on WMT14" in text
    text = _card(window, "2023-02-llama-1", qtbot)
    assert "What changed since GPT-3, bringing together RMSNorm, SwiGLU, RoPE, FlashAttention, Chinchilla" in text
    text = _card(window, "2022-03-instructgpt", qtbot)
    assert "What changed since GPT-3 (the model it builds on)" in text
    assert "▶ Training: Three post-training stages added" in text and "RoPE" not in text.split("Why it mattered")[0]
    assert text.count("Three post-training stages added") == 1  # the authors' words do not repeat the list's line


def test_the_rope_node_shows_kimi_k2s_theta_and_yarn(window, qtbot):
    window.model.show_milestone("2025-07-kimi-k2")
    scene = window.graph_view.graph_scene
    scene._end_animation()
    face = " ".join(scene.nodes["rope"].lines)
    assert "theta 50000" in face and "YaRN × 32" in face
    window.model.show_milestone("2026-04-kimi-k2.6")
    scene._end_animation()
    assert "YaRN × 64" in " ".join(scene.nodes["rope"].lines)


def test_the_rope_node_shows_llama31s_scaling(window, qtbot):
    window.model.show_milestone("2024-07-llama-3.1")
    scene = window.graph_view.graph_scene
    scene._end_animation()
    assert "Llama 3 × 8" in " ".join(scene.nodes["rope"].lines)


def test_the_lesson_summary_table_shows_what_each_model_changed(qtbot, tmp_path):
    from studio._qt.classroom.lesson_summary import SummaryDialog
    from studio.core.classroom.lesson import Lesson
    Lesson(tmp_path).write({"schema_version": 1, "kind": "lesson", "models": [
        {"id": "2023-07-llama-2", "run": "2023-07-llama-2", "status": "pending"}]})
    dlg = SummaryDialog(tmp_path)
    qtbot.addWidget(dlg)
    last = dlg.table.columnCount() - 1
    assert dlg.table.horizontalHeaderItem(last).text() == "what it changed (since the model it builds on)"
    cell = dlg.table.item(0, last)
    assert cell.text().startswith("Attention: 64 → 8 key/value heads") and cell.toolTip().startswith("since 2023-02-llama-1")


def test_the_scene_marks_llama2s_attention_against_llama1(window, qtbot):
    window.model.show_milestone("2023-07-llama-2")
    scene = window.graph_view.graph_scene
    scene._end_animation()
    assert scene.nodes["attention"].diff == "changed"
    marked = {nid for nid, it in scene.nodes.items() if it.diff}
    assert marked == {"attention", "attention_norm", "ffn_norm", "norm"}  # GQA, and RMSNorm ε 1e-6 → 1e-5


def test_compare_marks_and_lists_what_the_card_does(window, qtbot):
    window.model.show_milestone("2023-07-llama-2")
    dlg = window.open_compare()
    qtbot.waitExposed(dlg)
    try:
        left, right = (v.graph_scene for v in dlg.views)
        assert right.nodes["attention"].diff == "changed" and left.nodes["attention"].diff == "changed"
        lines = [dlg.diff_list.item(i).text() for i in range(dlg.diff_list.count())]
        assert lines[0] == "~ changed · " + window.info_panel.transition_text()[0]  # the same list, headline first
        assert "~ changed · Normalisation: ε 1e-06 → 1e-05 (added for numerical stability)" in lines
        assert any(t.startswith("▶ training · Training: 2T pretraining tokens") for t in lines)
    finally:
        dlg.close()
