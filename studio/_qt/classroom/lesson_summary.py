"""The lesson's summary table: held-out bits per byte, tokens seen and minutes of every
prepared run, and what each model changed since the model it builds on
(studio.core.classroom.lesson.summary), with CSV export."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (QDialog, QFileDialog, QHBoxLayout, QHeaderView, QPushButton, QTableWidget,
                               QTableWidgetItem, QVBoxLayout)


class SummaryDialog(QDialog):
    COLUMNS = (("id", "model"), ("status", "status"), ("val_bpb", "held-out bits/byte"), ("tokens", "tokens seen"),
               ("minutes", "minutes"), ("change", "what it changed (since the model it builds on)"))

    def __init__(self, lesson_dir: Path, parent=None):
        super().__init__(parent)
        from studio.core.classroom.lesson import summary
        self.lesson_dir = lesson_dir
        self.rows = summary(lesson_dir)
        self.setWindowTitle(f"Prepared runs — {lesson_dir}")
        self.resize(900, 420)
        lay = QVBoxLayout(self)
        self.table = QTableWidget(len(self.rows), len(self.COLUMNS))
        self.table.setHorizontalHeaderLabels([c for _, c in self.COLUMNS])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.NoEditTriggers)
        hh = self.table.horizontalHeader()
        for c in range(len(self.COLUMNS) - 1):  # never clip a header ("held-out bits/byte")
            hh.setSectionResizeMode(c, QHeaderView.ResizeToContents)
        hh.setSectionResizeMode(len(self.COLUMNS) - 1, QHeaderView.Stretch)  # the change: the rest, full text as tooltip
        for r, row in enumerate(self.rows):
            for c, (key, _) in enumerate(self.COLUMNS):
                v = row.get(key)
                text = ("—" if v is None else f"{v:.3f}" if key == "val_bpb" else f"{v:,}" if key == "tokens"
                        else f"{v:.1f}" if key == "minutes" else str(v))
                item = QTableWidgetItem(text)
                if key == "change" and v:
                    item.setToolTip(f"since {row.get('since')}: {v}")
                self.table.setItem(r, c, item)
        lay.addWidget(self.table, 1)
        buttons = QHBoxLayout()
        self.csv_btn = QPushButton("Export CSV…")
        self.csv_btn.clicked.connect(self.export_dialog)
        buttons.addWidget(self.csv_btn)
        buttons.addStretch(1)
        close = QPushButton("Close")
        close.clicked.connect(self.close)
        buttons.addWidget(close)
        lay.addLayout(buttons)

    def export_dialog(self):
        path, _ = QFileDialog.getSaveFileName(self, "Export summary", str(self.lesson_dir / "summary.csv"), "CSV (*.csv)")
        if path:
            self.export_csv(path)

    def export_csv(self, path) -> None:
        from studio.core.classroom.lesson import summary_csv
        from studio.core.files.yamlio import atomic_write_text
        atomic_write_text(path, summary_csv(self.rows))
