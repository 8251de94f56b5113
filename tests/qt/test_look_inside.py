"""Issue 13's inspection defects, napari-shaped: build the model, build the view, change the model, assert the view.

Look inside moves attention + routing into a window of their own; the Routing dock decides from the
architecture whether the model routes at all (Mixtral never "has no MoE layer"); a restored
Attention dock explains itself instead of showing empty axes; the routing history has a colour bar
and row-centred ticks; the dock views fit the dock's height instead of growing past it.
"""
import pytest
import torch

from studio._qt.inspect.look_inside import SHORTCUT
from studio._qt.inspect.routing_view import NO_MOE, moe_layers
from studio.core.files.presets import load_preset
from studio.core.model.compiler import compile_architecture
from tests.core.test_inspection import arch_of, moe_mla_arch
from tests.core.test_routing_history import step_from_model
from tests.qt.inspect_window import WAIT, Win


@pytest.fixture(autouse=True)
def _one_torch_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture
def win(qtbot):
    w = Win(arch_of())
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.inspect.shutdown()


def inspect_now(qtbot, w):
    ctl = w.inspect_controller
    with qtbot.waitSignal(ctl.inspected, timeout=WAIT) as blocker:
        w.inspect.inspect_on_screen()
    qtbot.waitUntil(lambda: not ctl.busy(), timeout=WAIT)
    return blocker.args[0]


def test_moe_is_decided_from_the_architecture():
    assert moe_layers(load_preset("2023-12-mixtral")) == (4, 8, 2)
    assert moe_layers(load_preset("2020-06-gshard"))[0] == 4  # every other layer, swapped in by overrides
    assert moe_layers(load_preset("2023-07-llama-2")) == (0, 0, 0)
    assert moe_layers(None) == (0, 0, 0)
    broken = load_preset("2023-12-mixtral")
    broken.scales["classroom"]["n_experts"] = "not a number"  # settings that do not resolve: the traits still tell
    assert moe_layers(broken)[0] >= 1


def test_routing_dock_on_mixtral_never_says_no_moe(qtbot, win):
    rv = win.routing_view
    said = []
    win.show_arch(load_preset("2023-12-mixtral"))  # before any run data or inspection
    said.append(rv.empty.isVisibleTo(rv))
    assert not rv.empty.isVisibleTo(rv) and rv.tabs.isVisibleTo(rv)
    assert rv.prompt_pages.currentWidget() is rv.wait_page
    assert "Mixtral 8x7B" in rv.wait_note.text() and "4 mixture-of-experts layers" in rv.wait_note.text()
    assert "2 of 8 experts" in rv.wait_note.text()
    rv.empty.setText("")  # whatever arrives now must not write the dense sentence
    ins = inspect_now(qtbot, win)
    said.append(rv.empty.isVisibleTo(rv))
    assert ins.routing and rv.prompt_pages.currentWidget() is rv.prompt_maps
    assert rv.map.item.image.shape[0] == 8  # every expert is a row of the map
    assert not any(said) and NO_MOE not in rv.empty.text()
    # a dense model says so; back to the MoE model: no stale map of the dense one
    win.show_arch(arch_of())
    qtbot.waitUntil(lambda: not win.inspect_controller.busy(), timeout=WAIT)
    assert rv.empty.isVisibleTo(rv) and rv.empty.text() == NO_MOE
    assert not rv.layer_row.isVisibleTo(rv) and rv.summary.text() == "" and rv.layer_box.count() == 0


def test_restored_attention_dock_explains_instead_of_empty_axes(qtbot, win):
    view = win.attention_inspector
    win.docks["Attention"].show()
    assert not view.showing_maps and view.empty_page.isVisibleTo(view)
    assert not view.big.isVisibleTo(view)  # no plot with default axes
    assert "Nothing inspected yet" in view.empty_note.text()
    ctl = win.inspect_controller
    with qtbot.waitSignal(ctl.inspected, timeout=WAIT):
        view.inspect_requested.emit()  # the page's button
    qtbot.waitUntil(lambda: view.showing_maps and not ctl.busy(), timeout=WAIT)
    assert view.big.isVisibleTo(view) and view.big.item.image.shape[:2] == (len(view.ins.tokens),) * 2


def test_prompt_button_before_any_inspection_inspects_the_model_on_screen(qtbot, win):
    view = win.attention_inspector
    view.prompt.setText("Tom had a red ball.")
    with qtbot.waitSignal(win.inspect_controller.inspected, timeout=WAIT) as blocker:
        view._run()
    qtbot.waitUntil(lambda: not win.inspect_controller.busy(), timeout=WAIT)
    assert "".join(blocker.args[0].tokens[1:4]) == "Tom"


