"""Render icons/archstudio.svg to the PNG sizes desktops ask for (uses QtSvg, offscreen)."""
import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtGui import QGuiApplication, QImage, QPainter  # noqa: E402
from PySide6.QtSvg import QSvgRenderer  # noqa: E402

HERE = Path(__file__).resolve().parent
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)

if __name__ == "__main__":
    app = QGuiApplication(sys.argv[:1])
    renderer = QSvgRenderer(str(HERE / "icons" / "archstudio.svg"))
    for s in SIZES:
        img = QImage(s, s, QImage.Format_ARGB32)
        img.fill(Qt.transparent)
        p = QPainter(img)
        p.setRenderHint(QPainter.Antialiasing)
        renderer.render(p)
        p.end()
        img.save(str(HERE / "icons" / f"archstudio-{s}.png"))
    print("wrote", ", ".join(f"archstudio-{s}.png" for s in SIZES))
