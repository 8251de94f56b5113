"""File → Add to timeline… and File → Remove from timeline: your own milestones.

The dialog takes a milestone YAML (its card is in the file) or a Hugging Face config.json, for
which it asks the card: title, date, org, one-line innovation, source link, and optionally the
milestone it builds on. The first problem is shown under the form in one line and the Add button
waits for a good card; a file the core refuses says its one line there too and nothing is added.
The timeline (studio.core.state.Timeline) does the work; the strip and the card follow its events.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QGroupBox,
                               QHBoxLayout, QLabel, QLineEdit, QMessageBox, QPushButton, QToolButton, QVBoxLayout)

from studio.core.errors import StudioError
from studio.core.files.milestone_card import Card

FAMILY = "(its family's milestone)"


class AddMilestoneDialog(QDialog):
    """Pick a file; for a config.json fill in the card. ``added_id`` is set once it is on the timeline."""

    def __init__(self, timeline, parent=None):
        super().__init__(parent)
        self.timeline, self.added_id = timeline, None
        self.setWindowTitle("Add to timeline")
        self.setMinimumWidth(520)
        lay = QVBoxLayout(self)
        intro = QLabel("A milestone YAML (the presets' format) or a Hugging Face config.json. "
                       "It joins the timeline in date order, marked as yours, and stays after a restart.", self)
        intro.setWordWrap(True)
        lay.addWidget(intro)
        row = QHBoxLayout()
        self.path_edit = QLineEdit(self)
        self.path_edit.setPlaceholderText("path to a .yaml or a config.json")
        self.path_edit.setAccessibleName("Milestone file")
        self.browse_btn = QPushButton("&Browse…", self)
        self.browse_btn.setAutoDefault(False)
        self.browse_btn.clicked.connect(self.browse)
        row.addWidget(self.path_edit, 1)
        row.addWidget(self.browse_btn)
        lay.addLayout(row)
        self.kind_label = QLabel(self)
        self.kind_label.setWordWrap(True)
        lay.addWidget(self.kind_label)
        self.card_box = QGroupBox("Card of the config.json", self)
        form = QFormLayout(self.card_box)
        self.fields = {}
        for key, label, hint in (("title", "&Title", "the name on the timeline"), ("date", "&Date", "YYYY-MM or YYYY-MM-DD"),
                                 ("org", "&Org", "who made it"),
                                 ("innovation", "&Innovation", "what it changed, in one line"),
                                 ("source", "&Source", "https://… (paper or model card)")):
            e = QLineEdit(self.card_box)
            e.setPlaceholderText(hint)
            e.setAccessibleName(label.replace("&", ""))
            e.textChanged.connect(self.check)
            form.addRow(label, e)
            self.fields[key] = e
        self.builds_on = QComboBox(self.card_box)
        self.builds_on.addItem(FAMILY, "")
        for i in timeline.infos:
            if i.group == "milestone":
                self.builds_on.addItem(f"{i.title} ({i.date})", i.id)
        form.addRow("&Builds on", self.builds_on)
        lay.addWidget(self.card_box)
        self.problem = QLabel(self)
        self.problem.setWordWrap(True)
        self.problem.setAccessibleName("Problem")
        lay.addWidget(self.problem)
        self.buttons = QDialogButtonBox(QDialogButtonBox.Cancel, self)
        self.add_btn = self.buttons.addButton("&Add to timeline", QDialogButtonBox.AcceptRole)
        self.add_btn.setDefault(True)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        lay.addWidget(self.buttons)
        self.path_edit.textChanged.connect(self.check)
        self.check()

    def browse(self):
        from studio._qt.dialogs.folders import existing_or, remember
        path, _ = QFileDialog.getOpenFileName(self, "Add to timeline", existing_or(self.path_edit.text(), "milestone"),
                                              "Milestones (*.yaml *.yml *.json);;All files (*)")
        remember("milestone", path)
        if path:
            self.path_edit.setText(path)

    def is_config(self) -> bool:
        from studio.core.formats.hf_config.build import find_config
        p = Path(self.path_edit.text().strip())
        return p.is_file() and find_config(p) is not None

    def card(self) -> Card:
        f = {k: e.text() for k, e in self.fields.items()}
        return Card(f["title"], f["date"], f["org"], f["innovation"], f["source"], self.builds_on.currentData() or "")

    def check(self) -> str:
        """The first problem ('' when the file can be tried), shown in one line; Add waits for it."""
        text = self.path_edit.text().strip()
        config = self.is_config()
        self.card_box.setEnabled(config)
        if config and not self.fields["title"].text():  # the model's folder names it ("Qwen3-4B/config.json")
            p = Path(text)
            self.fields["title"].setText(p.parent.name if p.name == "config.json" else p.stem)
        if not text:
            problem = "Choose a file."
        elif not Path(text).is_file():
            problem = f"No such file: {text}"
        else:
            problem = next(iter(self.card().problems()), "") if config else ""
        self.kind_label.setText("A Hugging Face config.json: fill in its card below." if config else
                                "A milestone YAML: its title, date and lineage are in the file." if text else "")
        self._say(problem[:1].upper() + problem[1:] if problem else "")
        self.add_btn.setEnabled(not problem)
        return problem

    def _say(self, line: str):
        self.problem.setText(line)
        self.problem.setStyleSheet("color: #D55E00" if line else "")

    def accept(self):
        if self.check():
            return
        try:
            self.added_id = self.timeline.add_user(self.path_edit.text().strip(), self.card() if self.is_config() else None)
        except StudioError as exc:  # the core's one line; nothing was written
            self._say(str(exc).splitlines()[0])
            return
        super().accept()


class UserMilestoneActions:
    """The File menu's two actions on the window's model; the start-up line for files set aside."""

    def __init__(self, window, file_menu):
        self.window, self.model = window, window.model
        self.dialog = self.confirm = self.set_aside_button = None
        self.add_action = file_menu.addAction("Add to &timeline…")
        self.add_action.setStatusTip("Add your own milestone: a milestone YAML, or a Hugging Face config.json with a card")
        self.add_action.triggered.connect(lambda _c=False: self.open_add())
        self.remove_action = file_menu.addAction("Remo&ve from timeline…")
        self.remove_action.setStatusTip("Take the milestone you added off the timeline (its file is deleted)")
        self.remove_action.triggered.connect(lambda _c=False: self.ask_remove())
        tl = self.model.timeline
        tl.index_changed.connect(lambda _i: self._follow())
        tl.entries_changed.connect(self._follow)
        self._follow()
        if tl.set_aside:
            QTimer.singleShot(0, self.say_set_aside)

    def current_user_id(self) -> str | None:
        pid = self.model.document.milestone_id
        return pid if self.model.timeline.is_user(pid) else None

    def _follow(self):
        self.remove_action.setEnabled(self.current_user_id() is not None)

    def say_set_aside(self):
        """One status line now, and a button that stays in the status bar (later messages would
        hide the line) until its list of files and reasons has been read."""
        bad = self.model.timeline.set_aside
        more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
        self.window.show_status(f"Skipped your milestone file {bad[0].line()}{more}", 20000)
        btn = self.set_aside_button = QToolButton(self.window)
        btn.setText(f"⚠ {bad[0].name} set aside" if len(bad) == 1 else f"⚠ {len(bad)} milestone files set aside")
        btn.setToolTip("\n".join(b.line() for b in bad))
        btn.setAutoRaise(True)
        btn.clicked.connect(self.show_set_aside)
        self.window.statusBar().addPermanentWidget(btn)

    def show_set_aside(self) -> QMessageBox:
        from studio.core.files.user_milestones import REJECTED, folder
        bad = self.model.timeline.set_aside
        box = QMessageBox(QMessageBox.Warning, "Milestone files set aside",
                          "The timeline loaded without these files of yours:\n\n" + "\n".join(f"• {b.line()}" for b in bad)
                          + f"\n\nThey are in {folder() / REJECTED}; fix one and move it back, or add it with "
                          "File → Add to timeline….", QMessageBox.Ok, self.window)
        box.finished.connect(lambda _r: self.set_aside_button.hide())
        box.open()
        return box

    def open_add(self) -> AddMilestoneDialog:
        dlg = self.dialog = AddMilestoneDialog(self.model.timeline, self.window)
        dlg.accepted.connect(lambda: self._added(dlg.added_id))
        dlg.open()
        return dlg

    def _added(self, mid: str | None):
        if mid:
            self.model.show_milestone(mid)
            self.window.show_status(f"Added {self.model.timeline.info(mid).title} to the timeline "
                                    "(marked ◆ as yours; File → Remove from timeline takes it off)")

    def ask_remove(self) -> QMessageBox | None:
        mid = self.current_user_id()
        if mid is None:
            return None
        title = self.model.timeline.info(mid).title
        box = self.confirm = QMessageBox(QMessageBox.Question, "Remove from timeline",
                                         f"Remove your milestone “{title}” from the timeline? Its file is deleted "
                                         f"from your milestones folder.", QMessageBox.Cancel, self.window)
        box.addButton("Remove", QMessageBox.DestructiveRole)
        box.setDefaultButton(QMessageBox.Cancel)
        box.finished.connect(lambda _r: self._removed(mid, title)
                             if box.buttonRole(box.clickedButton()) == QMessageBox.DestructiveRole else None)
        box.open()
        return box

    def _removed(self, mid: str, title: str):
        try:
            self.model.timeline.remove_user(mid)
        except StudioError as exc:
            self.window.show_status(f"Cannot remove {title}: {str(exc).splitlines()[0]}", 15000)
            return
        self.window.show_status(f"Removed {title} from the timeline")
