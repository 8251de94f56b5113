"""First run: good start milestone, tour, Offline pack menu, data status line."""
import pytest

from studio._qt.dialogs.first_run import PAGES, TourDialog, data_status_text


@pytest.fixture
def window(qtbot, monkeypatch, tmp_path):
    monkeypatch.setenv("ARCHSTUDIO_CACHE_DIR", str(tmp_path / "cache"))
    from studio._qt.window.main_window import MainWindow
    from studio.core.state import StudioModel
    w = MainWindow(StudioModel(start=0))
    qtbot.addWidget(w)
    return w


def test_first_run_starts_at_llama2_and_says_which_data(window):
    assert window.model.timeline.current_id == "2023-07-llama-2"
    text = window.first_run.data_status_label.text()
    assert "starter corpus" in text and "Offline pack" in text
    labels = [a.text().replace("&", "") for a in window.menu("Help").actions()]
    assert "Offline pack…" in labels and "Tour…" in labels


def test_second_run_keeps_the_chosen_milestone(qtbot, monkeypatch, tmp_path):
    from PySide6.QtCore import QSettings
    QSettings().setValue("tour_done", True)
    from studio._qt.window.main_window import MainWindow
    from studio.core.state import StudioModel
    w = MainWindow(StudioModel(start=0))
    qtbot.addWidget(w)
    assert w.model.timeline.current_id == w.model.timeline.ids[0]


def test_data_status_names_cached_tinystories(monkeypatch, tmp_path):
    monkeypatch.setenv("ARCHSTUDIO_CACHE_DIR", str(tmp_path))
    (tmp_path / "tinystories").mkdir()
    from studio.core.data import download as dl
    (tmp_path / "tinystories" / dl.SUBSETS["quick"].filename).write_text("Once upon a time.\n")
    assert "TinyStories quick" in data_status_text()


def test_tour_pages_navigate(qtbot):
    d = TourDialog()
    qtbot.addWidget(d)
    assert d.title.text() == PAGES[0][0] and not d.back.isEnabled()
    for i in range(1, len(PAGES)):
        d.next.click()
        assert d.title.text() == PAGES[i][0]
    assert d.next.text() == "Start"
    d.next.click()
    assert d.result() == TourDialog.Accepted


def test_the_tour_opens_without_blocking_and_remembers_every_start(window, qtbot):
    from studio._qt.dialogs.first_run import show_tour_dialog
    dlg = show_tour_dialog(window)  # returns at once: no nested event loop holds the start-up
    qtbot.waitExposed(dlg)
    assert dlg.isVisible() and dlg.isModal()
    dlg.every_start.setChecked(True)
    dlg.accept()
    assert not window.settings.value("tour_done", False, type=bool)
    assert window.settings.value("tour_every_start", False, type=bool)
