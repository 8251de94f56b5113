"""Training in the app: the Training, Plots and Generate docks and the Train menu.

``install(window)`` needs the main window's contract: ``timeline_model.arch``,
``add_dock(title, widget, area)``, ``menu(name)``, ``show_status(msg)``. It exposes
``window.training_session`` (a :class:`TrainingSession`). Closing the window during training
stops the thread cleanly after the trainer saved a checkpoint.
"""
from __future__ import annotations


def install(window):
    from PySide6.QtCore import QCoreApplication, QEvent, QObject
    from PySide6.QtGui import QAction, QKeySequence

    from studio._qt.training.generate_panel import GeneratePanel
    from studio._qt.training.panel import TrainingPanel
    from studio._qt.training.plots import PlotsPanel
    from studio._qt.training.session import TrainingSession

    session = TrainingSession(window)
    session.routing_history_provider = lambda: getattr(getattr(window, "inspect_controller", None), "history", None)

    def current():
        arch = window.timeline_model.arch
        return arch, (arch.id if arch is not None else "")

    panel = TrainingPanel(session, current)
    plots = PlotsPanel(session, getattr(window, "theme", None))
    gen = GeneratePanel(session)
    window.training_session, window.training_panel = session, panel

    def record_in_project(info: dict):
        """The project file keeps the latest run and its training settings (saved with it)."""
        ctl = getattr(window, "project_controller", None)
        if ctl is not None:
            ctl.latest_run = info.get("run_dir")
            ctl.training = {k: info[k] for k in ("steps", "vocab", "tokenizer", "label") if k in info}
    session.prepared.connect(record_in_project)
    window.plots_panel, window.generate_panel = plots, gen
    train_dock = window.add_dock("Training", panel)
    plots_dock = window.add_dock("Plots", plots)
    window.add_dock("Generate", gen)

    menu = window.menu("Train")
    start_stop = QAction("Start training", window)
    start_stop.setShortcut(QKeySequence("F6"))
    start_stop.setToolTip("Train the current model's classroom scale; F6 again stops and saves a checkpoint")

    def toggle():
        if session.running:
            session.stop()
        else:
            train_dock.show()
            train_dock.raise_()
            panel.start()
    start_stop.triggered.connect(toggle)
    pause = QAction("Pause / resume", window)
    pause.setShortcut(QKeySequence("Shift+F6"))
    pause.triggered.connect(lambda: session.pause(session.state == "running"))
    download = QAction("Download TinyStories (quick, ≈19 MB)…", window)
    download.triggered.connect(lambda: panel.download("quick"))
    overlay = QAction("Overlay an earlier run…", window)
    overlay.triggered.connect(lambda: (plots_dock.show(), plots_dock.raise_(), plots.choose_overlay()))
    for a in (start_stop, pause, download, overlay):
        menu.addAction(a)
        window.addAction(a)
    window.training_actions = {"start_stop": start_stop, "pause": pause, "download": download, "overlay": overlay}

    def on_state(state):
        start_stop.setText("Stop training" if state in ("preparing", "running", "paused") else "Start training")
        pause.setEnabled(state in ("running", "paused"))
    session.state_changed.connect(on_state)
    on_state(session.state)
    session.prepared.connect(lambda info: window.show_status(
        f"Training on {info['label']}" + ("" if info["is_tinystories"] or "not TinyStories" in info["label"]
                                          else " — not TinyStories"), 15000))
    session.failed.connect(lambda msg: window.show_status(msg, 15000))

    closing = {"on": False}

    def give_snapshot(snap):
        ctl = getattr(window, "inspect_controller", None)
        # a snapshot still queued when the window closes must not start the inspector's work
        if ctl is not None and hasattr(ctl, "set_snapshot") and not closing["on"]:
            arch, state, step, tok = snap
            ctl.set_snapshot(arch, state, step, tok)
    session.snapshot_ready.connect(give_snapshot)

    class CloseGuard(QObject):
        """Stops training (checkpoint saved) and generation before the window goes away."""
        def eventFilter(self, obj, event):
            if obj is window and event.type() == QEvent.Close:
                shutdown()
            return False

    def shutdown():
        closing["on"] = True
        gen.shutdown()
        if session.running:
            window.show_status("Stopping training and saving a checkpoint…")
            session.shutdown()
        dlg = getattr(panel, "_download_dialog", None)
        if dlg is not None:
            dlg.shutdown()
    guard = CloseGuard(window)
    window.installEventFilter(guard)
    window._training_close_guard = guard
    app = QCoreApplication.instance()
    if app is not None:
        app.aboutToQuit.connect(shutdown)
    window.training_shutdown = shutdown
    return session
