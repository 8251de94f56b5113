"""The main window: composes the views of one StudioModel (studio.core.state).

Graph in the centre, the timeline along the bottom, milestone card and accounting on the right,
palette / issues / properties on the left, and the tabbed bottom docks of training and
inspection. Every view takes the model in ``__init__`` and mirrors it; the window builds them
explicitly here and wires nothing between them by hand. What other code may use:
``MainWindow(model)``, ``model``, ``add_dock(title, widget, area)``, ``menu(name)``,
``show_status(msg)``, ``graph_view.block_activated(str)``.
"""
from __future__ import annotations

from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtWidgets import QApplication, QDockWidget, QFileDialog, QLabel, QMainWindow, QMenu, QMessageBox, QWidget

from studio import __version__
from studio._qt.panels.accounting_panel import AccountingPanel
from studio._qt.graph.editing import Editor
from studio._qt.dialogs.add_milestone import UserMilestoneActions
from studio._qt.dialogs.first_run import FirstRun, first_start
from studio._qt.graph.graph_view import GraphView
from studio._qt.panels.info_panel import InfoPanel
from studio._qt.classroom.lesson_dialog import LessonActions
from studio._qt.graph.palette import IssuesList, Palette
from studio._qt.present.presentation import Presentation
from studio._qt.window.projects import ProjectController
from studio._qt.graph.property_editor import PropertyEditor
from studio._qt.theme import THEMES, apply_theme
from studio._qt.panels.timeline import TimelineBar
from studio._qt.window.view_menu import build_view_menu
from studio._qt.window.window_parts import (ABOUT, MENU_ORDER, DockHost, FirstPaint, StatusBar, reveal_docked,
                                            shortcut_lines, size_to_screen, small_screen)
from studio.core.errors import StudioError
from studio.core.state import StudioModel



