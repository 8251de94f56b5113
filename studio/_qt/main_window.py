"""The main window: graph view in the centre, the timeline along the bottom, info and
accounting docks on the right, a tabbed bottom dock area other modules add to.

Integration contract (other modules rely on it): ``MainWindow(model)``, ``timeline_model``,
``graph_view.block_activated(str)``, ``add_dock(title, widget, area)``, ``menu(name)``,
``show_status(msg)``; optional modules ``studio._qt.training``, ``studio._qt.inspect`` and
``studio._qt.export_dialog`` are installed with their ``install(window)`` when importable.
"""
from __future__ import annotations

import importlib

from PySide6.QtCore import QEvent, QObject, QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import (QApplication, QDockWidget, QFileDialog, QLabel, QMainWindow, QMenu, QMessageBox,
                               QWidget)

from studio import __version__
from studio._qt.accounting_panel import AccountingPanel
from studio._qt.graph_view import GraphView
from studio._qt.info_panel import InfoPanel
from studio._qt.presentation import Presentation
from studio._qt.theme import THEMES, apply_theme
from studio._qt.timeline import TimelineBar
from studio.core.errors import StudioError
from studio.core.timeline_model import TimelineModel

MENU_ORDER = ("File", "Edit", "View", "Train", "Inspect", "Help")
OPTIONAL_MODULES = ("studio._qt.training", "studio._qt.inspect", "studio._qt.export_dialog", "studio._qt.first_run")
ABOUT = """<h3>LLM Architecture Studio {version}</h3>
<p>Scrub from the 2017 Transformer to 2026 trillion-parameter mixtures of experts; edit, train,
inspect and export the models.</p>
<p><b>Data.</b> TinyStories (Eldan &amp; Li, 2023), licensed under the Community Data License
Agreement – Sharing, Version 1.0 (CDLA-Sharing-1.0); stories you download are used under that
licence and are not bundled with the app.</p>
<p><b>Colours.</b> Block families use the Okabe–Ito colour-blind-safe palette; changes are
shown with a word and an outline style as well as colour.</p>
<p>Figures carry their provenance: ◆ published · ● computed · ▲ measured · ◇ reported ·
○ undisclosed · ◌ stand-in.</p>"""


class _FirstPaint(QObject):
    """Calls back once, right after the first paint of a widget (start-up work waits for it)."""

    def __init__(self, widget, callback):
        super().__init__(widget)
        self.callback, self.widget = callback, widget
        widget.installEventFilter(self)

    def eventFilter(self, obj, event):
        if event.type() == QEvent.Paint:
            self.widget.removeEventFilter(self)
            QTimer.singleShot(0, self, self.callback)  # context: cancelled if we are deleted first
        return False


