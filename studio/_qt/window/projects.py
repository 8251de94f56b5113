"""Project files in the window: New / Open / Save / Save As / Recent, the changed-document
marker, the save prompt on close, autosave to a recovery file after a few idle seconds and the
offer to recover after a crash. Files are written atomically by studio.core.files.project."""
from __future__ import annotations

import os
import re
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QFileDialog, QMessageBox

from studio.core.errors import StudioError
from studio.core.files.project import (Project, discard_recovery, load_project, load_recovery, placed, recoveries,
                                       recovery_dir, recovery_path, save_project, write_recovery)

FILTER = "Architecture Studio project (*.archproj.yaml *.yaml);;All files (*)"
AUTOSAVE_IDLE_MS = int(os.environ.get("ARCHSTUDIO_AUTOSAVE_MS", "3000"))
MAX_RECENT = 8


def _recovery_folder() -> Path:
    env = os.environ.get("ARCHSTUDIO_RECOVERY_DIR")
    return Path(env) if env else recovery_dir()


class ProjectController(QObject):
    """Project files and the session's documents for the window (``window``: menus, settings,
    status line and the parent of dialogs). Every document that is not a published milestone
    is listed under File → Models this session and stays unsaved work until it is saved."""
    dirty_changed = Signal(bool)

    def __init__(self, model, window):
        super().__init__(window)
        self.win, self.model, self.document = window, model, model.document
        self.training: dict = {}  # the training panel's settings, saved with the project
        self._latest_run: str | None = None
        self._saved: dict[str, int] = {}  # document key -> version last saved (or opened)
        self.session = f"{os.getpid()}"
        self._recovery_written: dict[str, Path] = {}  # document key -> the recovery file written for it
        self.autosave = QTimer(self)
        self.autosave.setSingleShot(True)
        self.autosave.setInterval(AUTOSAVE_IDLE_MS)
        self.autosave.timeout.connect(self.write_recovery)
        self.document.changed.connect(self._on_edit)
        self.document.replaced.connect(self._on_replaced)
        self._was_dirty = None
        self.document.listed.connect(self._fill_documents)
        self._build_menu()

    # ------------------------------------------------------------------ state
    @property
    def path(self) -> Path | None:
        return self.document.path

    @property
    def latest_run(self) -> str | None:
        """The run that belongs to the document on screen (what a saved project records)."""
        rd = self.model.run.run_dir
        return str(rd) if rd is not None else self._latest_run

    @latest_run.setter
    def latest_run(self, value):
        self._latest_run = str(value) if value else None

    def record_run(self, info: dict) -> None:
        """A training run got its folder: the project records it (and its settings) from now on."""
        if info.get("run_dir"):
            self._latest_run = str(info["run_dir"])
        if isinstance(info.get("training"), dict):
            self.training = dict(info["training"])

    def is_dirty(self, entry) -> bool:
        if entry is None or entry.kind == "milestone":
            return False
        return entry.version != self._saved.get(entry.key, -1)

    @property
    def dirty(self) -> bool:
        return self.is_dirty(self.document.entry)

    def unsaved(self) -> list:
        return [e for e in self.document.opened.values() if self.is_dirty(e)]

    def _on_edit(self, _version=None):
        if self.dirty:
            self.autosave.start()  # restarts: writes after AUTOSAVE_IDLE_MS without edits
        self._update()

    def _on_replaced(self):
        e = self.document.entry
        if e is not None and e.kind in ("project", "imported") and e.key not in self._saved:
            self._saved[e.key] = e.version  # as it is on disk: a file or a run folder
        self._update()

    def _update(self):
        dirty = self.dirty
        if dirty != self._was_dirty:  # the "*" after a listed model's name
            self._was_dirty = dirty
            self._fill_documents()
        self.dirty_changed.emit(dirty)

    def _mark_saved(self):
        e = self.document.entry
        if e is not None:
            self._saved[e.key] = e.version
        self.autosave.stop()
        self._discard_recoveries([e.key] if e is not None else [])
        self._update()

    def project(self) -> Project:
        """The document as it is saved: with every block's place on screen (positions are part
        of the document; the automatic layout of a reopened file would differ)."""
        d = self.document
        arch = placed(d.architecture, self.win.graph_view.graph_scene.current_layout().pos)
        return Project(arch, d.origin, d.title, dict(self.training), self.latest_run, d.path)

    # ------------------------------------------------------------------ menu
    def _build_menu(self):
        f, w = self.win.menu("File"), self.win
        first = f.actions()[0] if f.actions() else None
        acts = [
            w._action(f, "&New project", self.new, QKeySequence.New,
                      "Close the edited and opened models and start again from the published milestone"),
            w._action(f, "&Open project…", self.open_dialog, QKeySequence.Open, "Open a project file"),
        ]
        self.recent_menu = f.addMenu("Open &recent")
        self.documents_menu = f.addMenu("&Models this session")
        self.documents_menu.setToolTipsVisible(True)
        acts += [self.recent_menu.menuAction(), self.documents_menu.menuAction()]
        acts += [w._action(f, "&Save", self.save, QKeySequence.Save, "Save the project"),
                 w._action(f, "Save &as…", self.save_as, QKeySequence("Ctrl+Shift+S"), "Save under a new name")]
        for a in acts:
            f.removeAction(a)
            f.insertAction(first, a)
        f.insertSeparator(first)
        self._fill_recent()
        self._fill_documents()

    def _fill_documents(self):
        """Edited copies, projects and imported runs of this session: click one to show it again."""
        self.documents_menu.clear()
        for key, entry in self.document.opened.items():
            a = self.documents_menu.addAction(entry.title + (" *" if self.is_dirty(entry) else ""))
            a.setToolTip({"edited": "An edited copy (the published milestone is unchanged)",
                          "project": f"Project {entry.path or ''}", "imported": f"Imported run {entry.run_dir or ''}"
                          }.get(entry.kind, entry.kind))
            a.triggered.connect(lambda _c=False, k=key: self.model.reopen(k))
        self.documents_menu.setEnabled(bool(self.document.opened))

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
        if not self.confirm_discard(all_documents=True):
            return
        d = self.document
        origin = d.milestone_id or d.origin
        self.training, self._latest_run = {}, None
        for e in list(d.opened.values()):
            self.model.run.forget(e.key)
        d.close_all_listed()
        tl = self.model.timeline
        self.model.show_milestone(origin if origin in tl.ids else tl.ids[max(0, tl.index or 0)])
        self._saved.clear()
        self._discard_recoveries()  # the closed models' autosaves too: their work was discarded
        self._mark_saved()

    def open_dialog(self):
        from studio._qt.dialogs.folders import remember, start_dir
        path, _ = QFileDialog.getOpenFileName(self.win, "Open project", start_dir("project"), FILTER)
        remember("project", path)
        if path:
            self.open(path)

    def open(self, path) -> bool:
        """Open a project; a malformed or future-version file leaves the current work untouched."""
        try:
            proj = load_project(path)
        except Exception as exc:  # noqa: BLE001  any damage in the file: a message, the current work stays
            from studio._qt.text import one_line
            QMessageBox.warning(self.win, "Cannot open project", one_line(exc))
            self.win.show_status(one_line(exc))
            return False
        self._show(proj, Path(path))
        self._add_recent(Path(path))
        self._mark_saved()
        self.win.show_status(f"Opened {path}")
        return True

    def maybe_open_project(self, spec: str) -> bool:
        p = Path(spec)
        if p.is_file():
            from studio.core.files.yamlio import read_yaml
            try:
                data = read_yaml(p)
            except StudioError:
                return False
            if data.get("kind") == "project":
                return self.open(p)
        return False

    def _show(self, proj: Project, path=None):
        self.training, self._latest_run = dict(proj.training), proj.latest_run
        self.model.open_architecture(proj.architecture, "project", proj.name or None, run_dir=proj.latest_run,
                                     origin=proj.origin, path=path)

    def save(self) -> bool:
        return self.save_to(self.path) if self.path else self.save_as()

    def save_as(self) -> bool:
        d = self.document
        name = re.sub(r"[^\w.-]+", "-", d.title or "model").strip("-") + ".archproj.yaml"
        from studio._qt.dialogs.folders import remember, start_dir
        path, _ = QFileDialog.getSaveFileName(self.win, "Save project", start_dir("project", name), FILTER)
        remember("project", path)
        return self.save_to(Path(path)) if path else False

    def save_to(self, path) -> bool:
        try:
            save_project(self.project(), path)
        except (StudioError, OSError) as exc:
            QMessageBox.warning(self.win, "Cannot save", str(exc))
            return False
        self.document.set_identity(path=path)
        self._add_recent(Path(path))
        self._mark_saved()
        self.win.show_status(f"Saved {path}")
        return True

    # ------------------------------------------------------------------ recovery
    def recovery_file(self) -> Path:
        """The document's recovery file: keyed by its path, an unsaved one by this session and its key."""
        return recovery_path(self.path, _recovery_folder(), f"{self.session}-{self.document.key}")

    def write_recovery(self):
        if not self.dirty:
            return
        try:
            target = write_recovery(self.project(), self.recovery_file())
        except (OSError, StudioError) as exc:
            self.win.show_status(f"Autosave failed: {exc}")
            return
        self._recovery_written[self.document.key] = target

    def _discard_recoveries(self, keys=None):
        """Delete the recovery files this session wrote (for ``keys``, else all) and the current
        document's: a file written before the first save is keyed by the session, not by the path
        the save gave it, and left behind it would offer a false recovery at the next start."""
        for key in list(self._recovery_written) if keys is None else keys:
            path = self._recovery_written.pop(key, None)
            if path is not None:
                discard_recovery(path)
        discard_recovery(self.recovery_file())

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
        except Exception as exc:  # noqa: BLE001  never retried forever: set aside with a note
            from studio._qt.text import one_line
            from studio.core.files.project import set_aside_recovery
            set_aside_recovery(rec.path, exc)
            QMessageBox.warning(self.win, "Cannot recover", one_line(exc))
            return False
        self._show(proj, proj.path)
        discard_recovery(rec.path)
        self._saved.pop(self.document.key, None)  # recovered work is unsaved work
        self._update()
        self.autosave.start()
        return True

    # ------------------------------------------------------------------ closing
    def confirm_discard(self, all_documents: bool = False) -> bool:
        """Ask before unsaved work is lost: the document on screen, or every listed one."""
        unsaved = self.unsaved() if all_documents else ([self.document.entry] if self.dirty else [])
        if not unsaved:
            return True
        names = ", ".join(e.title for e in unsaved[:3]) + (" …" if len(unsaved) > 3 else "")
        r = QMessageBox.question(self.win, "Unsaved changes", f"Save the changes to {names} first?",
                                 QMessageBox.Save | QMessageBox.Discard | QMessageBox.Cancel)
        if r == QMessageBox.Save:
            return self.save() if self.dirty else True
        return r == QMessageBox.Discard

    def confirm_close(self) -> bool:
        if not self.confirm_discard(all_documents=True):
            return False
        self.autosave.stop()
        self._discard_recoveries()  # a clean exit leaves nothing to recover
        return True
