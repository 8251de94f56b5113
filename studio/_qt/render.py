"""Offscreen rendering of the main-window graph scene to PNG or SVG (``archstudio render`` and
File → Export diagram). Same scene, items and theme as the window, so slides match the app."""
from __future__ import annotations

import os
from pathlib import Path

from studio._qt.graph.scene_image import save_scene, title_lines
from studio.core.errors import StudioError


def ensure_app():
    """A QApplication for offscreen use (the CLI has none); never steals a running app's platform."""
    from PySide6.QtWidgets import QApplication
    app = QApplication.instance()
    if app is None:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        app = QApplication(["archstudio-render"])
    return app


def render_model(arch, out, scale: str = "paper", theme: str = "light", size: tuple[int, int] = (1600, 900)) -> Path:
    ensure_app()
    from studio._qt.graph.graph_scene import GraphScene
    from studio._qt.theme import THEMES
    from studio.core.state.document import Document
    if scale not in arch.scales:
        raise StudioError(f"{arch.id}: no {scale!r} scale (has: {', '.join(arch.scales)})")
    document = Document(scale)
    document.show("project", arch, arch.meta.get("title", arch.id), key=f"render:{arch.id}")
    scene = GraphScene(document, THEMES[theme])
    scene.set_font_scale(1.1 if size[0] >= 1600 else 1.0)
    return save_scene(scene, out, size, title_lines(arch, scale))


def presentation_window(model: str, scale: str, theme: str, size: tuple[int, int]):
    """A main window showing ``model`` in presentation mode at exactly ``size`` (not full screen)."""
    ensure_app()
    from PySide6.QtWidgets import QApplication

    from studio._qt.window.main_window import MainWindow
    from studio._qt.theme import THEMES, apply_theme
    win = MainWindow()
    if win.theme.name != theme:  # this window only: the user's saved theme stays as it is
        win.theme = THEMES[theme]
        apply_theme(QApplication.instance(), win.theme)
        win.model.view.theme = theme  # the scene and the timeline follow the model
    win.model.document.set_scale(scale)
    win.open_model(model)
    win.resize(*size)
    win.show()
    win.presentation.enter(full_screen=False)
    win.resize(*size)
    for _ in range(3):
        QApplication.processEvents()
    win.graph_view.graph_scene._end_animation()
    win.graph_view.fit_all()
    return win


def render_presentation(model: str, out, scale: str, theme: str, size: tuple[int, int]) -> Path:
    p = Path(out)
    if p.suffix.lower() != ".png":
        raise StudioError(f"--out {out}: presentation renders are PNG images")
    win = presentation_window(model, scale, theme, size)
    try:
        img = win.grab().toImage()
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_name(f".{p.name}.tmp.png")
        if not img.save(str(tmp), "PNG"):
            raise StudioError(f"{p}: could not write the image")
        os.replace(tmp, p)
    finally:
        win.presentation.toggle()
        win.hide()
        win.deleteLater()
    return p


def cmd_render(args) -> int:
    """``archstudio render MODEL --out FILE.png|.svg [--scale] [--theme] [--size WxH]``."""
    from studio.core.files.model_spec import load_model
    try:
        w, h = (int(x) for x in str(args.size).lower().split("x"))
    except ValueError:
        raise StudioError(f"--size {args.size!r}: expected WIDTHxHEIGHT, e.g. 1600x900") from None
    if not (64 <= w <= 8192 and 64 <= h <= 8192):
        raise StudioError(f"--size {args.size}: width and height must be between 64 and 8192 pixels")
    if Path(args.out).suffix.lower() not in (".png", ".svg"):
        raise StudioError(f"--out {args.out}: the file must end in .png or .svg")
    if getattr(args, "presentation", False):
        out = render_presentation(args.model, args.out, args.scale, args.theme, (w, h))
        print(f"wrote {out} ({w}x{h} presentation mode, {args.scale} scale, {args.theme} theme)")
        return 0
    arch = load_model(args.model)
    out = render_model(arch, args.out, args.scale, args.theme, (w, h))
    print(f"wrote {out} ({w}x{h}, {args.scale} scale, {args.theme} theme)")
    return 0
