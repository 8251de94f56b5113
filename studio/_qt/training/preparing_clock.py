"""The Training panel's bar while a run prepares (data, tokenizer, kernel, probes): with a time
budget the bar is the budget's wall clock from the click, so preparing visibly spends the minutes
it is part of; without one it is a busy bar. Ticks twice a second until the first step's setup."""
from __future__ import annotations

from PySide6.QtCore import QObject, QTimer

TICKS = 1000  # bar resolution while preparing


def clock(seconds: float) -> str:
    s = max(0, int(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


class PreparingClock(QObject):
    def __init__(self, session, progress, numbers, parent=None):
        super().__init__(parent)
        self.session, self.progress, self.numbers = session, progress, numbers
        self.what = ""
        self.timer = QTimer(self)
        self.timer.setInterval(500)
        self.timer.timeout.connect(self.show)

    @property
    def active(self) -> bool:
        return self.timer.isActive()

    def begin(self, what: str = "reading the data") -> None:
        """The run prepares (again): ``what`` it does now."""
        self.what = what
        if self.session.budget_clock() is None:
            self.progress.setRange(0, 0)  # no budget: a busy bar
            self.progress.setFormat(f"preparing: {what}…")
            self.numbers.setText(f"Preparing: {what}")
            return
        if not self.timer.isActive():
            self.timer.start()
        self.show()

    def show(self) -> None:
        got = self.session.budget_clock()
        if got is None:
            self.timer.stop()
            return
        spent, budget = got
        self.progress.setRange(0, TICKS)
        self.progress.setValue(min(TICKS, int(TICKS * spent / max(1e-9, budget))))
        self.progress.setFormat(f"preparing: {self.what}… · {clock(spent)} of {clock(budget)}")
        self.numbers.setText(f"Preparing: {self.what} (part of the {budget / 60:g}-minute budget: "
                             f"{clock(spent)} of {clock(budget)} gone, the run still ends on time)")

    def end(self) -> None:
        self.timer.stop()
