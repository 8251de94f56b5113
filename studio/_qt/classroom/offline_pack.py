"""Help → Offline pack…: download TinyStories and prepare the default vocabularies ahead of a class.

The work is the core ``offline_pack.prepare`` job, carried by the one generic worker."""
from __future__ import annotations

from PySide6.QtWidgets import QMessageBox, QProgressDialog

from studio._qt.worker import Worker, start_job


class OfflinePackDialog(QProgressDialog):
    def __init__(self, parent=None, subset: str = "quick", cache=None, sizes: list[int] | None = None):
        from studio.core.classroom.offline_pack import prepare
        super().__init__("Preparing the offline pack…", "Cancel", 0, 100, parent)
        self.setWindowTitle("Offline pack")
        self.setMinimumDuration(0)
        self.setAutoClose(False)
        self.setAutoReset(False)
        self.setMinimumWidth(480)
        self.message = ""
        self.error: str | None = None
        self._job = lambda control: prepare(subset, cache, control, sizes)
        self.worker: Worker | None = None
        self.canceled.connect(self.cancel_pack)

    def start(self):
        self.worker = start_job(self._job, name="archstudio-offline-pack", what="the offline pack", parent=self,
                                on_event=self._event, on_failed=self._failed, on_ended=self._ended)

    def cancel_pack(self) -> None:
        if self.worker is not None:
            self.worker.stop()

    def _event(self, ev):
        from studio.core.classroom.offline_pack import PackDone, PackDownload, PackTokenizer
        self.message = ev.message
        if isinstance(ev, PackDownload) and ev.total:
            self.setValue(int(60 * ev.done / ev.total))
        elif isinstance(ev, PackTokenizer) and ev.total:
            self.setValue(60 + int(40 * ev.done / ev.total))
        elif isinstance(ev, PackDone):
            self.setValue(100)
        self.setLabelText(ev.message)

    def _failed(self, msg):
        self.error = msg

    def _ended(self):
        self.worker = None
        (self.reject if self.error else self.accept)()

    def shutdown(self):
        if self.worker is not None:
            self.worker.shutdown(10_000)


def run_offline_pack(window, refresh=None) -> None:
    """Run the pack in a modal progress dialog; ``refresh()`` afterwards (e.g. the data status line)."""
    dlg = OfflinePackDialog(window)
    dlg.start()
    dlg.exec()
    if dlg.error:
        QMessageBox.warning(window, "Offline pack", dlg.error)
    else:
        QMessageBox.information(window, "Offline pack", dlg.message)
    window.show_status(dlg.error or dlg.message)
    if refresh is not None:
        refresh()
