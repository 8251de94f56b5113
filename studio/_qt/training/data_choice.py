"""The Training panel's choice of what to train on (mixed into TrainingPanel): the downloaded
TinyStories subsets, the starter corpus, a local file, the download itself, the attribution line
for what is chosen, and the choice remembered across starts (QSettings)."""
from __future__ import annotations

import os

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QFileDialog

from studio.core.data.download import ATTRIBUTION, cached_path
from studio.core.data.starter import LABEL as STARTER_LABEL

DATA_KEY = "training/data"  # QSettings: what the user last chose to train on


def data_choices() -> list[tuple[str, str]]:
    """(label, data spec) a lesson or a race can train on: the downloaded TinyStories subsets, the file the
    Training dock trains on (so both say the same bits per byte), the starter corpus."""
    out = [(f"TinyStories {sub} (downloaded)", sub) for sub in ("quick", "full") if cached_path(sub)]
    saved = QSettings().value(DATA_KEY)
    if isinstance(saved, str) and saved not in ("quick", "full", "starter") and os.path.isfile(saved):
        out.append((f"File: {os.path.basename(saved)} (as in Training)", saved))
    out.append(("Starter corpus (generated; not TinyStories)", "starter"))
    return out


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class DataChoiceMixin:
    """Needs from the panel: ``data`` (QComboBox), ``attribution`` and ``status`` (QLabel),
    ``local_path`` (str or None)."""

    def refresh_data_choices(self) -> None:
        keep = self.data.currentData()
        self.data.blockSignals(True)
        self.data.clear()
        for sub in ("quick", "full"):
            if cached_path(sub):
                self.data.addItem(f"TinyStories {sub} (downloaded)", sub)
        self.data.addItem("Starter corpus (generated; not TinyStories)", "starter")
        if not cached_path("quick"):
            self.data.addItem("Download TinyStories quick (≈19 MB)…", "download:quick")
        if self.local_path:
            self.data.addItem(f"File: {os.path.basename(self.local_path)}", self.local_path)
        self.data.addItem("Local file (.txt / .json / .jsonl)…", "choose")
        i = self.data.findData(keep) if keep else -1
        self.data.setCurrentIndex(i if i >= 0 else 0)
        self.data.blockSignals(False)
        self.data.setMinimumWidth(min(self.data.sizeHint().width(), 420))  # whole names (a long file name: capped)
        self._show_attribution()

    def _restore_data_choice(self) -> None:
        """What the user trained on last time: a download still cached, the starter corpus, or a
        local file that still exists (else the first choice, as on a first start)."""
        saved = QSettings().value(DATA_KEY)
        if not isinstance(saved, str) or not saved:
            return
        if saved not in ("quick", "full", "starter"):
            if not os.path.isfile(saved):
                return
            self.local_path = saved
            self.refresh_data_choices()
        i = self.data.findData(saved)
        if i >= 0:
            self.data.blockSignals(True)
            self.data.setCurrentIndex(i)
            self.data.blockSignals(False)
            self._show_attribution()

    def _remember_data_choice(self) -> None:
        spec = self.data_spec()
        if spec and spec != "choose" and not spec.startswith("download:"):
            QSettings().setValue(DATA_KEY, spec)

    def data_spec(self) -> str:
        return self.data.currentData()

    def data_label(self) -> str:
        spec = self.data_spec()
        if spec == "starter":
            return STARTER_LABEL
        if spec in ("quick", "full"):
            return f"TinyStories {spec} (CDLA-Sharing-1.0)"
        return str(spec)

    def _show_attribution(self) -> None:
        """Describe what is chosen now: TinyStories' attribution only for TinyStories."""
        spec = self.data_spec()
        if spec == "starter":
            self.attribution.setText(f"<i>{STARTER_LABEL}.</i> Download TinyStories for real stories.")
        elif spec in ("quick", "full") or (spec or "").startswith("download:"):
            self.attribution.setText(f"<small>{ATTRIBUTION}.</small>")
        elif spec == "choose":
            self.attribution.setText("<small>Choose a text file of your own (.txt, .json or .jsonl).</small>")
        else:
            name = _html(os.path.basename(str(spec)))
            self.attribution.setText(f"<small>Your file <b>{name}</b> (not TinyStories): the model learns "
                                     "whatever text it holds.</small>")

    def _data_changed(self, _i) -> None:
        spec = self.data_spec()
        if spec == "choose":
            from studio._qt.dialogs.folders import remember, start_dir
            path, _ = QFileDialog.getOpenFileName(self, "Training text", start_dir("training-text"),
                                                  "Stories (*.txt *.json *.jsonl)")
            remember("training-text", path)
            if path:
                self.local_path = path
                self.refresh_data_choices()
                self.data.setCurrentIndex(self.data.findData(path))
            else:
                self.data.setCurrentIndex(0)
        elif spec and spec.startswith("download:"):
            self.download(spec.split(":", 1)[1])
            self._show_attribution()
            self._remember_data_choice()
            return
        if getattr(self, "_download_said", False):  # a download's error or news is about another choice
            self._download_said = False
            self.status.setText("")
        self._show_attribution()
        self._remember_data_choice()

    def download(self, subset: str) -> bool:
        from studio._qt.training.download import DownloadDialog
        dlg = DownloadDialog(subset, self)
        self.download_dialog = dlg
        dlg.start()
        dlg.exec()
        self.download_dialog = None
        ok = bool(dlg.result_path)
        self.refresh_data_choices()
        if ok:
            self.data.setCurrentIndex(self.data.findData(subset))
        self.status.setText(f"Downloaded TinyStories {subset} to {dlg.result_path}" if ok else
                            (dlg.error or "Download cancelled; it resumes where it stopped next time"))
        self._download_said = True  # until another choice is made
        return ok
