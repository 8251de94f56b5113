"""Can a window open here? Answered *before* the QApplication exists.

Qt reacts to a missing display or a missing system library of its platform plugin by printing
a paragraph and aborting the process (SIGABRT, core dump). This module looks first, without
importing any Qt module: it locates the platform plugin file with ``importlib.util.find_spec``,
reads the shared libraries it needs from its ELF dynamic section (DT_NEEDED, RPATH/RUNPATH),
searches them the way the dynamic linker does (RPATH, LD_LIBRARY_PATH, RUNPATH, ld.so.cache,
default folders), and turns what is missing into one line with the command that installs it.
Then it checks that the display answers (display_answers.py): a set DISPLAY with no X server
behind it aborts Qt just the same.
Only Linux needs this: the macOS and Windows wheels bring everything they need.
"""
from __future__ import annotations

import importlib.util
import os
import struct
import subprocess
import sys
from pathlib import Path

from studio._qt.window.display_answers import wayland_problem, x11_problem

HEADLESS = {"offscreen", "minimal", "minimalegl", "vnc", "linuxfb", "eglfs", "vkkhrdisplay"}
PLUGIN_FILE = {"xcb": "libqxcb.so", "wayland": "libqwayland.so"}

# soname -> (Debian/Ubuntu package, Fedora package) for what Qt's xcb/wayland plugins load
PACKAGES = {
    "libxcb-cursor.so.0": ("libxcb-cursor0", "xcb-util-cursor"),
    "libxcb-icccm.so.4": ("libxcb-icccm4", "xcb-util-wm"),
    "libxcb-image.so.0": ("libxcb-image0", "xcb-util-image"),
    "libxcb-keysyms.so.1": ("libxcb-keysyms1", "xcb-util-keysyms"),
    "libxcb-render-util.so.0": ("libxcb-render-util0", "xcb-util-renderutil"),
    "libxcb-util.so.1": ("libxcb-util1", "xcb-util"),
    "libxcb-randr.so.0": ("libxcb-randr0", "libxcb"),
    "libxcb-shape.so.0": ("libxcb-shape0", "libxcb"),
    "libxcb-shm.so.0": ("libxcb-shm0", "libxcb"),
    "libxcb-sync.so.1": ("libxcb-sync1", "libxcb"),
    "libxcb-xfixes.so.0": ("libxcb-xfixes0", "libxcb"),
    "libxcb-xinerama.so.0": ("libxcb-xinerama0", "libxcb"),
    "libxcb-xinput.so.0": ("libxcb-xinput0", "libxcb"),
    "libxcb-xkb.so.1": ("libxcb-xkb1", "libxcb"),
    "libxcb-render.so.0": ("libxcb-render0", "libxcb"),
    "libxcb-glx.so.0": ("libxcb-glx0", "libxcb"),
    "libxcb.so.1": ("libxcb1", "libxcb"),
    "libX11-xcb.so.1": ("libx11-xcb1", "libX11-xcb"),
    "libX11.so.6": ("libx11-6", "libX11"),
    "libxkbcommon-x11.so.0": ("libxkbcommon-x11-0", "libxkbcommon-x11"),
    "libxkbcommon.so.0": ("libxkbcommon0", "libxkbcommon"),
    "libSM.so.6": ("libsm6", "libSM"),
    "libICE.so.6": ("libice6", "libICE"),
    "libEGL.so.1": ("libegl1", "libglvnd-egl"),
    "libGL.so.1": ("libgl1", "libglvnd-glx"),
    "libGLX.so.0": ("libglx0", "libglvnd-glx"),
    "libOpenGL.so.0": ("libopengl0", "libglvnd-opengl"),
    "libfontconfig.so.1": ("libfontconfig1", "fontconfig"),
    "libfreetype.so.6": ("libfreetype6", "freetype"),
    "libdbus-1.so.3": ("libdbus-1-3", "dbus-libs"),
    "libglib-2.0.so.0": ("libglib2.0-0", "glib2"),
    "libgthread-2.0.so.0": ("libglib2.0-0", "glib2"),
    "libwayland-client.so.0": ("libwayland-client0", "libwayland-client"),
    "libwayland-cursor.so.0": ("libwayland-cursor0", "libwayland-cursor"),
    "libwayland-egl.so.1": ("libwayland-egl1", "libwayland-egl"),
}
DEFAULT_DIRS = ("/lib", "/usr/lib", "/lib64", "/usr/lib64", "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu",
                "/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu")

DT_NEEDED, DT_STRTAB, DT_RPATH, DT_RUNPATH = 1, 5, 15, 29
PT_LOAD, PT_DYNAMIC = 1, 2