class MainWindow(DockHost, QMainWindow):
    def __init__(self, model: StudioModel | None = None, defer_optional: bool = False):
        """``defer_optional``: build the training and inspection docks after the first paint
        (they import pyqtgraph and torch; the app does this so the window appears at once); the
        app's window also opens maximised on a small screen (tests size their windows themselves)."""
        super().__init__()
        self.model = m = model if model is not None else StudioModel()
        self.settings = QSettings()
        self.theme = THEMES.get(str(self.settings.value("theme", "light")), THEMES["light"])
        m.view.theme = self.theme.name  # the views built below take it, then follow the model
        if QApplication.instance() is not None:
            apply_theme(QApplication.instance(), self.theme)
        self.setWindowTitle("LLM Architecture Studio")
        size_to_screen(self)  # a saved geometry (restored below) wins
        if defer_optional and small_screen(self.screen()):  # the app on 1366×768: every pixel to the graph and docks
            self.setWindowState(self.windowState() | Qt.WindowMaximized)
        self.setDockOptions(QMainWindow.AnimatedDocks | QMainWindow.AllowTabbedDocks | QMainWindow.AllowNestedDocks)
        self.setCorner(Qt.BottomLeftCorner, Qt.BottomDockWidgetArea)
        self.setCorner(Qt.BottomRightCorner, Qt.BottomDockWidgetArea)
        self._menus: dict[str, QMenu] = {}
        self._docks: dict[str, QDockWidget] = {}
        self._bottom_docks: list[QDockWidget] = []
        self._right_docks: list[QDockWidget] = []
        self._panels = QMenu("&Panels", self)
        self.training = self.inspect = self.llama2c = None  # the deferred docks

        self.graph_view = GraphView(m, self.theme, self)
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

        scene = self.graph_view.graph_scene
        self.editor = Editor(m, scene, self)
        self.editor.status.connect(self.show_status)
        self.block_palette = Palette(self.editor, self)
        self.issues_list = IssuesList(self.editor, self)
        self.property_editor = PropertyEditor(m, self.editor, self)
        self.palette_dock = self.add_dock("Palette", self.block_palette, "left")
        self.issues_dock = self.add_dock("Issues", self.issues_list, "left")
        self.tabifyDockWidget(self.palette_dock, self.issues_dock)
        self.palette_dock.raise_()
        self.properties_dock = self.add_dock("Properties", self.property_editor, "left")
        self.splitDockWidget(self.palette_dock, self.properties_dock, Qt.Vertical)
        self.resizeDocks([self.palette_dock], [285], Qt.Horizontal)
        self.graph_view.drop_handler = lambda kind, pos: self.editor.add_block(kind, pos)
        scene.probe_message.connect(self._probe_message)

        self.setStatusBar(StatusBar(self))  # its message stops short of the labels on the right
        self.title_label = QLabel()
        self.statusBar().addPermanentWidget(self.title_label)
        self._build_menus()
        self.projects = ProjectController(m, self)
        self.projects.dirty_changed.connect(lambda _d: self._update_title())
        m.document.replaced.connect(self._update_title)
        m.document.changed.connect(lambda _v: self._update_title())
        m.document.changed.connect(lambda _v: self._drop_stale_status())
        m.document.replaced.connect(self._drop_stale_status)
        m.document.scale_changed.connect(lambda _s: self._update_title())
        m.timeline.load_failed.connect(lambda pid, msg: self.show_status(f"Cannot show {pid}: {msg}", 15000))
        self.presentation = Presentation(self)
        self.first_run = self.lesson = None  # built with the run docks (they read caches, import more)
        self._first_paint = FirstPaint(self.graph_view.viewport(), self._after_first_paint)
        self._defer_optional = defer_optional
        if not defer_optional:
            self._build_helpers()
            self._build_run_docks()
        self._restore()
        self._update_title()
        # After the first paint, load the other presets one per event-loop turn (the window
        # stays responsive), then the timeline chart.
        self._warm_queue = list(m.timeline.ids)
        self._warm_timer = QTimer(self)
        self._warm_timer.setInterval(0)
        self._warm_timer.timeout.connect(self._warm_step)

    def fix_timeline_height(self):
        """The strip never takes the room the graph should get when bottom docks close."""
        h = self.timeline_bar.sizeHint().height()
        self.timeline_dock.setMinimumHeight(h)
        self.timeline_dock.setMaximumHeight(h)

    # ------------------------------------------------------------------ docks of the run
    def _build_run_docks(self):
        """Training, Plots, Generate, Attention, Routing and llama2.c export / import: each a
        view of ``model.run`` (the run that belongs to the document on screen)."""
        from studio._qt.dialogs.export_dialog import Llama2cActions
        from studio._qt.inspect import InspectDocks
        from studio._qt.training import TrainingDocks
        from studio._qt.training.earlier_runs_menu import EarlierRunsMenu
        from studio.core.runs.earlier import EarlierRuns
        m = self.model
        earlier = EarlierRuns(m.timeline)
        m.run.set_earlier_lookup(earlier.lookup)  # runs trained before a restart come back
        self.training = TrainingDocks(m.run, parent=self, theme=self.theme, show_status=self.show_status)
        self.inspect = InspectDocks(m.run, self.training.session, parent=self, show_status=self.show_status,
                                    open_run=self.open_run_folder, presenting=lambda: self.presentation.active)
        for title, widget in list(self.training.docks.items()) + list(self.inspect.docks.items()):
            self.add_dock(title, widget)
        self.training.fill_menu(self.menu("Train"))
        self.menu("Train").addMenu(EarlierRunsMenu(m.run, earlier, self.show_status, self))
        self.inspect.fill_menu(self.menu("Inspect"))
        for docks in (self.training, self.inspect):
            docks.reveal.connect(self.reveal_dock)
        self.training.run_prepared.connect(self.projects.record_run)
        self.graph_view.block_activated.connect(self.inspect.block_activated)
        self.llama2c = Llama2cActions(m, self, self.show_status)
        self.llama2c.fill_file_menu(self.menu("File"))
        self._quit_last()
        self.hide_stale_tab_bars()
        self.first_run.follow_training(self.training)  # the data line; a first start warms training (idle)

    def _build_helpers(self):
        """Help → Tour / Offline pack / the data status line, and Help → Prepare the lesson…,
        races and the planner (with the lesson's prepared runs)."""
        self.first_run = FirstRun(self.model, self)
        self.lesson = LessonActions(self)
        if first_start(self.model, self.settings):  # LLaMA 2 (after the first paint: its presets take a while)
            self.first_run.welcome(show_tour=self._defer_optional)

    def open_run_folder(self, folder: str) -> None:
        """A run folder (RUN_DIR) becomes the document on screen, its run with it."""
        from pathlib import Path

        from studio.core.runs.rundir import RunDir
        arch = RunDir(folder).architecture()
        title = f"{arch.meta.get('title', arch.id)} ({Path(folder).name})"
        self.model.open_architecture(arch, "imported", title, run_dir=folder)

    def reveal_dock(self, title: str) -> None:
        """A panel asks to be seen (F6 opens Training, inspecting opens Attention): docked,
        raised; presenting, nothing opens (graph, card and timeline only)."""
        if not self.presentation.active:
            reveal_docked(self, self._docks[title])

    def show_status(self, msg: str, timeout_ms: int = 8000) -> None:
        self.statusBar().showMessage(msg, timeout_ms)

    def _drop_stale_status(self) -> None:
        """A message about the document's state ("… cannot be built: …") is wrong once the
        document changed (an undo put the deleted block back): it goes, others stay."""
        if "cannot be built" in self.statusBar().currentMessage():
            self.statusBar().clearMessage()

    def _probe_message(self, msg: str) -> None:
        """While a connection is dragged: why it would be accepted or refused; cleared on release."""
        if msg:
            self.show_status(msg, 4000)
        else:
            self.statusBar().clearMessage()

    # ------------------------------------------------------------------ menus
    def _build_menus(self):
        for name in MENU_ORDER:
            if name not in ("Train", "Inspect"):
                self.menu(name)
        f, e, v, h = self.menu("File"), self.menu("Edit"), self.menu("View"), self.menu("Help")
        ed = self.editor
        self.open_model_action = self._action(f, "Open &model (YAML or config.json)…", self.open_model_dialog, None,
                                              "Open an architecture YAML file or a Hugging Face config.json")
        self.user_milestones = UserMilestoneActions(self, f)  # Add to timeline… / Remove from timeline…
        self.export_action = self._action(f, "&Export diagram…", self.export_diagram, "Ctrl+E",
                                          "Save the graph as PNG or SVG")
        f.addSeparator()
        self.quit_action = self._action(f, "&Quit", self.close, "Ctrl+Q")  # kept last: see _quit_last
        e.addActions([ed.undo_action, ed.redo_action])
        e.addSeparator()
        e.addActions(ed.graph_actions)
        self.graph_view.addActions(ed.graph_actions)  # Delete / Copy / Paste act where the graph has focus
        self.reset_action = self._action(e, "Show the &original milestone", self.show_original, None,
                                         "Show the published milestone this edited copy came from (the copy stays "
                                         "under File → Models this session)")
        build_view_menu(self, v)
        v.addMenu(self._panels)
        self._action(h, "&Keyboard shortcuts", self.show_shortcuts, "F1")
        self._action(h, "&About LLM Architecture Studio", self.show_about)

    # ------------------------------------------------------------------ actions
    def fit(self):
        self.graph_view.fit_to("all")

    def show_original(self):
        d = self.model.document
        if d.origin in self.model.timeline.ids:
            self.model.show_milestone(d.origin)

    def set_theme(self, name: str):
        self.theme = THEMES[name]
        apply_theme(QApplication.instance(), self.theme)  # the widgets' palette; the views follow the model
        self.model.view.theme = name
        self.theme_actions[name].setChecked(True)
        self.settings.setValue("theme", name)
        self.presentation.refresh_card()

    def open_model(self, spec: str) -> None:
        """Open a preset id, an architecture YAML or a project file; bad input leaves the current work."""
        from studio.core.files.presets import is_preset
        from studio.core.files.model_spec import load_model
        if is_preset(spec) or spec in self.model.timeline.ids:  # a user's milestone too: archstudio ID
            self.model.show_milestone(spec)
            return
        if self.projects.maybe_open_project(spec):
            return
        arch = load_model(spec)
        self.model.open_architecture(arch, "project", origin=arch.meta.get("id"), path=spec)
        self.show_status(f"Opened {spec}")

    def open_model_dialog(self):
        from studio._qt.dialogs.folders import remember, start_dir
        path, _ = QFileDialog.getOpenFileName(self, "Open architecture", start_dir("model"),
                                              "Models (*.yaml *.yml *.json);;Hugging Face config.json (*.json);;All files (*)")
        remember("model", path)
        if path:
            try:
                self.open_model(path)
            except StudioError as exc:
                QMessageBox.warning(self, "Cannot open", str(exc))

    def export_diagram(self):
        from studio._qt.graph.scene_image import save_scene
        d = self.model.document
        title = d.milestone_id or d.title or "diagram"
        from studio._qt.dialogs.folders import remember, start_dir
        path, _ = QFileDialog.getSaveFileName(self, "Export diagram", start_dir("diagram", f"{title}.png"),
                                              "PNG image (*.png);;SVG drawing (*.svg)")
        remember("diagram", path)
        if path:
            try:
                save_scene(self.graph_view.graph_scene, path)
                self.show_status(f"Saved {path}")
            except (OSError, StudioError) as exc:
                QMessageBox.warning(self, "Cannot export", str(exc))

    def open_compare(self):
        """Compare mode, with what is on screen on the right: a milestone against the model it
        builds on, an edited copy (or a project branched from a milestone) against that milestone."""
        import shiboken6

        from studio._qt.present.compare import CompareDialog
        old = getattr(self, "compare_dialog", None)
        if old is not None and shiboken6.isValid(old):
            old.close()  # one Compare at a time; it deletes itself on close
        tl, d = self.model.timeline, self.model.document
        left = self.model.figures.change().since if d.is_milestone else d.origin  # the model it builds on
        right = d.milestone_id  # None: the document on screen (an edited copy, a project, a run)
        self.compare_dialog = CompareDialog(self.model, left or (tl.ids[0] if tl.ids else None), right, self.theme, self)
        self.compare_dialog.show()
        return self.compare_dialog

    def show_about(self):
        QMessageBox.about(self, "About LLM Architecture Studio", ABOUT.format(version=__version__))

    def show_shortcuts(self):
        QMessageBox.information(self, "Keyboard shortcuts", "\n".join(shortcut_lines(self)))

    # ------------------------------------------------------------------ state
    def _update_title(self):
        d = self.model.document
        title = d.title
        # "[*]" is where Qt shows the changed-document marker (setWindowModified)
        self.setWindowTitle(f"{title}[*] — LLM Architecture Studio" if title else "LLM Architecture Studio[*]")
        self.setWindowModified(self.projects.dirty)
        self.title_label.setText(f"{title} · {d.scale} scale")
        self.reset_action.setEnabled(d.kind == "edited")

    def _after_first_paint(self):
        QTimer.singleShot(0, self, self.hide_stale_tab_bars)  # laid out now: the stale copies are told apart
        if self._defer_optional:
            QTimer.singleShot(0, self, self._build_deferred)
        else:
            self._size_bottom_docks(self.settings.value("windowState") is None)
        QTimer.singleShot(150, self, self._warm_timer.start)

    def _build_deferred(self):
        try:
            self._build_helpers()
            self._build_run_docks()
        except Exception as exc:  # noqa: BLE001  a broken panel must not stop the app: the graph works without it
            self.show_status(f"Training and inspection panels could not start: {exc}", 15000)
        state = self.settings.value("windowState")  # docks added now: give them their saved places
        if state is not None:
            self.restoreState(state)
        self._size_bottom_docks(state is None)
        self.hide_stale_tab_bars()

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
            self.model.figures.warm_one(self._warm_queue.pop(0))
            return
        self._warm_timer.stop()
        self._warm()

    def _warm(self):
        """Everything loaded and the chart built (tests and benchmarks call it directly)."""
        self._warm_queue = []
        self._warm_timer.stop()
        figures, tl = self.model.figures, self.model.timeline
        try:
            figures.warm()
            self.accounting_panel.chart.load()
            figures.llama2c_markers()  # the strip repaints with them (Figures.series_changed)
        except StudioError as exc:
            self.show_status(str(exc))
        if tl.broken:
            self.show_status(f"Skipped presets that do not load: {', '.join(sorted(tl.broken))}", 15000)

    def _restore(self):
        geo = self.settings.value("geometry")
        if geo is not None:
            self.restoreGeometry(geo)
        state = self.settings.value("windowState")
        if state is not None:
            self.restoreState(state)
            self.hide_stale_tab_bars()  # restoreState can bring Qt's stale dock tab bars back

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
        if not self.projects.confirm_close():
            event.ignore()
            return
        if self.presentation.active:
            self.presentation.toggle()
        self.save_settings()
        self.model.timeline.set_playing(False)
        if self.lesson is not None:
            self.lesson.shutdown()  # a preparing lesson or a race saves its checkpoint and stops
        super().closeEvent(event)
