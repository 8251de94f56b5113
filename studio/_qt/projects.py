"""Project files in the window: New / Open / Save / Save As / Recent, the changed-document
marker, the save prompt on close, autosave to a recovery file after a few idle seconds and the
offer to recover after a crash. Files are written atomically by studio.core.project."""
from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QObject, QTimer
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QFileDialog, QMessageBox

from studio.core.errors import StudioError
from studio.core.project import (Project, discard_recovery, load_project, load_recovery, recoveries, recovery_dir,
                                 recovery_path, save_project, write_recovery)

FILTER = "Architecture Studio project (*.archproj.yaml *.yaml);;All files (*)"
AUTOSAVE_IDLE_MS = int(os.environ.get("ARCHSTUDIO_AUTOSAVE_MS", "3000"))
MAX_RECENT = 8


def _recovery_folder() -> Path:
    env = os.environ.get("ARCHSTUDIO_RECOVERY_DIR")
    return Path(env) if env else recovery_dir()


class ProjectController(QObject):
    def __init__(self, window, editor):
        super().__init__(window)
        self.win, self.editor, self.model = window, editor, window.timeline_model
        self.path: Path | None = None
        self.training: dict = {}
        self.latest_run: str | None = None
        self._saved_version = self.model.version
        self.session = f"{os.getpid()}"
        self.autosave = QTimer(self)
        self.autosave.setSingleShot(True)
        self.autosave.setInterval(AUTOSAVE_IDLE_MS)
        self.autosave.timeout.connect(self.write_recovery)
        editor.edit_done.connect(self._on_edit)
        self.model.edited_changed.connect(lambda _e: self._update())
        window.project_controller = self
        self._build_menu()

    # ------------------------------------------------------------------ state
    @property
    def dirty(self) -> bool:
        return self.model.version != self._saved_version and (self.model.is_edited() or self.model.external is not None)

    def _on_edit(self):
        self.autosave.start()  # restarts: writes after AUTOSAVE_IDLE_MS without edits
        self._update()

    def _update(self):
        self.win._update_title()
        self.win.setWindowModified(self.dirty)

    def project(self) -> Project:
        m = self.model
        origin = m.current_id if m.external is None else m.arch.meta.get("id") if m.arch.meta.get("id") in m.ids else None
        return Project(m.arch, origin, m.title(), dict(self.training), self.latest_run, self.path)

    # ------------------------------------------------------------------ menu
    def _build_menu(self):
        f, w = self.win.menu("File"), self.win
        first = f.actions()[0] if f.actions() else None
        acts = [
            w._action(f, "&New project", self.new, QKeySequence.New, "Start again from the current milestone"),
            w._action(f, "&Open project…", self.open_dialog, QKeySequence.Open, "Open a project file"),
        ]
        self.recent_menu = f.addMenu("Open &recent")
        acts.append(self.recent_menu.menuAction())
        acts += [w._action(f, "&Save", self.save, QKeySequence.Save, "Save the project"),
                 w._action(f, "Save &as…", self.save_as, QKeySequence("Ctrl+Shift+S"), "Save under a new name")]
        for a in acts:
            f.removeAction(a)
            f.insertAction(first, a)
        f.insertSeparator(first)
        self._fill_recent()

    def _recent(self) -> list[str]:
        v = self.win.settings.value("recent", []) or []
        return [v] if isinstance(v, str) else list(v)

    def _add_recent(self, path: Path):
        items = [str(path)] + [p for p in self._recent() if p != str(path)]
        self.win.settings.setValue("recent", items[:MAX_RECENT])
        self._fill_recent()

    def _fill_recent(self):
        self.recent_menu.clear()
        for p in self._recent():
            a = self.recent_menu.addAction(Path(p).name)
            a.setToolTip(p)
            a.triggered.connect(lambda _c=False, p=p: self.open(p))
        self.recent_menu.setEnabled(bool(self._recent()))

    # ------------------------------------------------------------------ actions
    def new(self):
        if not self.confirm_discard():
            return
        idx = max(0, self.model.index)
        self.model.discard_custom()
        self.path, self.training, self.latest_run = None, {}, None
        self.model.index = -1  # force a reload of the canonical milestone
        self.model.set_index(idx)
        self.model.edited_changed.emit(False)
        self._mark_saved()

    def open_dialog(self):
        path, _ = QFileDialog.getOpenFileName(self.win, "Open project", "", FILTER)
        if path:
            self.open(path)

    def open(self, path) -> bool:
        """Open a project; a malformed or future-version file leaves the current work untouched."""
        try:
            proj = load_project(path)
        except StudioError as exc:
            QMessageBox.warning(self.win, "Cannot open project", str(exc))
            self.win.show_status(str(exc))
            return False
        if not self.confirm_discard():
            return False
        self._show(proj)
        self.path = Path(path)
        self._add_recent(self.path)
        self._mark_saved()
        self.win.show_status(f"Opened {path}")
        return True

    def maybe_open_project(self, spec: str) -> bool:
        p = Path(spec)
        if p.is_file():
            from studio.core.yamlio import read_yaml
            try:
                data = read_yaml(p)
            except StudioError:
                return False
            if data.get("kind") == "project":
                return self.open(p)
        return False

    def _show(self, proj: Project):
        self.training, self.latest_run = dict(proj.training), proj.latest_run
        self.model.set_custom(proj.origin, proj.architecture)

    def save(self) -> bool:
        return self.save_to(self.path) if self.path else self.save_as()

    def save_as(self) -> bool:
        name = (self.model.current_id or "model") + ".archproj.yaml"
        path, _ = QFileDialog.getSaveFileName(self.win, "Save project", name, FILTER)
        return self.save_to(Path(path)) if path else False

    def save_to(self, path) -> bool:
        try:
            save_project(self.project(), path)
        except (StudioError, OSError) as exc:
            QMessageBox.warning(self.win, "Cannot save", str(exc))
            return False
        self.path = Path(path)
        self._add_recent(self.path)
        self._mark_saved()
        self.win.show_status(f"Saved {path}")
        return True

    def _mark_saved(self):
        self._saved_version = self.model.version
        self.autosave.stop()
        discard_recovery(self.recovery_file())
        self._update()

    # ------------------------------------------------------------------ recovery
    def recovery_file(self) -> Path:
        return recovery_path(self.path, _recovery_folder(), self.session)

    def write_recovery(self):
        if not self.dirty:
            return
        try:
            write_recovery(self.project(), self.recovery_file())
        except (OSError, StudioError) as exc:
            self.win.show_status(f"Autosave failed: {exc}")

    def offer_recovery(self, ask=None) -> bool:
        """At start-up: if a crashed session left recovery files, offer the newest one."""
        set_aside: list = []
        found = [r for r in recoveries(_recovery_folder(), set_aside)
                 if not r.path.name.endswith(f"{self.session}.recovery.yaml")]
        if set_aside:  # damaged autosaves are moved aside once, and said so, instead of failing every start
            moved, why = set_aside[0]
            self.win.statusBar().showMessage(  # not modal: start-up goes on
                f"A damaged autosave was moved aside{f' to {moved}' if moved else ''}: {why[:200]}", 20000)
        if not found:
            return False
        rec = found[0]
        what = rec.name or "an unsaved model"
        ask = ask or (lambda: QMessageBox.question(
            self.win, "Recover unsaved work?",
            f"The app did not close cleanly. Recover the autosaved copy of “{what}”?") == QMessageBox.Yes)
        if not ask():
            for r in found:
                discard_recovery(r.path)
            return False
        try:
            proj = load_recovery(rec)
        except StudioError as exc:
            QMessageBox.warning(self.win, "Cannot recover", str(exc))
            return False
        self._show(proj)
        self.path = proj.path
        discard_recovery(rec.path)
        self.model.touch()  # recovered work is unsaved work
        self._update()
        self.autosave.start()
        return True

    # ------------------------------------------------------------------ closing
    def confirm_discard(self) -> bool:
        if not self.dirty:
            return True
        r = QMessageBox.question(self.win, "Unsaved changes", "Save the changes to the current model first?",
                                 QMessageBox.Save | QMessageBox.Discard | QMessageBox.Cancel)
        if r == QMessageBox.Save:
            return self.save()
        return r == QMessageBox.Discard

    def confirm_close(self) -> bool:
        if not self.confirm_discard():
            return False
        self.autosave.stop()
        discard_recovery(self.recovery_file())  # a clean exit leaves nothing to recover
        return True
