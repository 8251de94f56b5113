"""Help → Offline pack…: download TinyStories and prepare the default vocabularies ahead of a class."""
from __future__ import annotations

from PySide6.QtCore import QThread, Signal
from PySide6.QtWidgets import QMessageBox, QProgressDialog


class PackWorker(QThread):
    event = Signal(str, float, object, str)  # stage, done, total or None, message
    failed = Signal(str)

    def __init__(self, subset: str = "quick", cache=None, parent=None):
        super().__init__(parent)
        self.subset, self.cache = subset, cache

    def run(self):
        from studio.core.errors import StudioError
        from studio.core.offline_pack import prepare
        try:
            for ev in prepare(self.subset, self.cache, should_cancel=self.isInterruptionRequested):
                self.event.emit(ev.stage, float(ev.done), ev.total, ev.message)
        except StudioError as exc:
            self.failed.emit(str(exc))


class OfflinePackDialog(QProgressDialog):
    def __init__(self, parent=None, subset: str = "quick", cache=None):
        super().__init__("Preparing the offline pack…", "Cancel", 0, 100, parent)
        self.setWindowTitle("Offline pack")
        self.setMinimumDuration(0)
        self.setAutoClose(False)
        self.setAutoReset(False)
        self.setMinimumWidth(480)
        self.message = ""
        self.error: str | None = None
        self.worker = PackWorker(subset, cache, self)
        self.worker.event.connect(self._event)
        self.worker.failed.connect(self._failed)
        self.canceled.connect(self.worker.requestInterruption)
        self.worker.finished.connect(self._finished)

    def start(self):
        self.worker.start()

    def _event(self, stage, done, total, message):
        self.message = message
        if stage == "download" and total:
            self.setValue(int(60 * done / total))
        elif stage == "tokenizer" and total:
            self.setValue(60 + int(40 * done / total))
        elif stage == "done":
            self.setValue(100)
        self.setLabelText(message)

    def _failed(self, msg):
        self.error = msg

    def _finished(self):
        self.worker.wait()
        (self.reject if self.error else self.accept)()

    def shutdown(self):
        self.worker.requestInterruption()
        self.worker.wait(10_000)


def run_offline_pack(window) -> None:
    dlg = OfflinePackDialog(window)
    dlg.start()
    dlg.exec()
    if dlg.error:
        QMessageBox.warning(window, "Offline pack", dlg.error)
    else:
        QMessageBox.information(window, "Offline pack", dlg.message)
    window.show_status(dlg.error or dlg.message)
    if hasattr(window, "refresh_data_status"):
        window.refresh_data_status()