def elf_dynamic(path: Path) -> tuple[list[str], list[str]]:
    """(DT_NEEDED names, RPATH/RUNPATH folders with $ORIGIN expanded) of an ELF shared library.
    Raises ValueError for a file that is not an ELF shared object."""
    data = Path(path).read_bytes()
    if data[:4] != b"\x7fELF":
        raise ValueError(f"{path}: not an ELF file")
    is64, end = data[4] == 2, "<" if data[5] == 1 else ">"
    if is64:
        phoff, = struct.unpack_from(end + "Q", data, 0x20)
        phentsize, phnum = struct.unpack_from(end + "HH", data, 0x36)
        ph_fmt, dyn_fmt = end + "IIQQQQQQ", end + "qQ"
    else:
        phoff, = struct.unpack_from(end + "I", data, 0x1C)
        phentsize, phnum = struct.unpack_from(end + "HH", data, 0x2A)
        ph_fmt, dyn_fmt = end + "IIIIIIII", end + "iI"
    loads, dynamic = [], None
    for i in range(phnum):
        f = struct.unpack_from(ph_fmt, data, phoff + i * phentsize)
        # 64-bit: type, flags, offset, vaddr, paddr, filesz, memsz, align; 32-bit: type, offset, vaddr, ...
        p_type, p_offset, p_vaddr, p_filesz = (f[0], f[2], f[3], f[5]) if is64 else (f[0], f[1], f[2], f[4])
        if p_type == PT_LOAD:
            loads.append((p_vaddr, p_offset, p_filesz))
        elif p_type == PT_DYNAMIC:
            dynamic = (p_offset, p_filesz)
    if dynamic is None:
        return [], []
    entries, step = [], struct.calcsize(dyn_fmt)
    for off in range(dynamic[0], dynamic[0] + dynamic[1], step):
        tag, val = struct.unpack_from(dyn_fmt, data, off)
        if tag == 0:
            break
        entries.append((tag, val))
    strtab = next((v for t, v in entries if t == DT_STRTAB), None)
    if strtab is None:
        return [], []
    base = next((o + strtab - va for va, o, sz in loads if va <= strtab < va + sz), strtab)  # vaddr -> file offset

    def s(i):
        return data[base + i:data.index(b"\0", base + i)].decode("utf-8", "replace")

    needed = [s(v) for t, v in entries if t == DT_NEEDED]
    runpath = [s(v) for t, v in entries if t == DT_RUNPATH]
    rpath = [] if runpath else [s(v) for t, v in entries if t == DT_RPATH]  # RUNPATH disables RPATH
    origin = str(Path(path).resolve().parent)
    dirs = [d.replace("$ORIGIN", origin).replace("${ORIGIN}", origin)
            for p in rpath + runpath for d in p.split(":") if d]
    return needed, dirs


def _ldconfig_names() -> set[str]:
    """Sonames the system's ld.so.cache knows (empty when ldconfig is not available)."""
    for exe in ("ldconfig", "/sbin/ldconfig", "/usr/sbin/ldconfig"):
        try:
            out = subprocess.run([exe, "-p"], capture_output=True, text=True, timeout=10).stdout
        except (OSError, subprocess.SubprocessError):
            continue
        return {line.split()[0] for line in out.splitlines()[1:] if line.strip()}
    return set()


class _Finder:
    def __init__(self, env):
        self.env_dirs = [d for d in env.get("LD_LIBRARY_PATH", "").split(":") if d]
        self._cache: set[str] | None = None

    def find(self, name: str, own_dirs: list[str]) -> Path | None:
        if "/" in name:
            return Path(name) if Path(name).exists() else None
        for d in self.env_dirs + own_dirs:
            if (Path(d) / name).exists():
                return Path(d) / name
        if self._cache is None:
            self._cache = _ldconfig_names()
        if name in self._cache:
            return Path("/")  # found by the system linker; not one of ours to look inside
        for d in DEFAULT_DIRS:
            if (Path(d) / name).exists():
                return Path(d) / name
        return None


def missing_libraries(plugin: Path, env=None, within: Path | None = None) -> list[str]:
    """Sonames that ``plugin`` needs, directly or through the libraries under ``within`` (the
    PySide6 folder: Qt's own libraries), which the dynamic linker would not find."""
    env = os.environ if env is None else env
    within = (within or plugin.parent).resolve()
    finder, missing, seen, todo = _Finder(env), [], set(), [Path(plugin)]
    while todo:
        lib = todo.pop()
        try:
            needed, dirs = elf_dynamic(lib)
        except (OSError, ValueError, struct.error):
            continue
        for name in needed:
            if name in seen:
                continue
            seen.add(name)
            hit = finder.find(name, dirs)
            if hit is None:
                missing.append(name)
            elif hit != Path("/") and within in hit.resolve().parents:
                todo.append(hit)  # one of Qt's libraries: its own needs count too
    return missing


BASE_LIBS = {"libc.so.6", "libm.so.6", "libstdc++.so.6", "libgcc_s.so.1", "libdl.so.2", "libpthread.so.0",
             "librt.so.1", "libz.so.1", "libzstd.so.1", "ld-linux-x86-64.so.2", "ld-linux-aarch64.so.1"}  # on every Linux that runs Python


