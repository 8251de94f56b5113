"""Issue 17: the GUI never dies of a file at start-up: a damaged recovery file is set aside with a
note, and any error opening the model file given on the command line becomes a message."""
from __future__ import annotations

import os
from pathlib import Path


def test_start_up_survives_a_corrupt_recovery_and_a_failing_model(qapp, dialogs, monkeypatch):
    from PySide6.QtCore import QCoreApplication, QEvent

    from studio._qt.window import app as app_mod
    from studio._qt.window.main_window import MainWindow
    rec = Path(os.environ["ARCHSTUDIO_RECOVERY_DIR"])
    rec.mkdir(parents=True, exist_ok=True)
    bad = rec / "00000000000000ff.recovery.yaml"
    bad.write_text("schema_version: 1\nkind: project\nsaved_at: abc\nrecovery_of: 5\narchitecture: {}\n")

    def boom(self, spec):
        raise ValueError("not a StudioError")
    monkeypatch.setattr(MainWindow, "open_model", boom)
    win = app_mod.start_window("whatever.yaml")  # run_app() = this + app.exec()
    assert win.isVisible()
    assert ("warning", "Cannot open", "ValueError: not a StudioError") in dialogs
    assert not bad.exists() and bad.with_name(bad.name + ".corrupt").is_file()
    # only this test's window, deleted now: deleteLater() on every top-level of the process ran
    # inside the next test's event loop and crashed it (tests/qt/test_status_bar_line.py)
    win.close()
    win.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.DeferredDelete)
    qapp.processEvents()


def test_opening_a_project_whose_reader_fails_keeps_the_window(qtbot, dialogs, monkeypatch, tmp_path):
    from studio._qt.window import projects
    from studio._qt.window.main_window import MainWindow

    def broken(path):
        raise RuntimeError("reader bug")
    monkeypatch.setattr(projects, "load_project", broken)
    win = MainWindow()
    qtbot.addWidget(win)
    assert win.projects.open(tmp_path / "p.archproj") is False
    assert ("warning", "Cannot open project", "RuntimeError: reader bug") in dialogs
