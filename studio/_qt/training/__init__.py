"""Training in the app: the Training, Plots and Generate panels and the Train menu's actions.

    training = TrainingDocks(model.run, parent=window, theme=theme, show_status=window.show_status)
    for title, widget in training.docks.items():
        window.add_dock(title, widget)
    training.fill_menu(window.menu("Train"))
    training.run_prepared.connect(...)       # e.g. the project records its latest run

``run`` is the app's :class:`~studio.core.state.run.RunState` (it follows the document on screen):
a run starts for that document and is recorded there. Closing ``parent`` (or quitting) stops
training after the trainer saved a checkpoint, and waits for every worker thread.
"""
from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Signal
from PySide6.QtGui import QAction, QKeySequence


class TrainingDocks(QObject):
    run_prepared = Signal(object)  # a run just got its folder: {"run_dir", …, "training": settings a project keeps}
    reveal = Signal(str)           # a dock title the user should see now ("Training", "Plots")

    def __init__(self, run_state, parent=None, theme=None, show_status=None):
        super().__init__(parent)
        from studio._qt.training.generate_panel import GeneratePanel
        from studio._qt.training.panel import TrainingPanel
        from studio._qt.training.plots import PlotsPanel
        from studio._qt.training.session import TrainingSession
        self.run_state = run_state
        self.show_status = show_status or (lambda msg, timeout_ms=8000: None)
        self.session = TrainingSession(run_state, self)
        self.panel = TrainingPanel(self.session, run_state)
        self.plots = PlotsPanel(self.session, theme, run_state=run_state)
        self.generate = GeneratePanel(run_state, self.session)
        self.docks = {"Training": self.panel, "Plots": self.plots, "Generate": self.generate}
        self.session.prepared.connect(self._prepared)
        self.session.prepared.connect(self._announce)
        self.session.failed.connect(lambda msg: self.show_status(msg, 15000))
        self.actions = self._make_actions(parent)
        if parent is not None:
            parent.installEventFilter(self)  # the window's Close stops the run before widgets go
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)

    # ------------------------------------------------------------------ actions
    def _make_actions(self, parent) -> dict:
        s = self.session
        start_stop = QAction("Start training", parent)
        start_stop.setShortcut(QKeySequence("F6"))
        start_stop.setToolTip("Train the current model's classroom scale; F6 again stops and saves a checkpoint")
        start_stop.triggered.connect(self.toggle)
        pause = QAction("Pause / resume", parent)
        pause.setShortcut(QKeySequence("Shift+F6"))
        pause.triggered.connect(lambda: s.pause(s.state == "running"))
        download = QAction("Download TinyStories (quick, ≈19 MB)…", parent)
        download.triggered.connect(lambda: self.panel.download("quick"))
        overlay = QAction("Overlay an earlier run…", parent)
        overlay.triggered.connect(lambda: (self.reveal.emit("Plots"), self.plots.choose_overlay()))
        more = QAction("Train more minutes", parent)  # text, state and reason follow the panel's button
        more.triggered.connect(lambda: (self.reveal.emit("Training"), self.panel.continue_run()))
        self.panel.more.mirror(more)

        def on_state(state):
            start_stop.setText("Stop training" if state in ("preparing", "running", "paused") else "Start training")
            pause.setEnabled(state in ("running", "paused"))
        s.state_changed.connect(on_state)
        on_state(s.state)
        return {"start_stop": start_stop, "pause": pause, "more": more, "download": download, "overlay": overlay}

    def fill_menu(self, menu) -> None:
        """Put the actions in ``menu`` (and on the window, so shortcuts work with the menu closed)."""
        for a in self.actions.values():
            menu.addAction(a)
            if self.parent() is not None:
                self.parent().addAction(a)

    def toggle(self) -> None:
        if self.session.running:
            self.session.stop()
        else:
            self.reveal.emit("Training")
            self.panel.start()

    def _prepared(self, info: dict) -> None:
        keep = {k: info[k] for k in ("steps", "vocab", "tokenizer", "label") if k in info}
        self.run_prepared.emit({**info, "training": keep})

    def _announce(self, info: dict) -> None:
        self.show_status(announce_text(info), 15000)

    # ------------------------------------------------------------------ closing
    def eventFilter(self, obj, event):
        if obj is self.parent() and event.type() == QEvent.Close:
            self.shutdown()
        return False

    def shutdown(self) -> None:
        """Stop training (checkpoint saved), generation and a download, and wait for their threads."""
        self.generate.shutdown()
        if self.session.running:
            self.show_status("Stopping training and saving a checkpoint…")
            self.session.shutdown()
        if self.panel.download_dialog is not None:
            self.panel.download_dialog.shutdown()


def announce_text(info: dict) -> str:
    """The status line as a run starts: a file by its name, not its absolute path, and no
    "not TinyStories" verdict on a user's file whose name does not say (a TinyStories subset
    called train-2316-stories.txt was announced as not TinyStories); the starter corpus's own
    label already says it is not TinyStories."""
    import os
    label = str(info["label"])
    head, sep, rest = label.partition(" (")
    if os.sep in head:  # a path given on the panel or the command line
        return f"Training on your file {os.path.basename(head)}{sep}{rest}"
    return f"Training on {label}"
