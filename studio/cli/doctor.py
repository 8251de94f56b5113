"""archstudio doctor: check what the app needs and name each missing piece with its fix."""
from __future__ import annotations

import importlib.metadata as md
import importlib.util
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

INSTALL = "python3 -m pip install -c constraints.txt -e .  (from the repository folder)"

# module name -> (distribution, why the app needs it)
PACKAGES = {
    "torch": ("torch", "building and training models"),
    "PySide6": ("PySide6-Essentials", "the desktop window"),
    "pyqtgraph": ("pyqtgraph", "live plots and heatmaps"),
    "networkx": ("networkx", "the architecture graph"),
    "yaml": ("PyYAML", "presets and project files"),
    "numpy": ("numpy", "data and inspection arrays"),
    "psygnal": ("psygnal", "change events of the core models"),
    "sentencepiece": ("sentencepiece", "BPE vocabularies compatible with llama2.c"),
    "platformdirs": ("platformdirs", "cache and data folders"),
}


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    needed: bool = True


def _package(mod: str, dist: str, why: str) -> Check:
    try:
        found = importlib.util.find_spec(mod) is not None
    except ImportError:  # a broken or half-removed install
        found = False
    if not found:
        return Check(mod, False, f"missing (needed for {why})", f"pip install {dist}  — or: {INSTALL}")
    try:
        version = md.version(dist)
    except md.PackageNotFoundError:
        version = "installed"
    return Check(mod, True, version)


def _qt_starts() -> Check:
    """The platform the window will really use: the front end's pre-flight (display, the platform
    plugin's system libraries), then Qt itself started in a child process with the same environment."""
    from studio.cli.frontend import current
    env = dict(os.environ)
    try:
        found = current().preflight()
    except Exception:  # noqa: BLE001  no front end plugged in, or its pre-flight failed
        found = None  # no front end plugged in: the child probe below says what it can
    if found and "no display" in found:
        env["QT_QPA_PLATFORM"] = "offscreen"  # still prove that rendering (archstudio render) works
    elif found:
        cmd = found.rsplit("install with: ", 1)[-1] if "install with: " in found else "reinstall PySide6"
        return Check("Qt platform", False, found.removeprefix("cannot open a window: "), cmd)
    # A child process, so a Qt that cannot start cannot take doctor down; in a frozen bundle
    # sys.executable is archstudio itself, which answers --qt-probe the same way.
    cmd = [sys.executable, "--qt-probe"] if getattr(sys, "frozen", False) else [sys.executable, "-m", "studio", "--qt-probe"]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env)
    except subprocess.TimeoutExpired:
        return Check("Qt platform", False, "starting Qt timed out", "check the display (DISPLAY / WAYLAND_DISPLAY)")
    except OSError as exc:  # the probe itself cannot run (no such interpreter, no permission, no memory)
        return Check("Qt platform", False, f"cannot run the Qt probe ({exc.strerror or type(exc).__name__})",
                     "reinstall archstudio")
    if r.returncode != 0:
        last = (r.stderr.strip().splitlines() or ["unknown error"])[-1][:160]
        return Check("Qt platform", False, f"Qt cannot start: {last}",
                     "install the system libraries Qt needs (see the README's system packages section)")
    if found:
        return Check("Qt platform", False, f"{found.removeprefix('cannot open a window: ')}; offscreen rendering works",
                     "", needed=False)
    return Check("Qt platform", True, f"starts ({r.stdout.strip()}, the platform the window uses)")


def _torch_device() -> Check:
    import torch
    dev = f"CPU, {torch.get_num_threads()} threads"
    if torch.cuda.is_available():
        dev += f"; CUDA: {torch.cuda.get_device_name(0)}"
    return Check("torch device", True, dev, needed=False)


def _writable(label: str, path: Path) -> Check:
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".doctor-"):
            pass
        return Check(label, True, str(path))
    except OSError as exc:
        return Check(label, False, f"{path} is not writable ({exc.strerror or exc})",
                     "make it writable, or point ARCHSTUDIO_CACHE_DIR / ARCHSTUDIO_DATA_DIR elsewhere")


