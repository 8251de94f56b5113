"""Screenshots of every milestone experiment run live, as a learner runs it: the real main window at
1366×768, the milestone's card, a click on **Run the experiment**, the minutes typed into the view,
a click on Start, shots while it runs (each new stage line, and every few seconds as the curve fills)
and one when it ends (table, before/after samples). Light and dark theme.

    xvfb-run -a -s "-screen 0 1366x768x24" sh -c 'openbox & OMP_NUM_THREADS=1 nice python3 bench/screenshots_experiments.py'
    python3 bench/screenshots_experiments.py --only 2022-05-flashattention --themes dark --minutes 0.1
    python3 bench/screenshots_experiments.py --themes dark --reopen /tmp/archstudio-experiment-shots/folders
    python3 bench/screenshots_experiments.py --only 2022-03-instructgpt --themes light --minutes 3 --stop-at "reward model"

Under X (xcb) a shot is the whole screen (window frames, the view over the main window); offscreen it
is the main window with the view painted where it stands. For each shot the log gives the stage
line, the view's place on the screen and the smallest text in it (px), so a clipped view, a stage
line that never changes or tiny text stands out without opening the image. Settings, experiment
folders and the theme go to a throw-away folder: the user's own are left alone.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

MILESTONES = ("2022-05-flashattention", "2022-03-chinchilla", "2025-01-deepseek-r1", "2024-09-o1",
              "2022-03-instructgpt", "2022-11-chatgpt")


def wait(app, seconds: float, until=None) -> bool:
    """Run the event loop for ``seconds`` or until ``until()`` holds (True if it did)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        if until is not None and until():
            return True
        time.sleep(0.02)
    return until is not None and until()


def shot(app, win, dlg, path: Path) -> None:
    from PySide6.QtGui import QPainter, QPixmap
    if app.platformName() == "xcb":
        pix = app.primaryScreen().grabWindow(0)
    else:
        geo = app.primaryScreen().geometry()
        pix = QPixmap(geo.size())
        pix.fill()
        p = QPainter(pix)
        p.drawPixmap(win.pos(), win.grab())
        if dlg is not None and dlg.isVisible():
            p.drawPixmap(dlg.geometry().topLeft(), dlg.grab())
        p.end()
    pix.save(str(path))


def smallest_text_px(root) -> tuple[int, str]:
    """The smallest font (pixels) among the visible widgets and plot axes under ``root``."""
    import pyqtgraph as pg
    from PySide6.QtGui import QFontInfo
    from PySide6.QtWidgets import QWidget
    best = (999, "")
    for w in [root, *root.findChildren(QWidget)]:
        if w.isVisible() and w.width() > 0:
            px = QFontInfo(w.font()).pixelSize()
            if px < best[0]:
                best = (px, type(w).__name__)
    for plot in root.findChildren(pg.PlotWidget):
        for name in ("left", "bottom"):
            ax = plot.getAxis(name)
            font = ax.style.get("tickFont") or ax.font()
            px = QFontInfo(font).pixelSize()
            if px < best[0]:
                best = (px, f"plot {name} ticks")
    return best


def run_one(app, win, pid: str, theme: str, args, out: Path, log: list) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest
    seen = []
    win.info_panel.updated.connect(lambda: seen.append(1))
    win.model.timeline.set_current(pid)
    btn = win.info_panel.experiment
    if not wait(app, 10, lambda: seen and btn.milestone == pid and btn.isVisible()):
        log.append({"id": pid, "theme": theme, "error": "no Run the experiment button on the card"})
        return
    scroll = btn.parent()
    while scroll is not None and not hasattr(scroll, "ensureWidgetVisible"):
        scroll = scroll.parent()
    hidden = btn.visibleRegion().isEmpty()
    if hidden and scroll is not None:  # a learner scrolls the card down to it
        scroll.ensureWidgetVisible(btn)
        wait(app, 0.3)
    wait(app, 1.5)  # the graph's morph to the milestone ends
    stem = f"{pid}-{theme}"
    shot(app, win, None, out / f"{stem}-0-card.png")
    QTest.mouseClick(btn, Qt.LeftButton)
    dlg = btn.opened
    wait(app, 5, lambda: dlg is not None and dlg.isVisible())
    view = dlg.view
    spin = view.minutes
    spin.setFocus()
    QTest.keyClick(spin, Qt.Key_A, Qt.ControlModifier)
    QTest.keyClicks(spin, f"{args.minutes:g}")
    QTest.keyClick(spin, Qt.Key_Tab)
    QTest.mouseClick(view.start_btn, Qt.LeftButton)
    t0, n, last_msg, last_shot = time.monotonic(), 1, None, 0.0
    stages, stop_at, stopped = [], None, None
    while view.worker is not None and time.monotonic() - t0 < args.timeout:
        wait(app, 0.2)
        msg = view.history.message  # the stage (the status line also carries a ticking clock)
        if args.stop_at and args.stop_at in msg and stop_at is None:
            stop_at = time.monotonic() + 3.0  # 3 s into the stage
        if stop_at is not None and stopped is None and time.monotonic() >= stop_at:
            QTest.mouseClick(view.stop_btn, Qt.LeftButton)
            stopped = time.monotonic()
        now = time.monotonic() - t0
        if msg != last_msg or now - last_shot >= args.every:
            if msg != last_msg:
                stages.append(msg)
            last_msg, last_shot = msg, now
            shot(app, win, dlg, out / f"{stem}-{n}-run.png")
            n += 1
    ended = time.monotonic()
    wait(app, 0.5)
    view._redraw(force=True)
    wait(app, 0.3)
    shot(app, win, dlg, out / f"{stem}-{n}-end.png")
    geo, screen = dlg.frameGeometry(), app.primaryScreen().availableGeometry()
    px, where = smallest_text_px(dlg)
    log.append({"id": pid, "theme": theme, "wall_s": round(time.monotonic() - t0, 1), "status": view.history.status,
                "stop_s": None if stopped is None else round(ended - stopped, 1),
                "message": view.status.text(), "stages": stages, "shots": n, "button_scrolled": hidden,
                "view": [geo.x(), geo.y(), geo.width(), geo.height()], "on_screen": screen.contains(geo),
                "smallest_px": px, "smallest_in": where, "table": [view.table.rowCount(), view.table.columnCount()],
                "curves": list(view.curves), "samples_lines": view.samples.toPlainText().count("\n") + 1})
    print(json.dumps(log[-1]), flush=True)
    dlg.close()
    wait(app, 0.5)


