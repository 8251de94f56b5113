"""Downloading TinyStories from the GUI: the core ``download_job`` on the one generic worker,
shown in a cancellable progress dialog."""
from __future__ import annotations

from PySide6.QtWidgets import QProgressDialog

from studio._qt.worker import Worker, start_job
from studio.core.jobs.download import DownloadProgress, Downloaded, download_job


class DownloadDialog(QProgressDialog):
    """Shows bytes received; Cancel stops the worker (the partial file stays for a later resume)."""

    def __init__(self, subset: str, parent=None, cache=None):
        from studio.core.data import download as dl
        sub = dl.SUBSETS[subset]
        super().__init__(f"Downloading TinyStories {subset}: {sub.what}…", "Cancel", 0, 1000, parent)
        self.setWindowTitle("Download TinyStories")
        self.setMinimumDuration(0)
        self.setAutoClose(False)
        self.setAutoReset(False)
        self.result_path: str | None = None
        self.error: str | None = None
        self._job = lambda control: download_job(subset, cache, control)
        self.worker: Worker | None = None
        self.canceled.connect(self.cancel_download)
        self._label = self.labelText()

    def start(self) -> None:
        self.worker = start_job(self._job, name="archstudio-download", what="the download", parent=self,
                                on_event=self._event, on_failed=self._failed, on_ended=self._ended)

    def cancel_download(self) -> None:
        if self.worker is not None:
            self.worker.stop()

    def _event(self, ev):
        if isinstance(ev, Downloaded):
            self.result_path = ev.path
        elif isinstance(ev, DownloadProgress):
            done, total = ev.done, ev.total
            if total:
                self.setValue(int(1000 * done / total))
                self.setLabelText(f"{self._label}\n{done / 1e6:,.1f} of {total / 1e6:,.1f} MB")
            else:
                self.setLabelText(f"{self._label}\n{done / 1e6:,.1f} MB")

    def _failed(self, msg: str):
        self.error = msg

    def _ended(self):
        self.worker = None
        if self.result_path:
            self.accept()
        else:
            self.reject()

    def shutdown(self) -> None:
        if self.worker is not None:
            self.worker.shutdown(10_000)
