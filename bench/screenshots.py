"""Screenshots of every milestone and recipe: 1366×768 and 1920×1080, light and dark, normal and
presentation mode, taken from the real main window (offscreen by default, or on whatever display
QT_QPA_PLATFORM / DISPLAY give, e.g. under ``xvfb-run -a``).

    python bench/screenshots.py --out /tmp/shots            # all 224 images (about 2 minutes)
    python bench/screenshots.py --only 2023-07-llama-2 --sizes 1366x768

For each image it also prints the smallest node title and the smallest other graph text as
measured on screen (scene font × view scale), so an unreadable one stands out in the log.
Settings go to a throw-away folder: the user's theme and window layout are left alone.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="/tmp/archstudio-screenshots")
    ap.add_argument("--sizes", default="1366x768,1920x1080")
    ap.add_argument("--themes", default="light,dark")
    ap.add_argument("--modes", default="normal,presentation")
    ap.add_argument("--only", default="", help="comma-separated preset ids (default: every one)")
    args = ap.parse_args(argv)
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import studio._qt  # noqa: F401  (the PySide6 guard)
    from PySide6.QtCore import QSettings, QStandardPaths
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(["archstudio-screenshots"])
    QStandardPaths.setTestModeEnabled(True)
    app.setOrganizationName("archstudio-screenshots")
    QSettings.setDefaultFormat(QSettings.IniFormat)
    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, tempfile.mkdtemp(prefix="archstudio-shots-"))
    from studio._qt.window.main_window import MainWindow

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    n, t0 = 0, time.time()
    for size in args.sizes.split(","):
        w, h = (int(x) for x in size.split("x"))
        for theme in args.themes.split(","):
            win = MainWindow()
            win.set_theme(theme)
            win.resize(w, h)
            win.show()
            win._warm()
            for _ in range(3):
                app.processEvents()
            ids = args.only.split(",") if args.only else list(win.model.timeline.ids)
            for mode in args.modes.split(","):
                if mode == "presentation":
                    win.presentation.enter(full_screen=False)
                    win.resize(w, h)
                for pid in ids:
                    win.model.timeline.set_current(pid)
                    view = win.graph_view
                    view.graph_scene._end_animation()
                    for _ in range(2):
                        app.processEvents()
                    view.fit_all()
                    app.processEvents()
                    path = out / f"{pid}-{w}x{h}-{theme}-{mode}.png"
                    win.grab().save(str(path))
                    px = view.graph_scene.text_px_on_screen(view)
                    titles = [p for role, _t, p in px if role == "title"] or [0.0]
                    other = [p for role, _t, p in px if role != "title"] or [0.0]
                    print(f"{path.name}: titles ≥ {min(titles):.1f} px, other text ≥ {min(other):.1f} px", flush=True)
                    n += 1
                if mode == "presentation":
                    win.presentation.toggle()
            win.close()
            win.deleteLater()
            app.processEvents()
    print(f"{n} screenshots in {out} ({time.time() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
