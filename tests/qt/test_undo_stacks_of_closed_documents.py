"""The undo history of a document lives as long as the document can be reopened: File → New
project closes the session's edited models, and their stacks (which hold every edited
architecture through their commands) go with them; a listed copy keeps its history."""
from PySide6.QtCore import QCoreApplication, QEvent, Qt
from PySide6.QtTest import QTest


def _flush():
    QCoreApplication.sendPostedEvents(None, QEvent.DeferredDelete)
    QCoreApplication.processEvents()


def test_new_project_drops_the_closed_documents_stacks(window, tmp_path):
    w = window
    for i in range(4):  # a class that edits, saves and starts afresh, again and again
        w.model.show_milestone("2023-07-llama-2")
        w.editor.set_config("attention", "n_kv_heads", 4 if i % 2 else 2)
        assert w.projects.save_to(tmp_path / f"p{i}.archproj.yaml")
        w.activateWindow()
        QTest.keySequence(w, "Ctrl+N")  # File → New project (nothing unsaved: no question)
        _flush()
        assert not w.model.document.opened
        assert len(w.editor.stacks) == 1 and len(w.editor.group.stacks()) == 1, (i, len(w.editor.stacks))
    assert w.editor.stack().arch is w.model.document.architecture


def test_a_listed_copy_keeps_its_history_while_it_can_be_reopened(window, qtbot):
    w = window
    w.model.show_milestone("2023-07-llama-2")
    w.editor.set_config("attention", "n_kv_heads", 4)
    key = w.model.document.key
    w.model.show_milestone("2017-06-transformer")  # scrub away: the edited copy stays listed
    _flush()
    assert key in w.model.document.opened
    w.model.document.reopen(key)
    assert w.model.document.graph.node("attention").config["n_kv_heads"] == 4
    w.graph_view.setFocus(Qt.OtherFocusReason)
    QTest.keySequence(w.graph_view, "Ctrl+Z")  # its own history, still there
    qtbot.waitUntil(lambda: "n_kv_heads" not in w.model.document.graph.node("attention").config
                    or w.model.document.graph.node("attention").config["n_kv_heads"] != 4)


def test_the_scene_keeps_block_faces_of_an_edited_documents_latest_version_only(window):
    w = window
    w.model.show_milestone("2023-07-llama-2")
    for kv in (1, 2, 4, 8):
        w.editor.set_config("attention", "n_kv_heads", kv)
        QCoreApplication.processEvents()
    scene = w.graph_view.graph_scene
    key = w.model.document.key
    assert {k[1] for k in scene._faces if k[0] == key} == {w.model.document.version}