def system_libraries(plugin: Path, env=None) -> list[str]:
    """Every system library ``plugin`` needs through Qt's own libraries (what the README lists)."""
    env = os.environ if env is None else env
    within = _pyside_root(plugin)
    finder, seen, out, todo = _Finder(env), set(), set(), [Path(plugin)]
    while todo:
        needed, dirs = elf_dynamic(todo.pop())
        for name in needed:
            if name in seen:
                continue
            seen.add(name)
            hit = finder.find(name, dirs)
            if hit is not None and hit != Path("/") and within in hit.resolve().parents:
                todo.append(hit)
            elif name not in BASE_LIBS:
                out.add(name)
    return sorted(out)


def plugin_path(name: str, env=None) -> Path | None:
    """Where Qt would load platform plugin ``name`` from (honours QT_QPA_PLATFORM_PLUGIN_PATH)."""
    env = os.environ if env is None else env
    fname = PLUGIN_FILE.get(name, f"libq{name}.so")
    for d in [env.get("QT_QPA_PLATFORM_PLUGIN_PATH", "")] + [p and str(Path(p) / "platforms")
                                                              for p in env.get("QT_PLUGIN_PATH", "").split(":")]:
        if d and (Path(d) / fname).exists():
            return Path(d) / fname
    spec = importlib.util.find_spec("PySide6")  # the package's location; no Qt module is loaded
    for root in (spec.submodule_search_locations or []) if spec else []:
        p = Path(root) / "Qt" / "plugins" / "platforms" / fname
        if p.exists():
            return p
    return None


def candidate_platforms(env) -> list[str]:
    """The platform plugins Qt will try, in order (QT_QPA_PLATFORM, else the session type)."""
    asked = env.get("QT_QPA_PLATFORM", "").strip()
    if asked:
        return [p.split(":")[0].strip() for p in asked.split(";") if p.strip()]
    if env.get("XDG_SESSION_TYPE") == "wayland" and env.get("WAYLAND_DISPLAY"):
        return ["wayland", "xcb"]
    return ["xcb"]


def distro(os_release: str | None = None) -> str:
    """'debian', 'fedora' or '' from /etc/os-release (ID and ID_LIKE)."""
    if os_release is None:
        try:
            os_release = Path("/etc/os-release").read_text(encoding="utf-8", errors="replace")
        except OSError:
            os_release = ""
    ids = " ".join(line.split("=", 1)[1].strip('"\' ').lower() for line in os_release.splitlines()
                   if line.startswith(("ID=", "ID_LIKE=")))
    if any(w in ids.split() for w in ("debian", "ubuntu")):
        return "debian"
    if any(w in ids.split() for w in ("fedora", "rhel", "centos")):
        return "fedora"
    return ""


def install_command(sonames: list[str], os_release: str | None = None) -> str:
    deb = sorted({PACKAGES.get(n, (n,))[0] for n in sonames})
    fed = sorted({PACKAGES.get(n, (None, n))[1] for n in sonames})
    apt, dnf = f"sudo apt-get install {' '.join(deb)}", f"sudo dnf install {' '.join(fed)}"
    which = distro(os_release)
    return apt if which == "debian" else dnf if which == "fedora" else f"{apt} (Debian/Ubuntu) or {dnf} (Fedora)"


NO_DISPLAY = ("cannot open a window: no display (DISPLAY and WAYLAND_DISPLAY are not set, e.g. over SSH); "
              "start it in a desktop session, with 'ssh -X', or as 'xvfb-run -a archstudio' "
              "(sudo apt-get install xvfb); the command-line tools work without a display")


def _platform_problem(name: str, env) -> str | None:
    if name in HEADLESS:
        return None
    if name == "xcb" and not env.get("DISPLAY"):
        return NO_DISPLAY
    if name == "wayland" and not env.get("WAYLAND_DISPLAY"):
        return NO_DISPLAY
    plugin = plugin_path(name, env)
    if plugin is None:
        return f"cannot open a window: Qt's {name} platform plugin is not installed; reinstall PySide6"
    missing = missing_libraries(plugin, env, within=_pyside_root(plugin))
    if missing:
        return (f"cannot open a window: Qt's {name} platform plugin needs {', '.join(missing)}, "
                f"which {'is' if len(missing) == 1 else 'are'} not installed; install with: {install_command(missing)}")
    if name == "xcb":
        return x11_problem(env["DISPLAY"])
    if name == "wayland":
        return wayland_problem(env["WAYLAND_DISPLAY"], env.get("XDG_RUNTIME_DIR"))
    return None


def _pyside_root(plugin: Path) -> Path:
    for parent in plugin.resolve().parents:
        if parent.name == "PySide6":
            return parent
    return plugin.resolve().parent


def problem(env=None, platform: str | None = None) -> str | None:
    """None when Qt can open its window here; otherwise one line: what is missing and how to get it."""
    env = os.environ if env is None else env
    if not (platform or sys.platform).startswith("linux"):
        return None  # the macOS and Windows wheels carry what they need
    first = None
    for name in candidate_platforms(env):  # Qt falls back to the next one when one fails
        found = _platform_problem(name, env)
        if found is None:
            return None
        first = first or found
    return first
