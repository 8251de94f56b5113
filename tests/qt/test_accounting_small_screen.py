"""Issue 22 M9 and L1: the Accounting panel at 1366×768 — nothing clipped on the right (the
chart's key line widened the panel past its dock: "layer ×80: 68.45 B (99.2", "current (paper
scale, lo"), the log chart does not fall from the 2026 milestones to the recipes, and hovering a
block names it as the graph does ("Token embedding", not "tok_embeddings")."""
import math

from PySide6.QtWidgets import QLabel, QScrollArea


def test_nothing_clipped_at_1366(window):
    window.model.timeline.set_current("2023-07-llama-2")
    window.graph_view.graph_scene._end_animation()
    panel = window.accounting_panel
    area = panel.findChild(QScrollArea)
    assert window.width() == 1366 and area.viewport().width() < 460  # the right dock of a 1366-px window
    body = area.widget()
    assert body.minimumSizeHint().width() <= area.viewport().width()
    clipped = []
    for lab in body.findChildren(QLabel):
        if not lab.isVisible():
            continue
        right = lab.mapTo(area.viewport(), lab.rect().topRight()).x()
        too_narrow = not lab.wordWrap() and lab.sizeHint().width() > lab.width()
        if right > area.viewport().width() or too_narrow:
            clipped.append(f"{lab.text()[:50]!r}: right {right}, width {lab.width()}, needs {lab.sizeHint().width()}")
    assert not clipped, "\n".join(clipped)


def test_the_chart_breaks_between_milestones_and_recipes(window):
    chart = window.accounting_panel.chart
    assert chart.loaded
    tl = window.model.timeline
    last_milestone = len(tl.milestone_ids) - 1
    for curve in (chart.params_curve, chart.kv_curve):
        xs, ys = curve.getData()
        between = [y for x, y in zip(xs, ys) if last_milestone < x < last_milestone + 1]
        assert between and all(math.isnan(y) for y in between)


def test_hovering_a_block_names_it_by_its_title(window, qtbot):
    window.model.timeline.set_current("2023-07-llama-2")
    view = window.graph_view
    view.graph_scene._end_animation()
    window.fit()
    item = view.graph_scene.nodes["tok_embeddings"]
    qtbot.mouseMove(view.viewport(), view.mapFromScene(item.sceneBoundingRect().center()))
    qtbot.waitUntil(lambda: window.accounting_panel.hovered == "tok_embeddings", timeout=2000)
    text = window.accounting_panel.block.text()
    assert "Token embedding" in text and "tok_embeddings" not in text
