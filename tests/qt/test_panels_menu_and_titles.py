"""Issue 22 L5 and L9: View → Panels → X brings X to the front of its tab group (it was added
behind the current tab), and no dialog or tip shows the CLI's placeholder "RUN_DIR"."""
from PySide6.QtWidgets import QFileDialog


def _action(menu, text):
    return next(a for a in menu.actions() if a.text().replace("&", "") == text)


def test_view_panels_raises_the_panel(window, qtbot):
    plots, training = window._docks["Plots"], window._docks["Training"]
    training.show()
    training.raise_()
    plots.close()
    qtbot.wait(50)
    _action(window._panels, "Plots").trigger()  # what a click on View → Panels → Plots does
    qtbot.waitUntil(lambda: not plots.visibleRegion().isEmpty(), timeout=2000)
    assert plots.isVisible() and training.visibleRegion().isEmpty()  # Plots is the tab in front


def test_no_run_dir_placeholder_in_dialog_titles_or_tips(window, monkeypatch):
    titles = []
    monkeypatch.setattr(QFileDialog, "getExistingDirectory",
                        staticmethod(lambda parent, title, *a, **k: titles.append(title) or ""))
    _action(window.menu("Train"), "Overlay an earlier run…").trigger()
    _action(window.menu("Inspect"), "Open run or checkpoint…").trigger()
    assert len(titles) == 2 and not [t for t in titles if "RUN_DIR" in t], titles
    tips = [a.toolTip() + a.statusTip() for m in ("File", "Train", "Inspect") for a in window.menu(m).actions()]
    assert not [t for t in tips if "RUN_DIR" in t]
