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
from typing import Self

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


# ----------------------------------------------------------------------------- contents
def _tensors(obj, path: str = "", depth: int = 0):
    """(path, tensor) of every tensor in a loaded checkpoint (dicts and lists, as it was saved)."""
    import torch
    if depth > 32:
        raise E.LoadError(f"{path}: nested more than 32 levels; not a checkpoint this app wrote")
    if isinstance(obj, torch.Tensor):
        yield path, obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield from _tensors(v, f"{path}.{str(k)[:60]}" if path else str(k)[:60], depth + 1)
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            yield from _tensors(v, f"{path}[{i}]", depth + 1)


def _tensor_problem(t) -> str | None:
    """Why a loaded tensor is not one a checkpoint holds: its layout, device, dtype, or a view that
    claims more elements than its storage has (an expanded view: reading it would materialise them)."""
    import torch
    if t.layout != torch.strided:
        return f"a {str(t.layout).removeprefix('torch.')} tensor; checkpoints hold dense tensors"
    if t.device.type == "meta":
        return "a tensor without data (on the meta device)"
    if t.is_complex() or t.is_quantized:
        return f"a {str(t.dtype).removeprefix('torch.')} tensor; checkpoints hold real numbers"
    need = t.numel() * t.element_size()
    have = t.untyped_storage().nbytes() - t.storage_offset() * t.element_size()
    if need > have:
        return (f"a {'×'.join(map(str, t.shape))} view of {max(0, have):,} stored bytes (an expanded or "
                "overlapping tensor; an app-written checkpoint stores every value)")
    return None


def _check_contents(ck: dict, p: Path, expect: dict | None) -> None:
    """Before any tensor's data is read (the checksum reads them all): types, layouts, storage sizes,
    the generator states' type, and the model's shapes against ``expect`` (run.yaml's model)."""
    import torch
    for key, t in _tensors(ck):
        why = _tensor_problem(t)
        if why:
            raise E.LoadError(f"{p}: {key}: {why}")
    bad = next((k for k, v in ck["model"].items() if not isinstance(v, torch.Tensor)), None)
    if bad is not None:
        raise E.LoadError(f"{p}: model: entry {str(bad)[:80]!r} is a {type(ck['model'][bad]).__name__}, not a tensor")
    states = {"rng.torch": (ck.get("rng") or {}).get("torch"), "data_pos.generator": (ck.get("data_pos") or {}).get("generator")}
    for key, st in states.items():
        if isinstance(st, torch.Tensor):
            try:
                torch.Generator().set_state(st)
            except (RuntimeError, TypeError) as exc:
                raise E.LoadError(f"{p}: {key}: not a random generator's state "
                                  f"({st.dtype} × {st.numel()}: {str(exc).splitlines()[0][:80]})") from None
    sample = (ck.get("rng") or {}).get("sample")
    if isinstance(sample, torch.Tensor) and (sample.dtype != torch.uint8 or sample.dim() != 1):
        raise E.LoadError(f"{p}: rng.sample: not a random generator's state (a {sample.dtype} tensor, not bytes)")
    if expect is not None:
        from studio.core.runs.weights import mis_shaped
        shaped = mis_shaped(ck["model"], expect)
        if shaped:
            more = f" and {len(shaped) - 2} more" if len(shaped) > 2 else ""
            raise E.LoadError(f"{p}: the weights do not fit run.yaml's model: {len(shaped)} mis-shaped "
                              f"({', '.join(shaped[:2])}{more})")


def _check_finite(ck: dict, p: Path) -> None:
    """After the checksum: a model whose weights hold NaN or infinity cannot sample or train."""
    import torch
    for k, t in ck["model"].items():
        if t.is_floating_point() and not bool(torch.isfinite(t).all()):
            raise E.LoadError(f"{p}: the model's weights are not finite (NaN or infinity in {str(k)[:80]}); "
                              "the run diverged or the file was edited")


def read_checkpoint(p: Path, map_location="cpu", expect: dict | None = None) -> dict:
    """torch.load(weights_only=True) of one checkpoint file, every failure one LoadError line.
    ``expect``: the model's own {name: tensor or shape}, checked before any tensor data is read."""
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
    _check_contents(ck, p, expect)
    want = ck.get("checksum")
    if want is not None and payload_digest(ck) != want:
        raise E.LoadError(f"{p}: checksum mismatch: the file was damaged after it was written "
                          "(a bit flip or a partial copy); resume uses the previous checkpoint")
    _check_finite(ck, p)
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

    def __enter__(self) -> Self:
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