def reopen_one(app, win, pid: str, theme: str, folders: Path, out: Path, log: list) -> None:
    """The card's button, then the newest finished ``pid`` folder under ``folders`` reopened in the view
    (what Open… does once its folder dialog returns): a finished full-size run in this theme."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest
    done = sorted((p for p in folders.glob(f"{pid}-*") if (p / "experiment.json").is_file()),
                  key=lambda p: p.stat().st_mtime)
    if not done:
        log.append({"id": pid, "theme": theme, "error": f"no finished folder under {folders}"})
        return
    win.model.timeline.set_current(pid)
    btn = win.info_panel.experiment
    wait(app, 10, lambda: btn.milestone == pid and btn.isVisible())
    wait(app, 1.5)
    QTest.mouseClick(btn, Qt.LeftButton)
    dlg = btn.opened
    wait(app, 5, lambda: dlg is not None and dlg.isVisible())
    ok = dlg.view.open_folder(done[-1])
    wait(app, 1.0)
    shot(app, win, dlg, out / f"{pid}-{theme}-reopened.png")
    log.append({"id": pid, "theme": theme, "reopened": str(done[-1]), "ok": ok, "message": dlg.view.status.text()})
    print(json.dumps(log[-1]), flush=True)
    dlg.close()
    wait(app, 0.5)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="/tmp/archstudio-experiment-shots")
    ap.add_argument("--themes", default="light,dark")
    ap.add_argument("--only", default="", help="comma-separated milestone ids (default: the six)")
    ap.add_argument("--minutes", type=float, default=0.1, help="typed into the view (3 = the real experiment)")
    ap.add_argument("--every", type=float, default=6.0, help="seconds between shots while it runs")
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds one experiment may run")
    ap.add_argument("--stop-at", default="", help="click Stop 3 s into the first stage whose line holds this text "
                                                  "(the log gives how long the run took to end)")
    ap.add_argument("--reopen", default="", help="a folder of finished experiment folders: reopen those instead of running")
    args = ap.parse_args(argv)
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("ARCHSTUDIO_NO_BACKGROUND_WARM", "1")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("ARCHSTUDIO_EXPERIMENTS_DIR", str(out / "folders"))
    import studio._qt  # noqa: F401  (the PySide6 guard)
    from PySide6.QtCore import QSettings, QStandardPaths

    from studio._qt.window.app import create_app
    app = create_app()
    QStandardPaths.setTestModeEnabled(True)
    app.setOrganizationName("archstudio-screenshots")
    QSettings.setDefaultFormat(QSettings.IniFormat)
    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, tempfile.mkdtemp(prefix="archstudio-shots-"))
    from studio._qt.window.main_window import MainWindow

    log: list = []
    ids = args.only.split(",") if args.only else list(MILESTONES)
    for theme in args.themes.split(","):
        win = MainWindow()
        win.set_theme(theme)
        win.resize(1366, 768)
        if app.platformName() == "xcb":
            win.showMaximized()  # as a learner has it: the whole 1366×768 screen, frame included
        else:
            win.show()
        win._warm()
        wait(app, 1.0)
        for pid in ids:
            if args.reopen:
                reopen_one(app, win, pid, theme, Path(args.reopen), out, log)
            else:
                run_one(app, win, pid, theme, args, out, log)
        win.close()
        win.deleteLater()
        wait(app, 0.5)
    (out / "log.json").write_text(json.dumps(log, indent=1, ensure_ascii=False))
    print(f"{sum(e.get('shots', 0) + 1 for e in log)} screenshots in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
