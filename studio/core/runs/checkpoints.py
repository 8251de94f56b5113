"""Run-folder integrity: checkpoint checksums and checks, the per-run lock, and cleaning temp files
a killed writer left behind (metrics.jsonl is read by studio.core.runs.metrics).

A checkpoint is only trusted when it unpickles (``weights_only``), has the expected shape of
data and its checksum matches: zip's own CRCs are not verified by torch.load, so a flipped bit
inside a tensor used to load silently.
"""
from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

from studio.core import errors as E
from studio.core.files.schema import os_reason


# ----------------------------------------------------------------------------- checksums
def _feed(h, obj, top: bool = False) -> None:
    import torch
    if isinstance(obj, dict):
        h.update(b"{")
        for k in sorted(obj, key=repr):
            if top and k == "checksum":
                continue
            h.update(repr(k).encode() + b":")
            _feed(h, obj[k])
        h.update(b"}")
    elif isinstance(obj, (list, tuple)):
        h.update(b"[")
        for v in obj:
            _feed(h, v)
        h.update(b"]")
    elif isinstance(obj, torch.Tensor):
        t = obj.detach().cpu().contiguous()
        h.update(f"T{t.dtype}{tuple(t.shape)}".encode())
        if t.numel():
            h.update(t.reshape(-1).view(torch.uint8).numpy())
    else:
        h.update(repr(obj).encode())


def payload_digest(payload: dict) -> str:
    """sha256 over every tensor's bytes (with dtype and shape) and every plain value, keys sorted."""
    h = hashlib.sha256()
    _feed(h, payload, top=True)
    return "sha256:" + h.hexdigest()


def read_checkpoint(p: Path, map_location="cpu") -> dict:
    """torch.load(weights_only=True) of one checkpoint file, every failure one LoadError line."""
    import torch
    p = Path(p)
    try:
        st = os.stat(p)
    except FileNotFoundError:
        raise E.LoadError(f"{p}: no checkpoint; train the run first") from None
    except OSError as exc:
        raise E.LoadError(f"{p}: cannot read the checkpoint ({os_reason(exc)})") from None
    if not stat.S_ISREG(st.st_mode):
        raise E.LoadError(f"{p}: is not a regular file, so not a checkpoint")
    try:
        ck = torch.load(p, map_location=map_location, weights_only=True)
    except OSError as exc:
        raise E.LoadError(f"{p}: cannot read the checkpoint ({os_reason(exc)})") from None
    except Exception as exc:  # noqa: BLE001  the unpickler fails in many ways (IndexError on 4 bytes)
        msg = (str(exc).splitlines() or [type(exc).__name__])[0] or type(exc).__name__
        raise E.LoadError(f"{p}: unreadable or truncated checkpoint ({msg[:120]})") from None
    if not isinstance(ck, dict) or not isinstance(ck.get("model"), dict):
        raise E.LoadError(f"{p}: not an archstudio checkpoint (no 'model' weights)")
    step = ck.get("step", 0)
    if isinstance(step, bool) or not isinstance(step, int) or step < 0:
        raise E.LoadError(f"{p}: step: must be a whole number ≥ 0, got {str(step)[:40]!r}")
    if ck.get("optimizer"):  # a resumable checkpoint: what resume reads must be there, typed
        dp, rng = ck.get("data_pos"), ck.get("rng")
        if not isinstance(ck["optimizer"], dict):
            raise E.LoadError(f"{p}: optimizer: must be the optimizer's state (a mapping)")
        if not (isinstance(dp, dict) and isinstance(dp.get("tokens"), int) and isinstance(dp.get("generator"), torch.Tensor)):
            raise E.LoadError(f"{p}: data_pos: must hold the token count and the batch sampler's state")
        if not (isinstance(rng, dict) and all(isinstance(rng.get(k), torch.Tensor) for k in ("torch", "sample"))):
            raise E.LoadError(f"{p}: rng: must hold the torch and sampling generator states")
    want = ck.get("checksum")
    if want is not None:
        if payload_digest(ck) != want:
            raise E.LoadError(f"{p}: checksum mismatch: the file was damaged after it was written "
                              "(a bit flip or a partial copy); resume uses the previous checkpoint")
    return ck


# ----------------------------------------------------------------------------- lock + temp files
def clean_stale_temp_files(folder: Path) -> list[Path]:
    """Remove ``.NAME.XXXX.tmp`` files a killed atomic write left (only call with the run locked)."""
    removed = []
    for d in (folder, folder / "checkpoints", folder / "tokenizer"):
        if d != folder and d.is_symlink():
            continue  # a linked folder is not the run's own: nothing in it was written by this run
        try:
            cands = [p for p in d.iterdir() if p.name.startswith(".") and p.name.endswith(".tmp") and p.is_file()]
        except OSError:
            continue
        for p in cands:
            try:
                p.unlink()
                removed.append(p)
            except OSError:
                pass
    return removed


def _open_lock_file(path: Path) -> int:
    """RUN_DIR/.lock, created with O_EXCL|O_NOFOLLOW; one left by an earlier (dead) trainer is
    reused only when it is a plain file of its own (not a symlink, FIFO or hard link to another
    file): the pid written into it must never land in a file outside the run."""
    flags = os.O_RDWR | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        try:
            fd = os.open(path, flags | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            fd = os.open(path, flags)  # a stale lock file; the flock below says whether it is held
    except OSError as exc:
        why = "it is a symbolic link; remove it" if os.path.islink(path) else os_reason(exc)
        raise E.StudioError(f"{path.parent}: cannot lock the run folder: {path.name} ({why})") from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or st.st_nlink != 1:
        os.close(fd)
        what = "not a regular file" if not stat.S_ISREG(st.st_mode) else "linked to another file (a hard link)"
        raise E.StudioError(f"{path.parent}: cannot lock the run folder: {path.name} is {what}; remove it")
    return fd


class RunLock:
    """``with RunDir(p).lock():`` — an exclusive, non-blocking flock on ``RUN_DIR/.lock``.
    A second trainer of the same folder is refused in one line instead of interleaving its
    metrics and checkpoints; the kernel drops the lock when the process dies (even kill -9)."""

    def __init__(self, folder):
        self.folder = Path(folder)
        self.path = self.folder / ".lock"
        self.fd: int | None = None
        self.removed: list[Path] = []

    def __enter__(self) -> "RunLock":
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: no advisory locks; run unlocked
            return self
        self.fd = _open_lock_file(self.path)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            try:
                other = os.pread(self.fd, 32, 0).decode("ascii", "replace").strip() or "?"
            finally:
                os.close(self.fd)
                self.fd = None
            raise E.StudioError(f"{self.folder}: another archstudio process (pid {other}) is training this run; "
                                "wait for it to finish or stop it") from None
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, str(os.getpid()).encode(), 0)
        self.removed = clean_stale_temp_files(self.folder)
        return self

    def __exit__(self, *exc) -> None:
        if self.fd is not None:
            os.close(self.fd)  # releases the flock
            self.fd = None
