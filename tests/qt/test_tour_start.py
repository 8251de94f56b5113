"""Issue 22 M5 and L14: the start-up tour waits for "Recover unsaved work?" (it opened on top of
it and took its first click), and once closed it does not come back at the next start unless
"Show this tour at every start" is ticked."""
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMessageBox


def _tours():
    from studio._qt.dialogs.first_run import TourDialog
    return [w for w in QApplication.topLevelWidgets() if isinstance(w, TourDialog) and w.isVisible()]


def test_tour_waits_for_the_recovery_question(window, qtbot):
    ask = QMessageBox(QMessageBox.Question, "Recover unsaved work?", "Recover the autosaved copy?",
                      QMessageBox.Yes | QMessageBox.No, window)
    ask.setWindowModality(Qt.ApplicationModal)
    ask.open()
    qtbot.waitExposed(ask)
    window.first_run.welcome(show_tour=True)
    qtbot.wait(900)
    assert not _tours(), "the tour opened over the recovery question"
    assert QApplication.activeModalWidget() is ask
    qtbot.mouseClick(ask.button(QMessageBox.No), Qt.LeftButton)  # the click reaches the question
    assert ask.result() == QMessageBox.No
    qtbot.waitUntil(lambda: bool(_tours()), timeout=3000)
    _tours()[0].reject()


def test_a_closed_tour_does_not_return_at_the_next_start(window, qtbot):
    from studio._qt.dialogs.first_run import first_start
    assert first_start(window.model, window.settings)  # a first start
    window.first_run.welcome(show_tour=True)
    qtbot.waitUntil(lambda: bool(_tours()), timeout=3000)
    tour = _tours()[0]
    qtbot.keyClick(tour, Qt.Key_Escape)  # closed without ticking anything
    qtbot.waitUntil(lambda: not _tours(), timeout=3000)
    assert not first_start(window.model, window.settings)  # the next start opens no tour
    from studio._qt.dialogs.first_run import show_tour_dialog
    again = show_tour_dialog(window)  # Help → Tour… still opens it; ticked, it returns each start
    qtbot.waitExposed(again)
    qtbot.mouseClick(again.every_start, Qt.LeftButton)
    assert again.every_start.isChecked()
    qtbot.keyClick(again, Qt.Key_Escape)
    assert first_start(window.model, window.settings)
