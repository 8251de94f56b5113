"""Minimal main window: milestone list and the selected model's accounting (grown by the GUI issue)."""
from __future__ import annotations

from PySide6.QtWidgets import QListWidget, QMainWindow, QSplitter, QTextBrowser

from studio.core.accounting import human_bytes, humanize
from studio.core.info import model_info
from studio.core.presets import load_model, preset_infos


class MainWindow(QMainWindow):
    def __init__(self):
        super().__init__()
        self.setWindowTitle("LLM Architecture Studio")
        self.resize(1366, 768)
        self.list = QListWidget()
        self.infos = preset_infos()
        for i in self.infos:
            self.list.addItem(f"{i.date}  {i.title}" if i.date else i.title)
        self.text = QTextBrowser()
        split = QSplitter()
        split.addWidget(self.list)
        split.addWidget(self.text)
        self.setCentralWidget(split)
        self.list.currentRowChanged.connect(lambda r: self.open_model(self.infos[r].id))
        if self.infos:
            self.list.setCurrentRow(0)

    def open_model(self, spec: str):
        arch = load_model(spec)
        info = model_info(arch, "paper" if "paper" in arch.scales else "classroom")
        self.text.setHtml(
            f"<h2>{info['title']}</h2><p>{info['date']} · {info['org']}</p>"
            f"<p>Parameters: {humanize(info['params_total'])}<br>"
            f"KV cache / token: {human_bytes(info['kv_cache_bytes_per_token'])}<br>"
            f"FLOPs / token: {humanize(info['flops_per_token'])}</p>")
