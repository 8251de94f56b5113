"""Issue 22 M11: the status bar's message stops short of the labels on its right (it ran under
"LLaMA 2 · paper scale"), measured in pixels; a training run on a user's file is announced by
the file's name, with no "not TinyStories" verdict the app cannot know."""
from PySide6.QtGui import QColor


def test_a_long_message_stops_before_the_right_labels(window, qtbot):
    bar = window.statusBar()
    window.show_status("Training on train-2316-stories.txt (2,316 stories) · 19 steps · a message long enough "
                       "to reach the labels on the right of a 1366-pixel window, and then some more words")
    qtbot.wait(50)
    labels = [w for w in (window.title_label, window.first_run.data_status_label) if w.isVisible()]
    first = min(w.x() for w in labels)
    img = bar.grab().toImage()
    background = QColor(img.pixel(first - 3, 1))
    inked = [x for x in range(first - 12, first) for y in range(2, bar.height() - 2)
             if QColor(img.pixel(x, y)) != background]
    assert not inked, f"message text drawn in the {12} px before the labels at x={first}"
    assert bar.shown_message().endswith("…") and bar.toolTip() == bar.currentMessage()
    assert bar.currentMessage().startswith("Training on train-2316")  # the whole message is kept


def test_training_on_a_file_names_it_without_a_verdict(window, tmp_path):
    path = tmp_path / "data" / "train-2316-stories.txt"
    window.training.session.prepared.emit({"run_dir": str(tmp_path / "run"), "label": f"{path} (2,316 stories)",
                                           "params": 1000, "steps": 10, "vocab": 256, "tokenizer": "byte",
                                           "is_tinystories": False})
    msg = window.statusBar().currentMessage()
    assert "train-2316-stories.txt (2,316 stories)" in msg
    assert str(tmp_path) not in msg and "not TinyStories" not in msg
