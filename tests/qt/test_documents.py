"""The defects of issue 12, in napari's shape: build one StudioModel, build its view, change the
model, assert the view (the screen never shows a previous model's numbers or changes)."""
import pytest
from PySide6.QtCore import Qt

from studio.core.model.accounting import account, humanize
from studio.core.state import StudioModel

LLAMA = "2023-07-llama-2"


@pytest.fixture
def model():
    return StudioModel(start="2020-05-gpt-3")


def _panel_total(panel) -> str:
    return panel.cells[("params_total", "paper")].text().split(" <")[0]


def test_accounting_panel_mirrors_the_document_it_is_given(model, qtbot):
    from studio._qt.panels.accounting_panel import AccountingPanel
    panel = AccountingPanel(model)
    qtbot.addWidget(panel)
    gpt3 = humanize(account(model.document.architecture, "paper").params_total)
    assert _panel_total(panel) == gpt3
    arch = model.timeline.canonical(LLAMA).copy()
    arch.scales["paper"]["n_layers"] = 80
    model.open_architecture(arch, "project", "Deep LLaMA")
    want = humanize(account(arch, "paper").params_total)
    assert want != gpt3
    qtbot.waitUntil(lambda: _panel_total(panel) == want, timeout=2000)
    assert "layer ×80" in panel.regions.text()


def test_file_open_project_shows_the_projects_figures(window, qtbot, tmp_path):
    """File → Open of a project: graph, frame and accounting all show the project, not the model before."""
    from studio.core.files.project import Project, save_project
    w = window
    w.model.show_milestone("2019-02-gpt-2")
    qtbot.waitUntil(lambda: "layer ×48" in w.accounting_panel.regions.text(), timeout=2000)
    arch = w.model.timeline.canonical(LLAMA).copy()
    arch.scales["paper"]["n_layers"] = 80
    path = tmp_path / "deep.archproj.yaml"
    save_project(Project(arch, LLAMA, "Deep LLaMA"), path)
    assert w.projects.open(path)
    want = humanize(account(arch, "paper").params_total)
    qtbot.waitUntil(lambda: _panel_total(w.accounting_panel) == want, timeout=2000)
    assert "layer ×80" in w.accounting_panel.regions.text()
    assert w.graph_view.graph_scene.frames["layer"].label == "× 80 layers"
    assert w.model.timeline.index is None and w.accounting_panel.chart.marker_index() == -1
    assert "Deep LLaMA" in w.windowTitle()


def test_home_shows_the_transformer_with_no_change(window, qtbot):
    w = window
    w.model.show_milestone("2025-07-kimi-k2")
    w.graph_view.setFocus()
    with qtbot.waitSignal(w.info_panel.updated, timeout=2000):
        qtbot.keyClick(w.graph_view, Qt.Key_Home)
    assert w.model.timeline.index == 0
    assert w.info_panel.transition_text() == []  # the root of the timeline: nothing before it
    text = w.info_panel.browser.toPlainText()
    assert "Replaced" not in text and "What changed since" not in text
    scene = w.graph_view.graph_scene
    assert not any(scene.last_diff.values()) and not [it for it in scene.nodes.values() if it.diff]


def test_kimi_k2_card_compares_with_the_model_it_builds_on_in_words(model, qtbot):
    from studio._qt.panels.info_panel import InfoPanel
    panel = InfoPanel(model)
    qtbot.addWidget(panel)
    model.timeline.first()  # whatever was on screen before must not matter
    with qtbot.waitSignal(panel.updated, timeout=2000):
        model.show_milestone("2025-07-kimi-k2")
    words = panel.transition_text()
    assert words and model.figures.change().since == "2024-12-deepseek-v3"  # its lineage, not R1 (the tick before)
    assert not [s for s in words if "route_scale" in s or "Rewired" in s or "feed_forward" in s]
    text = panel.browser.toPlainText()
    assert "What changed since DeepSeek-V3 (the model it builds on)" in text
    assert "In the authors' words" in text  # the preset's notes are about this same step: shown


def test_an_imported_run_is_on_screen_and_no_milestone_is_selected(window, qtbot, tmp_path):
    w = window
    w.model.show_milestone("2024-12-deepseek-v3")
    arch = w.model.timeline.canonical("recipe-llama2c-stories260k").copy()
    arch.meta["title"] = "stories260K"
    w.llama2c.imported(tmp_path / "run-260k", arch)  # what File → Import → llama2.c model… does at the end
    m = w.model
    assert m.document.kind == "imported" and m.timeline.index is None
    assert m.run.run_dir == tmp_path / "run-260k" and m.run.source == "imported"
    assert w.accounting_panel.chart.marker_index() == -1 and "stories260K" in w.windowTitle()
    assert set(w.graph_view.graph_scene.nodes) == set(arch.graph.nodes)
    listed = [a.text() for a in w.projects.documents_menu.actions()]
    assert listed == ["stories260K"]  # reopenable after scrubbing away


def test_timeline_strip_highlights_no_tick_off_the_timeline(model, qtbot):
    from studio._qt.panels.timeline import TimelineStrip
    strip = TimelineStrip(model)
    qtbot.addWidget(strip)
    strip.resize(1200, strip.height())
    model.show_milestone(LLAMA)
    model.document.set_config("attention", "n_kv_heads", 4)  # an edit forks LLaMA 2
    assert model.timeline.index is None and strip.is_edited(LLAMA)
    assert "an edited copy is open" in strip.card_html(model.timeline.ids.index(LLAMA))
    strip.grab()  # paints with no selected tick
    strip._select(model.timeline.ids.index(LLAMA))  # a click on LLaMA 2: the published one
    assert model.document.kind == "milestone" and model.timeline.current_id == LLAMA


def test_an_edited_copy_drops_the_milestones_marks(model, qtbot):
    from studio._qt.graph.graph_view import GraphView
    view = GraphView(model)
    qtbot.addWidget(view)
    scene = view.graph_scene
    model.show_milestone(LLAMA)
    assert any(it.diff for it in scene.nodes.values())  # LLaMA 2 against its predecessor
    model.document.set_config("attention", "n_kv_heads", 4)
    assert not any(it.diff for it in scene.nodes.values()) and not any(scene.last_diff.values())
    assert "kv heads 4" in " ".join(scene.nodes["attention"].lines)


def test_compare_mode_puts_the_edited_copy_against_its_milestone(window, qtbot):
    w = window
    w.model.show_milestone(LLAMA)
    w.editor.set_config("attention", "n_kv_heads", 4)
    dlg = w.open_compare()
    qtbot.waitExposed(dlg)
    assert dlg.boxes[0].currentData() == LLAMA and dlg.boxes[1].currentText() == "On screen: LLaMA 2 (edited)"
    lines = [dlg.diff_list.item(i).text() for i in range(dlg.diff_list.count())]
    assert "~ changed · Attention: 64 query heads share 4 key/value heads (GQA)" in lines  # words, not keys
    assert dlg.views[1].graph_scene.nodes["attention"].diff == "changed"
    dlg.close()
