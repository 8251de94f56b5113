"""A click on Start returns to the event loop at once: torch (seconds to import on a loaded laptop)
is imported by the training job's worker, never by the GUI thread (issue 21's GUI stall: building
the TrainConfig at the click imported torch, 5.6-11 s of frozen window at load 8-9).

Run in a child process: the question is which thread imports torch first, so torch must not be
imported yet when the click happens."""
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

CHILD = textwrap.dedent("""
    import os, sys, threading, time
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    importer = []

    class WhoImportsTorch:  # a meta-path finder that only notes the thread asking for torch first
        def find_spec(self, name, path=None, target=None):
            if name == "torch" and not importer:
                importer.append(threading.current_thread() is threading.main_thread())
            return None
    sys.meta_path.insert(0, WhoImportsTorch())
    from PySide6.QtCore import QEventLoop
    from PySide6.QtWidgets import QApplication, QMainWindow
    app = QApplication([])
    from studio._qt.training import TrainingDocks
    from studio.core.files.presets import load_preset
    from studio.core.state import Document, RunState
    doc, run = Document("classroom"), RunState()
    run.follow(doc)
    doc.show_milestone("stories", load_preset("recipe-llama2c-stories260k"), "stories260K")
    w = QMainWindow()
    t = TrainingDocks(run, parent=w)
    p = t.panel
    p.tokenizer.setCurrentIndex(p.tokenizer.findData("byte"))
    p.steps.setValue(3)
    p.threads.setValue(1)
    assert "torch" not in sys.modules, "torch already imported before the click: nothing to test"
    p.start_btn.click()
    said = p.progress.format()
    end = time.monotonic() + 120
    while not importer and time.monotonic() < end:
        app.processEvents(QEventLoop.AllEvents, 20)
    t.session.stop()
    while t.session.running and time.monotonic() < end:
        app.processEvents(QEventLoop.AllEvents, 20)
    print("IMPORTED_ON_GUI_THREAD", importer, "PANEL", said)
""")


def test_the_click_leaves_importing_torch_to_the_worker(tmp_path):
    env = {"ARCHSTUDIO_CACHE_DIR": str(tmp_path / "cache"), "ARCHSTUDIO_RUNS_DIR": str(tmp_path / "runs"),
           "ARCHSTUDIO_NO_COMPILE": "1", "OMP_NUM_THREADS": "1", "QT_QPA_PLATFORM": "offscreen"}
    import os
    out = subprocess.run([sys.executable, "-c", CHILD], cwd=ROOT, env={**os.environ, **env},
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    line = next(ln for ln in out.stdout.splitlines() if ln.startswith("IMPORTED_ON_GUI_THREAD"))
    assert "[False]" in line, line  # the worker imported torch, the GUI thread went back to its events
    assert "PANEL preparing" in line  # and the panel said so meanwhile
