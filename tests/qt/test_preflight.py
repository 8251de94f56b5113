"""Start anywhere: without a display, or with a system library of Qt's platform plugin missing,
``archstudio`` prints one line naming what is missing and how to install it, and exits 2 —
before Qt can abort the process. The environments are made for real: a fake platform plugin
(a minimal ELF whose DT_NEEDED names a library that does not exist) found through
QT_QPA_PLATFORM_PLUGIN_PATH, and LD_LIBRARY_PATH folders the linker would search."""
import os
import struct
import subprocess
import sys

from studio._qt.window import preflight

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def write_elf(path, needed: list[str], runpath: str = ""):
    """A minimal 64-bit little-endian ELF shared object with a dynamic section (what ld.so reads)."""
    strtab = b"\0"
    offsets = []
    for name in needed + ([runpath] if runpath else []):
        offsets.append(len(strtab))
        strtab += name.encode() + b"\0"
    dyn = [(1, o) for o in offsets[:len(needed)]]
    if runpath:
        dyn.append((29, offsets[-1]))
    ehdr, phdr = 64, 56
    dyn_off = ehdr + 2 * phdr
    str_off = dyn_off + 16 * (len(dyn) + 2)
    dyn += [(5, str_off), (0, 0)]  # DT_STRTAB (vaddr == file offset: one PT_LOAD at 0), DT_NULL
    size = str_off + len(strtab)
    out = bytearray(b"\x7fELF" + bytes([2, 1, 1]) + bytes(9))
    out += struct.pack("<HHIQQQIHHHHHH", 3, 62, 1, 0, ehdr, 0, 0, ehdr, phdr, 2, 64, 0, 0)
    out += struct.pack("<IIQQQQQQ", 1, 5, 0, 0, 0, size, size, 0x1000)  # PT_LOAD
    out += struct.pack("<IIQQQQQQ", 2, 6, dyn_off, dyn_off, dyn_off, 16 * len(dyn), 16 * len(dyn), 8)  # PT_DYNAMIC
    for tag, val in dyn:
        out += struct.pack("<qQ", tag, val)
    out += strtab
    path.write_bytes(bytes(out))
    return path


def _fake_plugin(tmp_path, needed):
    plugins = tmp_path / "platforms"
    plugins.mkdir()
    write_elf(plugins / "libqxcb.so", needed)
    return plugins


def _env(**extra):
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM", "XDG_SESSION_TYPE", "QT_QPA_PLATFORM_PLUGIN_PATH")}
    env.update(extra)
    return env


def _run(env, *args):
    return subprocess.run([sys.executable, "-m", "studio", *args], capture_output=True, text=True, cwd=ROOT,
                          env=env, timeout=120, check=False)


def test_elf_reader_finds_needed_and_runpath(tmp_path):
    lib = write_elf(tmp_path / "libx.so", ["libone.so.1", "libtwo.so.2"], runpath="$ORIGIN/../lib")
    needed, dirs = preflight.elf_dynamic(lib)
    assert needed == ["libone.so.1", "libtwo.so.2"]
    assert dirs == [str(tmp_path.resolve() / ".." / "lib")]


def test_real_xcb_plugin_is_read():
    plugin = preflight.plugin_path("xcb", {})
    assert plugin is not None and plugin.name == "libqxcb.so"
    needed, _ = preflight.elf_dynamic(plugin)
    assert "libQt6XcbQpa.so.6" in needed  # the real dependency chain Qt loads


def test_missing_library_named_with_its_install_command(tmp_path):
    present = tmp_path / "libs"
    present.mkdir()
    write_elf(present / "libpresent-test.so.1", [])
    plugins = _fake_plugin(tmp_path, ["libpresent-test.so.1", "libxcb-cursor-absent-test.so.0"])
    env = {"DISPLAY": ":99", "QT_QPA_PLATFORM_PLUGIN_PATH": str(plugins), "LD_LIBRARY_PATH": str(present)}
    found = preflight.problem(env, platform="linux")
    assert "libxcb-cursor-absent-test.so.0" in found and "libpresent-test.so.1" not in found
    assert "install" in found
    # found through LD_LIBRARY_PATH: nothing missing (and a display that answers: a listening socket)
    write_elf(present / "libxcb-cursor-absent-test.so.0", [])
    import socket
    with socket.socket(socket.AF_UNIX) as x_server:
        x_server.bind(str(tmp_path / "X99"))
        x_server.listen()
        assert preflight.problem(dict(env, DISPLAY=f"{tmp_path / 'X99'}:99"), platform="linux") is None


def test_known_libraries_map_to_distribution_packages():
    debian = 'ID=ubuntu\nID_LIKE=debian\n'
    fedora = 'ID="fedora"\n'
    assert preflight.install_command(["libxcb-cursor.so.0", "libxkbcommon-x11.so.0"], debian) == \
        "sudo apt-get install libxcb-cursor0 libxkbcommon-x11-0"
    assert preflight.install_command(["libxcb-cursor.so.0"], fedora) == "sudo dnf install xcb-util-cursor"
    both = preflight.install_command(["libEGL.so.1"], "ID=arch\n")
    assert "apt-get install libegl1" in both and "dnf install libglvnd-egl" in both