def _folders() -> list[Check]:
    out = []
    try:
        from studio.core.data.download import cache_root, cached_path
    except ImportError:
        return [Check("data cache", False, "the data module is missing", INSTALL)]
    out.append(_writable("cache folder", cache_root()))
    import platformdirs
    data = Path(os.environ.get("ARCHSTUDIO_DATA_DIR") or platformdirs.user_data_dir("archstudio", appauthor=False))
    out.append(_writable("runs folder", data))
    quick = cached_path("quick")
    if quick:
        out.append(Check("TinyStories", True, f"cached: {quick}", needed=False))
    else:
        out.append(Check("TinyStories", False, "not downloaded; training uses the built-in starter corpus (not TinyStories)",
                         "archstudio data fetch   (needs the network once)", needed=False))
    return out


def _warm_caches() -> list[Check]:
    """What is warm for a fast first minute: the small-head kernel's build and the compiled steps of
    the shapes measured so far (a cold shape trains eagerly while it compiles beside the training)."""
    from studio.core.training import compile_costs as cc
    root = cc.cache_root()
    kernels = sorted((root / "kernels").glob("small_head_attention-*.so")) if root else []
    out = [Check("small-head kernel", bool(kernels), f"built ({kernels[-1]})" if kernels else
                 "not built yet: the first run with head size 8 or 16 builds it beside its training",
                 "archstudio lesson prepare (or any training run) builds it", needed=False)]
    book = cc.CostBook(root) if root else None
    entries = book.entries() if book else {}
    warm = [e.get("label", key) for key, e in entries.items() if isinstance(e, dict) and book.is_warm(key)]
    if warm:
        out.append(Check("compiled steps", True, f"{len(warm)} shape{'s' if len(warm) != 1 else ''} warm: "
                         + "; ".join(sorted(warm)[:6]) + (" …" if len(warm) > 6 else ""), needed=False))
    else:
        out.append(Check("compiled steps", False, "none warm yet: a run trains eagerly while its step compiles "
                         "beside it, where that pays off in its minutes",
                         "archstudio lesson prepare warms the shapes of a lesson", needed=False))
    return out


def _presets() -> Check:
    try:
        from studio.core.files.presets import load_preset, preset_ids
        ids = preset_ids()
        for pid in ids:
            load_preset(pid)
        return Check("presets", True, f"{len(ids)} load")
    except Exception as exc:  # noqa: BLE001  doctor reports, never crashes
        return Check("presets", False, f"cannot load: {exc}", f"reinstall: {INSTALL}")


def run_checks() -> list[Check]:
    checks = [Check("Python", sys.version_info >= (3, 10), sys.version.split()[0],
                    "install Python 3.10 or newer")]
    checks += [_package(m, d, w) for m, (d, w) in PACKAGES.items()]
    have = {c.name for c in checks if c.ok}
    if "PySide6" in have:
        checks.append(_qt_starts())
    if "torch" in have:
        checks.append(_torch_device())
    if "platformdirs" in have:
        checks += _folders()
        checks += _warm_caches()
    if "yaml" in have and "networkx" in have and "psygnal" in have:
        checks.append(_presets())
    return checks


def cmd_doctor(args) -> int:
    from studio import __version__
    print(f"archstudio {__version__} — checking this installation")
    checks = run_checks()
    for c in checks:
        mark = "ok  " if c.ok else ("MISSING" if c.needed else "note")
        print(f"  [{mark}] {c.name}: {c.detail}" + (f"\n          fix: {c.fix}" if not c.ok and c.fix else ""))
    missing = [c for c in checks if c.needed and not c.ok]
    print("All needed pieces are present." if not missing else
          f"{len(missing)} needed piece(s) missing: {', '.join(c.name for c in missing)}")
    return 1 if missing else 0
