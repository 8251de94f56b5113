"""Attention inspector and MoE routing view (docks), and the offscreen renderer of the CLI's PNGs.

    inspect = InspectDocks(model.run, session=training.session, show_status=window.show_status,
                           open_run=lambda folder: ..., parent=window)
    for title, widget in inspect.docks.items():
        window.add_dock(title, widget)
    inspect.fill_menu(window.menu("Inspect"))       # Look inside (Ctrl+L) among them
    graph_view.block_activated.connect(inspect.block_activated)  # a click on an attention block
    inspect.reveal.connect(lambda title: reveal_dock(window, window_docks[title]))

Both docks show the run of the model on screen (``RunState``): its training snapshots while it
trains here, its run folder's checkpoint (imported, project, lesson), or fresh random weights.
``look_inside`` moves both views into a window of their own (studio._qt.inspect.look_inside).
"""
from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QTimer, Signal

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


def reveal_dock(window, dock, presenting: bool = False) -> None:
    """Show a dock and give it room: the maps need about half of a 768-px screen to be legible.
    When the docked layout cannot give that much (tall side panels), float it over the window.
    ``presenting``: the window is in presentation mode, and no dock opens."""
    from PySide6.QtCore import Qt
    if presenting:
        return  # presenting: graph, card and timeline only (Look inside opens a window of its own)
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
    QTimer.singleShot(0, dock, float_if_cramped)


class InspectDocks(QObject):
    reveal = Signal(str)  # "Attention" or "Routing": the user should see that dock now

    def __init__(self, run_state, session=None, parent=None, show_status=None, open_run=None, presenting=None):
        """``session``: the TrainingSession asked for fresh weights while the model on screen
        trains; ``open_run(folder)``: how the app opens a run folder as the document (None: the
        inspector looks at the folder itself until the model on screen changes);
        ``presenting()``: whether the window is in presentation mode (None: never)."""
        super().__init__(parent)
        self.presenting = presenting or (lambda: False)
        from studio._qt.inspect.attention_view import AttentionInspector
        from studio._qt.inspect.controller import InspectController
        from studio._qt.inspect.routing_view import RoutingView
        self.run_state, self.session = run_state, session
        self.show_status = show_status or (lambda msg, timeout_ms=8000: None)
        self.open_run_callback = open_run
        self.controller = ctl = InspectController(run_state, self)
        self.attention = AttentionInspector(ctl)
        self.routing = RoutingView(ctl)
        self.docks = {"Attention": _scrolling(self.attention), "Routing": _scrolling(self.routing)}
        from studio._qt.inspect.look_inside import LookInside
        self.look_inside = LookInside(self, parent)
        ctl.source_changed.connect(lambda _s: self.look_inside.update_title())
        run_state.changed.connect(self.look_inside.update_title)
        ctl.failed.connect(lambda msg: self.show_status(msg))
        self.attention.inspect_requested.connect(self.inspect_on_screen)
        self.routing.inspect_requested.connect(self.inspect_on_screen)
        self._live = QTimer(self)
        self._live.setInterval(LIVE_REFRESH_MS)
        self._live.timeout.connect(self.live_refresh)
        self._live.start()
        if parent is not None:
            parent.installEventFilter(self)  # the window closing takes the Look inside window with it
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)  # no inspection thread outlives the app
        self._tips = {
            "Inspect the model on screen": "Its training run's weights, its run folder's checkpoint, or fresh random weights",
            "Open run or checkpoint…": "A run folder from training or import: its latest checkpoint"}

    def fill_menu(self, menu) -> None:
        for text, slot in (("Inspect the model on screen", self.inspect_on_screen),
                           ("Open run or checkpoint…", self.open_run)):
            a = menu.addAction(text, slot)
            a.setToolTip(self._tips[text])
        menu.addSeparator()
        menu.addAction("Show attention", lambda: self.show_view("Attention"))
        menu.addAction("Show routing", lambda: self.show_view("Routing"))
        menu.addAction(self.look_inside.action)
        if self.parent() is not None:
            self.parent().addAction(self.look_inside.action)  # Ctrl+L with the menu closed

    def show_view(self, title: str) -> None:
        """Bring the Attention or Routing view forward: in the Look inside window when open, else its dock."""
        win = self.look_inside.window
        if win is None:
            self.reveal.emit(title)
            return
        if not (self.attention if title == "Attention" else self.routing).isVisibleTo(win):
            win.show_view("Both")
        win.raise_()
        win.activateWindow()

    # ------------------------------------------------------------------ actions
    def inspect_on_screen(self) -> bool:
        if self.session is not None and self.session.key == self.run_state.key:
            self.session.request_snapshot()  # training here: fresh weights after this step
        if not self.controller.activate():
            return False
        self.show_view("Attention")
        return True

    def open_run(self, folder: str | None = None) -> bool:
        from PySide6.QtWidgets import QFileDialog

        from studio.core import errors as E
        from studio.core.runs.rundir import RunDir
        if folder is None:
            from studio._qt.dialogs.folders import app_folder, remember, start_dir
            folder = QFileDialog.getExistingDirectory(self.attention, "Open a training run folder",
                                                      start_dir("run", fallback=app_folder("runs")))
            remember("run", folder)
            if not folder:
                return False
        try:
            RunDir(folder).read_config()
        except E.StudioError as exc:
            self.show_status(str(exc))
            return False
        self.controller.active = True
        if self.open_run_callback is not None:
            self.open_run_callback(folder)  # the run becomes the document: RunState brings it here
        else:
            self.controller.set_run(folder)
        self.show_view("Attention")
        return True

    def block_activated(self, node_id: str) -> None:
        doc = self.run_state.document
        arch = None if doc is None else doc.architecture
        if arch is None or node_id not in arch.graph.nodes or not arch.graph.node(node_id).spec.has("attention"):
            return
        if self.presenting() and self.look_inside.window is None:
            return  # presenting: a click shows nothing here, so it computes nothing (Look inside, if open, follows)
        ctl = self.controller
        if not ctl.active or ctl.source is None:
            if not self.inspect_on_screen():
                return
        self.show_view("Attention")
        if ctl.last is not None and not ctl.busy():
            ctl.focus_requested.emit(node_id, 0)
        else:  # open on that block as soon as the running inspection arrives
            def once(_ins, node_id=node_id):
                ctl.inspected.disconnect(once)
                ctl.focus_requested.emit(node_id, 0)
            ctl.inspected.connect(once)

    def live_refresh(self) -> None:
        """While the model on screen trains here and a dock shows it, ask for fresh weights now and then."""
        s, ctl = self.session, self.controller
        showing = any(w.isVisible() and not w.visibleRegion().isEmpty() for w in (self.attention, self.routing))
        # "untrained" too: inspected while the run was still preparing, no snapshot could be asked
        # for then, and the views said "untrained" until the run ended (issue 22 L8)
        if (s is not None and s.running and s.key == self.run_state.key and showing and ctl.source is not None
                and ctl.source.kind in ("snapshot", "untrained") and not ctl.busy()):
            s.request_snapshot()

    def eventFilter(self, obj, event):  # noqa: N802  Qt virtual
        if obj is self.parent() and event.type() == QEvent.Close:
            self.look_inside.close()  # (a cancelled close only puts the views back in their docks)
        return False

    def shutdown(self) -> None:
        self._live.stop()
        self.look_inside.close()
        self.controller.shutdown()