def test_platform_choice_follows_qt():
    assert preflight.problem({"QT_QPA_PLATFORM": "offscreen"}, platform="linux") is None
    assert preflight.problem({}, platform="darwin") is None and preflight.problem({}, platform="win32") is None
    assert preflight.candidate_platforms({"QT_QPA_PLATFORM": "wayland;xcb"}) == ["wayland", "xcb"]
    assert preflight.candidate_platforms({"XDG_SESSION_TYPE": "wayland", "WAYLAND_DISPLAY": "wayland-0"}) == ["wayland", "xcb"]


def test_no_display_one_line_exit_2():
    r = _run(_env())
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert r.stderr.count("\n") == 1 and "no display" in r.stderr and "xvfb-run" in r.stderr
    assert "Aborted" not in r.stderr and "qt.qpa" not in r.stderr


def test_missing_xcb_library_one_line_exit_2(tmp_path):
    plugins = _fake_plugin(tmp_path, ["libxcb-cursor.so.0-absent-test"])
    r = _run(_env(DISPLAY=":99", QT_QPA_PLATFORM_PLUGIN_PATH=str(plugins)))
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert r.stderr.count("\n") == 1 and "libxcb-cursor.so.0-absent-test" in r.stderr and "install" in r.stderr


def test_doctor_checks_the_platform_the_window_uses(tmp_path):
    plugins = _fake_plugin(tmp_path, ["libxcb-icccm-absent-test.so.4"])
    r = _run(_env(DISPLAY=":99", QT_QPA_PLATFORM_PLUGIN_PATH=str(plugins)), "doctor")
    line = next(x for x in r.stdout.splitlines() if "Qt platform" in x)
    assert "[MISSING]" in line and "libxcb-icccm-absent-test.so.4" in line, r.stdout
    assert r.returncode == 1  # (the offscreen pass is tests/core/test_doctor.py's)


def test_readme_lists_the_packages_of_every_library_the_xcb_plugin_needs():
    plugin = preflight.plugin_path("xcb", {})
    libs = preflight.system_libraries(plugin)
    assert "libxcb-cursor.so.0" in libs and "libQt6XcbQpa.so.6" not in libs
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    deb = next(line for line in readme.splitlines() if line.startswith("| Debian / Ubuntu |"))
    fed = next(line for line in readme.splitlines() if line.startswith("| Fedora |"))
    unmapped = [n for n in libs if n not in preflight.PACKAGES]
    assert not unmapped, f"no package known for {unmapped}"
    for name in libs:
        d, f = preflight.PACKAGES[name]
        assert f" {d}" in deb and f" {f}" in fed, name


# ---------------------------------------------------------------- a display that does not answer

def _free_display_number() -> int:
    """An X display number nothing serves here: no socket file and no abstract socket."""
    import socket
    for n in range(59, 400):
        path = f"/tmp/.X11-unix/X{n}"
        if os.path.exists(path):
            continue
        with socket.socket(socket.AF_UNIX) as s:
            if s.connect_ex("\0" + path) != 0:
                return n
    raise AssertionError("every display number from 59 to 399 is served here")


def _closed_tcp_port() -> int:
    import socket
    with socket.socket() as s:  # bound then closed: nothing listens there afterwards
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unanswered_display_one_line_exit_2_before_qt():
    n = _free_display_number()
    r = _run(_env(DISPLAY=f":{n}"))
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert r.stderr.count("\n") == 1, r.stderr
    assert f"X display :{n} does not answer" in r.stderr and "xvfb-run" in r.stderr and "DISPLAY" in r.stderr
    assert "Aborted" not in r.stderr and "qt.qpa" not in r.stderr and "Traceback" not in r.stderr


def test_stale_ssh_forwarding_display_is_named_with_its_port():
    port = _closed_tcp_port()
    line = preflight.problem({"DISPLAY": f"127.0.0.1:{port - 6000}.0"}, platform="linux")
    assert line and f"127.0.0.1 port {port}" in line and "ssh -X" in line


def test_a_display_that_answers_passes(tmp_path):
    import socket

    from studio._qt.window.display_answers import x11_problem
    with socket.socket(socket.AF_UNIX) as x0, socket.socket() as tcp:
        x0.bind(str(tmp_path / "X7"))
        x0.listen()
        assert x11_problem(":7", x11_dir=str(tmp_path)) is None
        assert x11_problem("unix:7.0", x11_dir=str(tmp_path)) is None
        assert "does not answer" in x11_problem(":8", x11_dir=str(tmp_path) + "/none")
        tcp.bind(("127.0.0.1", 0))
        tcp.listen()
        assert x11_problem(f"127.0.0.1:{tcp.getsockname()[1] - 6000}") is None
    assert "not a display name" in x11_problem("no-colon-here")


def test_wayland_socket_missing_or_answering(tmp_path):
    import socket
    env = {"XDG_SESSION_TYPE": "wayland", "WAYLAND_DISPLAY": "wayland-5", "XDG_RUNTIME_DIR": str(tmp_path),
           "QT_QPA_PLATFORM": "wayland"}
    line = preflight.problem(env, platform="linux")
    assert line and "Wayland display wayland-5 does not answer" in line and str(tmp_path / "wayland-5") in line
    with socket.socket(socket.AF_UNIX) as compositor:
        compositor.bind(str(tmp_path / "wayland-5"))
        compositor.listen()
        assert preflight.problem(env, platform="linux") is None
