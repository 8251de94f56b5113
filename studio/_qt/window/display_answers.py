"""Does the display named in the environment answer? Asked before any Qt module is loaded.

DISPLAY being set proves nothing: a stale ``ssh -X`` session leaves ``localhost:10.0`` behind
with no forwarding listening, a container inherits ``:0`` without the X socket. Qt's xcb plugin
then prints a paragraph and aborts the process (SIGABRT, exit 134). Here we open the socket the
X client library would open (and close it at once, before any X protocol is spoken):

- ``:N`` or ``unix:N`` → the abstract socket ``@/tmp/.X11-unix/XN`` (Linux), then the file
  ``/tmp/.X11-unix/XN``;
- ``host:N`` (``tcp/host:N``, ``[v6]:N``) → TCP port 6000 + N on that host;
- ``/path/to/socket:N`` (launchd style) → that socket file.

Wayland: ``WAYLAND_DISPLAY`` names a socket in ``XDG_RUNTIME_DIR`` (or an absolute path); a
missing socket means no compositor is there.
"""
from __future__ import annotations

import os
import re
import socket
from pathlib import Path

X11_DIR = "/tmp/.X11-unix"
TCP_TIMEOUT_S = 3.0
WHAT_TO_DO = ("start the X server or fix DISPLAY (a stale 'ssh -X' session?), or run it as 'xvfb-run -a archstudio'; "
              "the command-line tools work without a display")

_DISPLAY = re.compile(r"^(?:(?P<proto>[a-z]+)/)?(?P<host>.*):(?P<number>\d+)(?:\.\d+)?$")


def x11_problem(display: str, x11_dir: str = X11_DIR) -> str | None:
    """None when something listens where the X client would connect for ``display``; else one line."""
    if display.startswith("/"):
        path = display if Path(display).exists() else display.rsplit(":", 1)[0]
        return None if _unix_answers(path) else _no_answer(display, f"nothing listens on {path}")
    m = _DISPLAY.match(display)
    if m is None:
        return (f"cannot open a window: DISPLAY={display!r} is not a display name (expected ':0', "
                f"'host:10.0' or similar); {WHAT_TO_DO}")
    host, number = m["host"].strip("[]"), int(m["number"])
    local = host in ("", "unix") or m["proto"] == "unix"
    if local:
        path = f"{x11_dir}/X{number}"
        if _unix_answers("\0" + path) or _unix_answers(path):
            return None
        return _no_answer(display, f"no X server listens on {path}")
    port = 6000 + number
    if _tcp_answers(host, port):
        return None
    return _no_answer(display, f"nothing accepts connections on {host} port {port}")


def wayland_problem(name: str, runtime_dir: str | None) -> str | None:
    """None when the compositor's socket is there and accepts a connection; else one line."""
    if os.path.isabs(name):
        path = name
    elif runtime_dir:
        path = os.path.join(runtime_dir, name)
    else:
        return (f"cannot open a window: WAYLAND_DISPLAY={name!r} but XDG_RUNTIME_DIR is not set, so its socket "
                "cannot be found; start it from the desktop session, or unset WAYLAND_DISPLAY to use X11")
    if _unix_answers(path):
        return None
    return (f"cannot open a window: the Wayland display {name} does not answer (no compositor socket at {path}); "
            "start it from the desktop session, or unset WAYLAND_DISPLAY to use X11")


def _no_answer(display: str, why: str) -> str:
    return f"cannot open a window: the X display {display} does not answer ({why}); {WHAT_TO_DO}"


def _unix_answers(path: str) -> bool:
    if not path.startswith("\0") and not os.path.exists(path):
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(TCP_TIMEOUT_S)
            s.connect(path)
        return True
    except OSError:
        return False


def _tcp_answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=TCP_TIMEOUT_S):
            return True
    except OSError:  # refused, unreachable, unknown host, timed out
        return False
