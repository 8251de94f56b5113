"""Attention inspector and MoE routing view (docks), and the offscreen renderer of the CLI's PNGs.

``install(window)`` adds the "Attention" and "Routing" docks and an Inspect menu, and exposes
``window.inspect_controller`` (an :class:`InspectController`): training code hands it weight
snapshots with ``set_snapshot(arch, state_dict, step, tokenizer)`` and feeds
``window.inspect_controller.history.record(step, model)`` for the routing-over-time plots.
"""
from __future__ import annotations


LIVE_REFRESH_MS = 5000


def _scrolling(widget):
    """The dock may be squeezed below the view's natural size on a 768-px screen: scroll, don't grow the window."""
    from PySide6.QtWidgets import QFrame, QScrollArea
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.NoFrame)
    area.setWidget(widget)
    area.setMinimumHeight(120)
    return area


def install(window):
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QFileDialog

    from studio._qt.inspect.attention_view import AttentionInspector
    from studio._qt.inspect.controller import InspectController
    from studio._qt.inspect.routing_view import RoutingView
    from studio.core import errors as E
    from studio.core.rundir import RunDir

    ctl = InspectController(window)
    window.inspect_controller = ctl
    attn = AttentionInspector(ctl)
    routing = RoutingView(ctl)
    attn_dock = window.add_dock("Attention", _scrolling(attn))
    routing_dock = window.add_dock("Routing", _scrolling(routing))
    window.attention_inspector, window.routing_view = attn, routing

    def reveal(dock):
        """Show a dock and give it room: the maps need about half of a 768-px screen to be legible.
        When the docked layout cannot give that much (tall side panels), float it over the window."""
        from PySide6.QtCore import QTimer, Qt
        dock.show()
        dock.raise_()
        if dock.isFloating() or not window.isVisible():
            return
        window.resizeDocks([dock], [int(window.height() * 0.5)], Qt.Vertical)

        def float_if_cramped():
            if dock.isVisible() and not dock.isFloating() and dock.height() < 320:
                dock.setFloating(True)
                g = window.frameGeometry()
                w, h = int(g.width() * 0.92), int(min(g.height() * 0.62, 620))
                dock.setGeometry(g.x() + (g.width() - w) // 2, g.y() + g.height() - h - 40, w, h)
        QTimer.singleShot(0, float_if_cramped)

    def current_untrained():
        arch = window.timeline_model.arch
        if arch is None:
            window.show_status("No milestone selected")
            return
        if "classroom" not in arch.scales:
            window.show_status(f"{arch.id} has no classroom scale to run")
            return
        ctl.set_untrained(arch)
        reveal(attn_dock)

    def open_run():
        folder = QFileDialog.getExistingDirectory(window, "Open a run folder (RUN_DIR)")
        if not folder:
            return
        try:
            RunDir(folder).read_config()
        except E.StudioError as exc:
            window.show_status(str(exc))
            return
        ctl.set_run(folder)
        reveal(attn_dock)

    def block_activated(node_id: str):
        arch = window.timeline_model.arch
        if arch is None or node_id not in arch.graph.nodes or not arch.graph.node(node_id).spec.has("attention"):
            return
        if ctl.source is None or (ctl.source.kind == "untrained" and ctl.source.arch is not arch):
            current_untrained()
        reveal(attn_dock)
        if ctl.last is not None and not ctl.busy():
            ctl.focus_requested.emit(node_id, 0)
        else:  # open on that block as soon as the running inspection arrives
            def once(_ins, node_id=node_id):
                ctl.inspected.disconnect(once)
                ctl.focus_requested.emit(node_id, 0)
            ctl.inspected.connect(once)

    def arch_changed(arch):
        # an untrained view follows the slider; runs and snapshots stay until the user changes them
        if ctl.source is not None and ctl.source.kind == "untrained" and arch is not None and "classroom" in arch.scales:
            ctl.set_untrained(arch)

    def inspect_training():
        session = getattr(window, "training_session", None)
        if session is None or not (session.running or session.last_snapshot is not None):
            window.show_status("No training run in this window: start one (Train menu) or open a run folder")
            return
        if not session.request_snapshot() and session.last_snapshot is not None:
            ctl.set_snapshot(*session.last_snapshot)  # paused or finished: the last snapshot is current
        reveal(attn_dock)

    def live_refresh():
        # while training runs and a dock shows a training snapshot, ask for fresh weights now and then
        session = getattr(window, "training_session", None)
        showing = any(d.isVisible() and not d.visibleRegion().isEmpty() for d in (attn_dock, routing_dock))
        if (session is not None and session.running and showing and ctl.source is not None
                and ctl.source.kind == "snapshot" and not ctl.busy()):
            session.request_snapshot()
    live = QTimer(attn)
    live.setInterval(LIVE_REFRESH_MS)
    live.timeout.connect(live_refresh)
    live.start()

    m = window.menu("Inspect")
    a = m.addAction("Inspect current milestone (untrained)", current_untrained)
    a.setToolTip("Fresh random weights of the current milestone's classroom model")
    a = m.addAction("Open run or checkpoint…", open_run)
    a.setToolTip("A RUN_DIR from training or import: its latest checkpoint")
    a = m.addAction("Inspect the model being trained", inspect_training)
    a.setToolTip(f"A snapshot of the training weights, refreshed every {LIVE_REFRESH_MS // 1000} s while training runs")
    m.addSeparator()
    m.addAction("Show attention", lambda: reveal(attn_dock))
    m.addAction("Show routing", lambda: reveal(routing_dock))
    window.graph_view.block_activated.connect(block_activated)
    window.timeline_model.architecture_changed.connect(arch_changed)
    window.destroyed.connect(lambda *_: ctl.shutdown())
    return ctl
