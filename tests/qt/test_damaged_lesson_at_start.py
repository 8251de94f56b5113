"""A damaged lesson.yaml in the remembered lesson folder: the window starts with every panel
(training, plots, generate, attention), the damaged entries are skipped, a good prepared run in
the same file is still offered."""
import pytest

from studio.core.runs.rundir import RunDir

DAMAGED = ["- {id: x, status: pretrained, serves: 5}\n", "- {status: pretrained, serves: 5}\n", "- {id: recipe-microgpt, status: [done]}\n",
           "- {id: {a: 1}, status: done}\n", "- {id: x, status: pretrained, serves: [recipe-microgpt], run: /etc}\n",
           "- 7\n", "- {id: recipe-microgpt, status: done, run: '" + "x" * 1000 + "'}\n"]


@pytest.fixture
def lesson(tmp_path, monkeypatch):
    folder = tmp_path / "lesson"
    folder.mkdir()
    monkeypatch.setenv("ARCHSTUDIO_LESSON_DIR", str(folder))
    return folder


@pytest.mark.parametrize("entry", DAMAGED + ["top: data: x"])
def test_the_panels_start_with_a_damaged_remembered_lesson(qtbot, lesson, entry):
    from studio._qt.window.main_window import MainWindow
    top = "data: x\n" if entry == "top: data: x" else ""
    body = "- {id: recipe-microgpt, status: done}\n" if top else entry
    (lesson / "lesson.yaml").write_text(f"schema_version: 1\nkind: lesson\n{top}models:\n{body}")
    said = []
    win = MainWindow()
    qtbot.addWidget(win)
    assert "lesson.yaml" in win.statusBar().currentMessage()  # the damaged entry is named at start
    win.show_status = lambda msg, *a: said.append(msg)
    assert win.training is not None and win.inspect is not None and win.lesson is not None
    win.model.show_milestone("recipe-microgpt")
    assert win.model.run.run_dir is None and "fresh random weights" in win.model.run.label()
    assert not [m for m in said if "could not start" in m]


def test_a_good_entry_beside_a_damaged_one_is_still_offered(qtbot, lesson):
    from studio._qt.window.main_window import MainWindow
    (lesson / "recipe-microgpt").mkdir()
    RunDir(lesson / "recipe-microgpt").write_config({"model": "recipe-microgpt", "architecture": {}, "tokenizer": {"kind": "byte"}})
    (lesson / "lesson.yaml").write_text("schema_version: 1\nkind: lesson\nmodels:\n" + DAMAGED[0]
                                        + "- {id: recipe-microgpt, status: done}\n")
    win = MainWindow()
    qtbot.addWidget(win)
    win.model.show_milestone("recipe-microgpt")
    assert win.model.run.run_dir == lesson / "recipe-microgpt" and win.model.run.source == "prepared"
    assert win.lesson.folder == lesson
