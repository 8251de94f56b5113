"""Projects in the window: save → open byte-stable, bad files leave the work untouched, recent
files, save prompt, and recovery after a process killed mid-edit."""
import os
import signal
import subprocess
import sys
import textwrap

from tests.conftest import ROOT


def test_save_open_round_trip_is_byte_stable(window, tmp_path):
    w = window
    w.model.show_milestone("2023-07-llama-2")
    w.editor.set_config("attention", "n_kv_heads", 4)
    assert w.projects.dirty and w.isWindowModified()
    p = tmp_path / "mine.archproj.yaml"
    assert w.projects.save_to(p)
    assert not w.projects.dirty and not w.isWindowModified()
    first = p.read_bytes()
    w.projects.new()
    assert "n_kv_heads" not in w.model.document.graph.node("attention").config
    assert not w.model.document.opened  # New closes the edited copies
    assert w.projects.open(p)
    d = w.model.document
    assert d.graph.node("attention").config["n_kv_heads"] == 4 and d.kind == "project"
    assert d.origin == "2023-07-llama-2" and d.title == "LLaMA 2 (edited)" and w.model.timeline.index is None
    p2 = tmp_path / "again.archproj.yaml"
    assert w.projects.save_to(p2)
    assert p2.read_bytes() == first
    assert w.projects._recent()[:2] == [str(p2), str(p)]


def test_malformed_or_future_project_leaves_work_untouched(window, tmp_path, dialogs):
    w = window
    w.model.show_milestone("2023-07-llama-2")
    w.editor.set_config("attention", "n_kv_heads", 4)
    arch = w.model.document.architecture
    for name, text, msg in [("bad.yaml", "kind: project\narchitecture: {\n", "malformed YAML"),
                            ("future.yaml", "schema_version: 99\nkind: project\narchitecture: {}\n", "newer version")]:
        p = tmp_path / name
        p.write_text(text)
        assert not w.projects.open(p)
        assert dialogs[-1][0] == "warning" and msg in dialogs[-1][2]
        assert w.model.document.architecture is arch and arch.graph.node("attention").config["n_kv_heads"] == 4


def test_close_asks_only_with_unsaved_work(qtbot, dialogs):
    from studio._qt.window.main_window import MainWindow
    w = MainWindow()
    qtbot.addWidget(w)
    w.close()
    assert not [d for d in dialogs if d[0] == "question"]
    w2 = MainWindow()
    qtbot.addWidget(w2)
    w2.editor.add_block("rmsnorm")
    w2.close()
    assert [d for d in dialogs if d[0] == "question"]


CRASHER = textwrap.dedent("""
    import os, sys
    sys.path.insert(0, {root!r})
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    import studio._qt
    from PySide6.QtCore import QTimer, QStandardPaths
    QStandardPaths.setTestModeEnabled(True)
    from studio._qt.window.app import create_app
    app = create_app()
    from studio._qt.window.main_window import MainWindow
    w = MainWindow()
    w.model.show_milestone("2023-07-llama-2")
    w.editor.set_config("attention", "n_kv_heads", 2)
    w.editor.set_dim("classroom", "dim", 96)
    folder = os.environ["ARCHSTUDIO_RECOVERY_DIR"]
    def check():
        if os.path.isdir(folder) and os.listdir(folder):
            print("autosaved", flush=True)
            os.kill(os.getpid(), 9)  # a crash: no clean shutdown, no save prompt
    t = QTimer(); t.timeout.connect(check); t.start(20)
    app.exec()
""")


def test_crash_then_restart_offers_recovery_and_restores_edits(tmp_path, qtbot):
    rec = tmp_path / "recovery"
    env = dict(os.environ, ARCHSTUDIO_RECOVERY_DIR=str(rec), ARCHSTUDIO_AUTOSAVE_MS="200")
    r = subprocess.run([sys.executable, "-c", CRASHER.format(root=str(ROOT))], env=env, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == -signal.SIGKILL and "autosaved" in r.stdout, r.stderr[-2000:]
    assert list(rec.glob("*.recovery.yaml"))
    os.environ["ARCHSTUDIO_RECOVERY_DIR"] = str(rec)  # the conftest fixture restores it
    from studio._qt.window.main_window import MainWindow
    w = MainWindow()
    qtbot.addWidget(w)
    asked = []
    assert w.projects.offer_recovery(ask=lambda: asked.append(1) or True)
    arch = w.model.document.architecture
    assert asked and arch.graph.node("attention").config["n_kv_heads"] == 2
    assert arch.scales["classroom"]["dim"] == 96
    assert w.model.document.origin == "2023-07-llama-2" and w.projects.dirty
    assert not list(rec.glob("*.recovery.yaml"))  # taken; the next autosave writes a fresh one
