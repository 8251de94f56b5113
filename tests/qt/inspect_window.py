"""A plain main window composed as the app's main window composes its inspection: InspectDocks on
the app's Document + RunState, docks tabified, the Inspect menu, a stand-in for the graph view.
Shared by the inspection view tests (test_inspect_views, test_look_inside, test_routing_follows_lazily)."""
from PySide6.QtCore import QObject, Qt
from PySide6.QtCore import Signal as QtSignal
from PySide6.QtWidgets import QDockWidget, QLabel, QMainWindow

from studio._qt.inspect import InspectDocks, reveal_dock
from studio.core.state import Document, RunState

WAIT = 60_000  # ms: generous, the 2-core CI box is shared; no assertion depends on speed


class FakeGraphView(QObject):
    block_activated = QtSignal(str)


class Win(QMainWindow):
    """The docks composed as the main window does: InspectDocks on the app's Document + RunState."""

    def __init__(self, arch):
        super().__init__()
        self.doc, self.run = Document("classroom"), RunState()
        self.run.follow(self.doc)
        self.show_arch(arch)
        self.graph_view = FakeGraphView()
        self.setCentralWidget(QLabel("graph"))
        self.status = ""
        self.inspect = InspectDocks(self.run, parent=self, show_status=self._status)
        self.inspect_controller = self.inspect.controller
        self.attention_inspector, self.routing_view = self.inspect.attention, self.inspect.routing
        self.docks, self.menus = {}, {"Inspect": self.menuBar().addMenu("Inspect")}
        for title, widget in self.inspect.docks.items():
            d = QDockWidget(title, self)
            d.setWidget(widget)
            self.addDockWidget(Qt.BottomDockWidgetArea, d)
            if self.docks:
                self.tabifyDockWidget(next(iter(self.docks.values())), d)
            self.docks[title] = d
        self.inspect.fill_menu(self.menus["Inspect"])
        self.inspect.reveal.connect(lambda title: reveal_dock(self, self.docks[title]))
        self.graph_view.block_activated.connect(self.inspect.block_activated)
        self.resize(1366, 768)

    def show_arch(self, arch, key=None):
        self.doc.show_milestone(key or arch.id, arch, arch.meta.get("title", arch.id))

    def _status(self, msg, timeout_ms=0):
        self.status = msg