class MainWindow(QMainWindow):
    def __init__(self, model: TimelineModel | None = None, defer_optional: bool = False):
        """``defer_optional``: install the optional modules after the first paint (the app does
        this so the window appears at once; tests get them installed on return)."""
        super().__init__()
        self.timeline_model = model if model is not None else TimelineModel()
        self.settings = QSettings()
        self.theme = THEMES.get(str(self.settings.value("theme", "light")), THEMES["light"])
        app = QApplication.instance()
        if app is not None:
            apply_theme(app, self.theme)
        self.setWindowTitle("LLM Architecture Studio")
        self.resize(1366, 768)
        self.setDockOptions(QMainWindow.AnimatedDocks | QMainWindow.AllowTabbedDocks | QMainWindow.AllowNestedDocks)
        self.setCorner(Qt.BottomLeftCorner, Qt.BottomDockWidgetArea)
        self.setCorner(Qt.BottomRightCorner, Qt.BottomDockWidgetArea)
        self._menus: dict[str, QMenu] = {}
        self._docks: dict[str, QDockWidget] = {}
        self._bottom_docks: list[QDockWidget] = []
        self._right_docks: list[QDockWidget] = []

        m = self.timeline_model
        self.graph_view = GraphView(m, self.theme, self)
        self.graph_view.setToolTip("")
        self.setCentralWidget(self.graph_view)
        self.timeline_bar = TimelineBar(m, self.theme, self)
        self.timeline_dock = QDockWidget("Timeline", self)
        self.timeline_dock.setObjectName("dock-timeline")
        self.timeline_dock.setWidget(self.timeline_bar)
        self.timeline_dock.setFeatures(QDockWidget.NoDockWidgetFeatures)
        self.timeline_dock.setTitleBarWidget(QWidget())  # always visible, no chrome
        self.fix_timeline_height()
        self.addDockWidget(Qt.BottomDockWidgetArea, self.timeline_dock)
        self.info_panel = InfoPanel(m, self)
        self.accounting_panel = AccountingPanel(m, self.theme, self)
        self.info_dock = self.add_dock("Milestone", self.info_panel, "right")
        self.accounting_dock = self.add_dock("Accounting", self.accounting_panel, "right")
        self.graph_view.node_hovered.connect(self.accounting_panel.show_block)
        self.resizeDocks([self.info_dock], [440], Qt.Horizontal)
        self.resizeDocks([self.info_dock, self.accounting_dock], [380, 420], Qt.Vertical)

        self.title_label = QLabel()
        self.statusBar().addPermanentWidget(self.title_label)
        m.architecture_changed.connect(lambda _a: self._update_title())
        m.edited_changed.connect(lambda _e: self._update_title())
        m.scale_changed.connect(lambda _s: self._update_title())
        self.presentation = Presentation(self)
        self._build_menus()
        self._install_editing()
        self._first_paint = _FirstPaint(self.graph_view.viewport(), self._after_first_paint)
        self._defer_optional = defer_optional
        if not defer_optional:
            self._install_optional()
        self._restore()
        self._update_title()
        self.timeline_model.load_failed.connect(lambda pid, msg: self.show_status(f"Cannot show {pid}: {msg}", 15000))
        # After the first paint, load the other presets one per event-loop turn (the window
        # stays responsive), then the timeline chart.
        self._warm_queue = list(self.timeline_model.ids)
        self._warm_timer = QTimer(self)
        self._warm_timer.setInterval(0)
        self._warm_timer.timeout.connect(self._warm_step)

    def fix_timeline_height(self):
        """The strip never takes the room the graph should get when bottom docks close."""
        h = self.timeline_bar.sizeHint().height()
        self.timeline_dock.setMinimumHeight(h)
        self.timeline_dock.setMaximumHeight(h)

    # ------------------------------------------------------------------ contract
    def menu(self, name: str) -> QMenu:
        if name not in self._menus:
            menu = QMenu(name.replace("&", ""), self)
            menu.setTitle(f"&{name}")
            later = [n for n in MENU_ORDER[MENU_ORDER.index(name) + 1:] if n in self._menus] if name in MENU_ORDER else []
            if later:
                self.menuBar().insertMenu(self._menus[later[0]].menuAction(), menu)
            else:
                self.menuBar().addMenu(menu)
            self._menus[name] = menu
        return self._menus[name]

    def add_dock(self, title: str, widget, area: str = "bottom") -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock-{title.lower().replace(' ', '-')}")
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetClosable | QDockWidget.DockWidgetMovable | QDockWidget.DockWidgetFloatable)
        if area == "right":
            self.addDockWidget(Qt.RightDockWidgetArea, dock)
            if self._right_docks:
                self.splitDockWidget(self._right_docks[-1], dock, Qt.Vertical)
            self._right_docks.append(dock)
        elif area == "left":
            self.addDockWidget(Qt.LeftDockWidgetArea, dock)
        else:  # tabbed, under the timeline
            self.addDockWidget(Qt.BottomDockWidgetArea, dock)
            if self._bottom_docks:
                self.tabifyDockWidget(self._bottom_docks[0], dock)
            else:
                self.splitDockWidget(self.timeline_dock, dock, Qt.Vertical)
            self._bottom_docks.append(dock)
        self._docks[title] = dock
        panels = self._panels_menu()
        panels.addAction(dock.toggleViewAction())
        dock.toggleViewAction().setToolTip(f"Show or hide the {title} panel")
        return dock

    def show_status(self, msg: str, timeout_ms: int = 8000) -> None:
        self.statusBar().showMessage(msg, timeout_ms)

    # ------------------------------------------------------------------ menus
    def _panels_menu(self) -> QMenu:
        if not hasattr(self, "_panels"):
            self._panels = QMenu("&Panels", self)
            self.menu("View")
        return self._panels

    def _action(self, menu: QMenu, text: str, slot, shortcut=None, tip: str = "", checkable=False) -> QAction:
        a = QAction(text, self)
        if shortcut:
            a.setShortcut(QKeySequence(shortcut))
        a.setToolTip(tip or text.replace("&", ""))
        a.setStatusTip(tip or text.replace("&", ""))
        a.setCheckable(checkable)
        a.triggered.connect(slot)
        menu.addAction(a)
        return a

    def _build_menus(self):
        for name in MENU_ORDER:
            if name not in ("Train", "Inspect"):
                self.menu(name)
        f, e, v, h = self.menu("File"), self.menu("Edit"), self.menu("View"), self.menu("Help")
        self.open_model_action = self._action(f, "Open &model (preset or YAML)…", self.open_model_dialog, None,
                                              "Open an architecture YAML file")
        self.export_action = self._action(f, "&Export diagram…", self.export_diagram, "Ctrl+E",
                                          "Save the graph as PNG or SVG")
        f.addSeparator()
        self._action(f, "&Quit", self.close, QKeySequence.Quit)
        self.reset_action = self._action(e, "&Reset to milestone", self.timeline_model.reset_to_milestone, None,
                                         "Throw away the edits of this milestone and restore its canonical graph")
        self._action(v, "&Fit to view", self.fit, "Ctrl+0", "Show the whole graph")
        self._action(v, "Zoom &in", lambda: self.graph_view.zoom(1.2), QKeySequence.ZoomIn)
        self._action(v, "Zoom &out", lambda: self.graph_view.zoom(1 / 1.2), QKeySequence.ZoomOut)
        v.addSeparator()
        self.present_action = self._action(v, "&Presentation mode", self.presentation.toggle, "F5",
                                           "Full screen, large fonts, only graph, card and timeline (Esc leaves)",
                                           checkable=True)
        self._action(v, "&Compare milestones…", self.open_compare, "Ctrl+K", "Two milestones side by side with their diff")
        self._action(v, "&Play / pause timeline", self.timeline_bar.toggle_play, "Ctrl+Space")
        v.addSeparator()
        scale_menu = v.addMenu("&Scale")
        group = QActionGroup(self)
        for s in ("paper", "classroom"):
            a = self._action(scale_menu, s.title(), lambda _c=False, s=s: self.timeline_model.set_scale(s),
                             tip=f"Show {s}-scale numbers on the blocks", checkable=True)
            a.setChecked(self.timeline_model.scale == s)
            group.addAction(a)
        theme_menu = v.addMenu("&Theme")
        tgroup = QActionGroup(self)
        self.theme_actions = {}
        for name in THEMES:
            a = self._action(theme_menu, name.title(), lambda _c=False, n=name: self.set_theme(n),
                             tip=f"{name.title()} palette", checkable=True)
            a.setChecked(self.theme.name == name)
            tgroup.addAction(a)
            self.theme_actions[name] = a
        v.addMenu(self._panels_menu())
        self._action(h, "&Keyboard shortcuts", self.show_shortcuts, "F1")
        self._action(h, "&About LLM Architecture Studio", self.show_about)

    def _install_editing(self):
        from studio._qt.editing import Editor
        from studio._qt.palette import IssuesList, Palette
        from studio._qt.projects import ProjectController
        from studio._qt.property_editor import PropertyEditor
        self.editor = Editor(self)
        self.block_palette = Palette(self.editor, self)
        self.issues_list = IssuesList(self.editor, self)
        self.property_editor = PropertyEditor(self.editor, self)
        self.palette_dock = self.add_dock("Palette", self.block_palette, "left")
        self.issues_dock = self.add_dock("Issues", self.issues_list, "left")
        self.tabifyDockWidget(self.palette_dock, self.issues_dock)
        self.palette_dock.raise_()
        self.properties_dock = self.add_dock("Properties", self.property_editor, "left")
        self.splitDockWidget(self.palette_dock, self.properties_dock, Qt.Vertical)
        self.resizeDocks([self.palette_dock], [285], Qt.Horizontal)
        self.projects = ProjectController(self, self.editor)
        self.graph_view.drop_handler = lambda kind, pos: self.editor.add_block(kind, pos)
        self.graph_view.graph_scene.probe_message.connect(lambda m: self.show_status(m, 4000))

    # ------------------------------------------------------------------ actions
    def fit(self):
        self.graph_view.auto_fit = True
        self.graph_view.fit_all()

    def set_theme(self, name: str):
        self.theme = THEMES[name]
        apply_theme(QApplication.instance(), self.theme)
        self.graph_view.graph_scene.set_theme(self.theme)
        self.timeline_bar.set_theme(self.theme)
        self.accounting_panel.chart.set_theme(self.theme)
        self.theme_actions[name].setChecked(True)
        self.settings.setValue("theme", name)
        self.presentation.refresh_card()

    def open_model(self, spec: str) -> None:
        """Open a preset id, an architecture YAML or a project file; bad input leaves the current work."""
        from studio.core.presets import is_preset, load_model
        if is_preset(spec):
            self.timeline_model.set_current(spec)
            return
        opener = getattr(self, "project_controller", None)
        if opener is not None and opener.maybe_open_project(spec):
            return
        arch = load_model(spec)
        origin = arch.meta.get("id") if arch.meta.get("id") in self.timeline_model.ids else None
        self.timeline_model.set_custom(origin, arch)
        self.show_status(f"Opened {spec}")

    def open_model_dialog(self):
        path, _ = QFileDialog.getOpenFileName(self, "Open architecture", "", "YAML (*.yaml *.yml);;All files (*)")
        if path:
            try:
                self.open_model(path)
            except StudioError as exc:
                QMessageBox.warning(self, "Cannot open", str(exc))

    def export_diagram(self):
        from studio._qt.render import save_scene
        title = self.timeline_model.current_id or "diagram"
        path, _ = QFileDialog.getSaveFileName(self, "Export diagram", f"{title}.png", "PNG image (*.png);;SVG drawing (*.svg)")
        if path:
            try:
                save_scene(self.graph_view.graph_scene, path)
                self.show_status(f"Saved {path}")
            except (OSError, StudioError) as exc:
                QMessageBox.warning(self, "Cannot export", str(exc))

    def open_compare(self):
        from studio._qt.compare import CompareDialog
        m = self.timeline_model
        left = m.ids[max(0, m.index - 1)] if m.ids else None
        self.compare_dialog = CompareDialog(m, left, m.current_id, self.theme, self)
        self.compare_dialog.show()
        return self.compare_dialog

    def show_about(self):
        QMessageBox.about(self, "About LLM Architecture Studio", ABOUT.format(version=__version__))

    def show_shortcuts(self):
        QMessageBox.information(self, "Keyboard shortcuts", (
            "←/→  previous / next milestone (graph or timeline focused)\nHome / End  first / last\n"
            "Ctrl+Space  play / pause\nCtrl+0  fit · Ctrl+wheel  zoom · middle-drag  pan · F  frame selection\n"
            "Double-click a block  open it in the inspector\nF5 / Esc  presentation mode on / off\n"
            "Ctrl+K  compare milestones · Ctrl+E  export diagram\n"
            "Ctrl+Z / Ctrl+Shift+Z  undo / redo · Ctrl+S / Ctrl+O / Ctrl+N  save / open / new"))

    # ------------------------------------------------------------------ state
    def _update_title(self):
        m = self.timeline_model
        title = m.title() if m.arch is not None else ""
        ctl = getattr(self, "project_controller", None)
        # "[*]" is where Qt shows the changed-document marker (setWindowModified)
        self.setWindowTitle(f"{title}[*] — LLM Architecture Studio" if title else "LLM Architecture Studio[*]")
        self.setWindowModified(bool(ctl is not None and ctl.dirty))
        self.title_label.setText(f"{title} · {m.scale} scale")

    def _install_optional(self):
        done = self.__dict__.setdefault("_installed_modules", set())
        for name in OPTIONAL_MODULES:
            try:
                mod = importlib.import_module(name)
            except ImportError:
                continue
            if id(mod) in done:
                continue  # each module once per window, however start-up reaches here
            done.add(id(mod))
            try:
                mod.install(self)
            except Exception as exc:  # noqa: BLE001  a broken add-on must not stop the app
                self.show_status(f"{name.rsplit('.', 1)[-1]} could not start: {exc}", 15000)

    def _after_first_paint(self):
        if self._defer_optional:
            QTimer.singleShot(0, self, self._install_deferred)
        else:
            self._size_bottom_docks(self.settings.value("windowState") is None)
        QTimer.singleShot(150, self, self._warm_timer.start)

    def _install_deferred(self):
        self._install_optional()
        state = self.settings.value("windowState")  # docks added now: give them their saved places
        if state is not None:
            self.restoreState(state)
        self._size_bottom_docks(state is None)

    def _size_bottom_docks(self, first_run: bool):
        """The tabbed bottom docks start low so the graph keeps most of a 1366×768 screen."""
        if first_run and self._bottom_docks:
            if self._defer_optional and self.height() < 900:
                # A first start on a small screen: the graph gets the room; the training and
                # inspection docks are one click away (View → Panels, Train and Inspect menus).
                for d in self._bottom_docks:
                    d.hide()
                self.show_status("Training, plots and inspection panels: View → Panels", 15000)
            else:
                self._bottom_docks[0].raise_()
                self.resizeDocks([self._bottom_docks[0]], [max(140, self.height() // 5)], Qt.Vertical)
            self.resizeDocks([self.info_dock, self.accounting_dock], [1, 1], Qt.Vertical)

    def _warm_step(self):
        if self._warm_queue:
            self.timeline_model.warm_one(self._warm_queue.pop(0))
            return
        self._warm_timer.stop()
        self._warm()

    def _warm(self):
        """Everything loaded and the chart built (tests and benchmarks call it directly)."""
        self._warm_queue = []
        self._warm_timer.stop()
        try:
            self.timeline_model.warm()
            self.accounting_panel.chart.load()
            self.timeline_bar.strip.llama2c = self.timeline_model.llama2c_compatible()
            self.timeline_bar.strip.update()
        except StudioError as exc:
            self.show_status(str(exc))
        if self.timeline_model.broken:
            names = ", ".join(sorted(self.timeline_model.broken))
            self.show_status(f"Skipped presets that do not load: {names}", 15000)

    def _restore(self):
        geo = self.settings.value("geometry")
        if geo is not None:
            self.restoreGeometry(geo)
        state = self.settings.value("windowState")
        if state is not None:
            self.restoreState(state)

    def save_settings(self):
        self.settings.setValue("geometry", self.saveGeometry())
        self.settings.setValue("windowState", self.saveState())
        self.settings.setValue("theme", self.theme.name)

    def keyPressEvent(self, event):
        if event.key() == Qt.Key_Escape and self.presentation.active:
            self.presentation.toggle()
            return
        super().keyPressEvent(event)

    def closeEvent(self, event):
        ctl = getattr(self, "project_controller", None)
        if ctl is not None and not ctl.confirm_close():
            event.ignore()
            return
        if self.presentation.active:
            self.presentation.toggle()
        self.save_settings()
        self.timeline_model.set_playing(False)
        super().closeEvent(event)