def test_look_inside_takes_the_window_and_gives_the_views_back(qtbot, win):
    look = win.inspect.look_inside
    assert look.action.shortcut().toString() == SHORTCUT
    assert look.action in win.menus["Inspect"].actions() and look.action in win.actions()  # works with menus closed
    inspect_now(qtbot, win)
    attention, routing = win.attention_inspector, win.routing_view
    look.action.trigger()
    lw = look.window
    assert lw is not None and lw.isVisible() and look.action.isChecked()
    assert attention.window() is lw and routing.window() is lw
    assert lw.geometry() == win.geometry()  # one screen: it covers the main window
    placeholder = win.docks["Attention"].widget().widget()  # the dock says where its view went
    assert placeholder is not attention
    assert any("Look inside" in lab.text() for lab in placeholder.findChildren(type(attention.readout)))
    # a block click while it is open brings the window forward, not the emptied dock
    with qtbot.assertNotEmitted(win.inspect.reveal):
        win.graph_view.block_activated.emit("attention")
    lw.show_view("Attention")
    assert attention.isVisibleTo(lw) and not routing.isVisibleTo(lw)
    lw.show_view("Both")
    assert routing.isVisibleTo(lw)
    lw.back_btn.click()
    qtbot.waitUntil(lambda: look.window is None)
    assert win.docks["Attention"].widget().widget() is attention
    assert win.docks["Routing"].widget().widget() is routing
    assert attention.window() is win and not look.action.isChecked()
    assert attention.showing_maps and attention.ins is not None  # nothing was rebuilt on the way


def test_escape_closes_look_inside(qtbot, win):
    from PySide6.QtCore import Qt
    look = win.inspect.look_inside
    lw = look.open()
    qtbot.keyClick(lw, Qt.Key_Escape)
    qtbot.waitUntil(lambda: look.window is None)
    assert win.docks["Routing"].widget().widget() is win.routing_view


def test_dock_views_fit_the_dock_height(qtbot, win):
    """A word-wrapped summary made the routing view as tall as its preferred size (experts E0-E1 visible)."""
    win.show_arch(load_preset("2023-12-mixtral"))
    inspect_now(qtbot, win)
    dock = win.docks["Routing"]
    dock.show()
    dock.raise_()
    win.resizeDocks([dock], [330], Qt_vertical())
    area = dock.widget()
    qtbot.waitUntil(lambda: area.viewport().height() > 0)
    rv = win.routing_view
    assert rv.summary.text() and rv.hasHeightForWidth()
    assert rv.height() <= max(area.viewport().height(), rv.minimumSizeHint().height())


def Qt_vertical():
    from PySide6.QtCore import Qt
    return Qt.Vertical


def test_routing_history_has_a_colour_bar_and_row_centred_ticks(qtbot, win):
    arch = moe_mla_arch()
    win.show_arch(arch, key="moe-mla")
    win.run.start_live(win.doc.key)
    torch.manual_seed(0)
    model = compile_architecture(arch)
    x = torch.randint(3, 259, (2, 16))
    for step in range(1, 4):
        model(x[:, :-1], x[:, 1:])
        win.run.record_step(step_from_model(step, model), win.doc.key)
    rv = win.routing_view
    rv.refresh_history()
    load = win.run.routing_history.snapshot().load[0]
    tr = rv.training
    assert tr.load_cbar.vmax == pytest.approx(float(load.max()))
    labels = tr.load_cbar.getAxis("right")._tickLevels[0]
    assert labels[-1][1].endswith("%")
    ticks = tr.load_plot.getAxis("left")._tickLevels[0]
    assert ticks and all(pos % 1 == 0.5 for pos, _ in ticks) and ticks[0][1] == "E0"


def test_views_follow_a_theme_change(qtbot, win):
    """View → Theme changes the application palette: the plots' backgrounds, axes and labels follow."""
    from PySide6.QtWidgets import QApplication

    from studio._qt.theme import THEMES, apply_theme
    from studio._qt.training.plots import PlotsPanel
    from studio._qt.training.session import TrainingSession
    win.show_arch(load_preset("2023-12-mixtral"))
    inspect_now(qtbot, win)
    session = TrainingSession(win.run)
    plots = PlotsPanel(session, THEMES["light"], run_state=win.run)
    session.setParent(plots)
    qtbot.addWidget(plots)
    view, rv = win.attention_inspector, win.routing_view
    light_mask = view.big.item.image[0, -1].tolist()  # a masked (future) cell
    app = QApplication.instance()
    old_palette, old_style = app.palette(), app.style().name()
    try:
        apply_theme(app, THEMES["dark"])
        dark = THEMES["dark"].base.lower()
        for plot in (view.big, view.cbar, rv.map, rv.hist, rv.training.load_plot):
            qtbot.waitUntil(lambda plot=plot: plot.backgroundBrush().color().name() == dark)
        assert plots.canvas.backgroundBrush().color().name() == dark
        assert view.big.getAxis("left").textPen().color().name() == THEMES["dark"].text.lower()
        assert view.big.item.image[0, -1].tolist() != light_mask  # masked cells in the dark theme's grey
        assert view.showing_maps and len(view._cells) == len(view.ins.attention)  # the grid was built again
    finally:  # the application's palette is shared with every later test
        app.setStyle(old_style)
        app.setPalette(old_palette)
    base = old_palette.color(old_palette.ColorRole.Base).name()
    qtbot.waitUntil(lambda: view.big.backgroundBrush().color().name() == base)


def test_show_routing_while_look_inside_shows_attention_only(qtbot, win):
    look = win.inspect.look_inside
    lw = look.open()
    lw.show_view("Attention")
    assert not win.routing_view.isVisibleTo(lw)
    win.inspect.show_view("Routing")  # Inspect → Show routing
    assert win.routing_view.isVisibleTo(lw) and lw.view_buttons.checkedId() == 0


def test_closing_the_main_window_closes_look_inside(qtbot, win):
    look = win.inspect.look_inside
    look.open()
    win.close()
    qtbot.waitUntil(lambda: look.window is None)
    assert win.docks["Attention"].widget().widget() is win.attention_inspector
