"""Downloading TinyStories from the GUI: a worker thread and a cancellable progress dialog."""
from __future__ import annotations

from PySide6.QtCore import QThread, Signal
from PySide6.QtWidgets import QProgressDialog

from studio.core import errors as E


class DownloadWorker(QThread):
    progress = Signal(object, object)  # done bytes, total bytes or None (64-bit safe)
    done = Signal(str)                 # the cached path
    failed = Signal(str)

    def __init__(self, subset: str, cache=None, parent=None):
        super().__init__(parent)
        self.subset, self.cache = subset, cache

    def run(self):
        from studio.core.data import download as dl
        try:
            path = dl.download(self.subset, self.cache, progress=self.progress.emit,
                               should_cancel=self.isInterruptionRequested)
            self.done.emit(str(path))
        except E.StudioError as exc:
            self.failed.emit(str(exc))


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
        self.worker = DownloadWorker(subset, cache, self)
        self.worker.progress.connect(self._progress)
        self.worker.done.connect(self._done)
        self.worker.failed.connect(self._failed)
        self.canceled.connect(self.worker.requestInterruption)
        self.worker.finished.connect(self._finished)
        self._label = self.labelText()

    def start(self) -> None:
        self.worker.start()

    def _progress(self, done, total):
        if total:
            self.setValue(int(1000 * done / total))
            self.setLabelText(f"{self._label}\n{done / 1e6:,.1f} of {total / 1e6:,.1f} MB")
        else:
            self.setLabelText(f"{self._label}\n{done / 1e6:,.1f} MB")

    def _done(self, path: str):
        self.result_path = path

    def _failed(self, msg: str):
        self.error = msg

    def _finished(self):
        self.worker.wait()
        if self.result_path:
            self.accept()
        else:
            self.reject()

    def shutdown(self) -> None:
        self.worker.requestInterruption()
        self.worker.wait(10_000)
