"""TinyStories from the Hugging Face hub: resumable download into the user cache dir.

The endpoint follows ``HF_ENDPOINT`` as huggingface_hub does (mirrors, and the loopback server
of the tests). A download goes to ``NAME.part`` next to a small ``NAME.part.json`` remembering
the server's size and ETag; a later call asks only for the missing bytes (HTTP Range, guarded
by If-Range so a changed file restarts from zero). Hub files stored in LFS carry their sha256
as ETag: when present it is checked before the file is renamed into place, so a corrupt or
short file is never used.
"""
from __future__ import annotations

import hashlib
import http.client
import json
import os
import re
import socket
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from studio.core import errors as E
from studio.core.files.yamlio import atomic_write_text

REPO = "roneneldan/TinyStories"
LICENSE = "CDLA-Sharing-1.0"
ATTRIBUTION = ("TinyStories by Ronen Eldan and Yuanzhi Li (2023), huggingface.co/datasets/roneneldan/TinyStories, "
               "licensed under CDLA-Sharing-1.0")
CHUNK = 1 << 16


@dataclass(frozen=True)
class Subset:
    name: str
    filename: str
    approx_bytes: int
    what: str


SUBSETS = {
    "quick": Subset("quick", "TinyStories-valid.txt", 19_300_000, "the V1 validation text file (~22k stories)"),
    "full": Subset("full", "TinyStories-train.txt", 1_920_000_000, "the V1 training text file (~2.1M stories)"),
}


class DownloadError(E.StudioError):
    """The download failed while working (offline, server error, corrupt file): CLI exit 1."""


class DownloadCancelled(E.StudioError):
    pass


def cache_root() -> Path:
    """archstudio's cache: ``ARCHSTUDIO_CACHE_DIR`` if set, else the platform's user cache dir."""
    env = os.environ.get("ARCHSTUDIO_CACHE_DIR")
    if env:
        return Path(env)
    import platformdirs
    return Path(platformdirs.user_cache_dir("archstudio", appauthor=False))


def data_cache_dir(cache: str | Path | None = None) -> Path:
    return Path(cache) if cache else cache_root() / "tinystories"


def endpoint() -> str:
    return os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")


def subset_url(subset: str) -> str:
    return f"{endpoint()}/datasets/{REPO}/resolve/main/{SUBSETS[subset].filename}"


def cached_path(subset: str, cache: str | Path | None = None) -> Path | None:
    """The finished download of a subset, or None."""
    p = data_cache_dir(cache) / SUBSETS[subset].filename
    return p if p.is_file() else None


def _sha_etag(headers) -> str | None:
    for key in ("X-Linked-Etag", "ETag"):
        v = (headers.get(key) or "").strip().strip('"')
        if v.startswith("W/"):
            v = v[2:].strip('"')
        if re.fullmatch(r"[0-9a-f]{64}", v):
            return v
    return None


def download(subset: str = "quick", cache: str | Path | None = None,
             progress: Callable[[int, int | None], None] | None = None,
             should_cancel: Callable[[], bool] | None = None, timeout: float = 30.0) -> Path:
    """Download a TinyStories subset (resuming a previous partial download); return its path.

    ``progress(done_bytes, total_bytes_or_None)`` is called as bytes arrive; ``should_cancel``
    is polled between chunks (a cancelled download keeps its .part file for a later resume).
    """
    if subset not in SUBSETS:
        raise E.StudioError(f"unknown TinyStories subset {subset!r}; choose {' or '.join(SUBSETS)}")
    return fetch(subset_url(subset), data_cache_dir(cache) / SUBSETS[subset].filename, progress, should_cancel,
                 timeout)


class _RedirectHeaders(urllib.request.HTTPRedirectHandler):
    """Follows redirects as urllib does, but keeps what the first answer said about the file: the
    hub answers a large (LFS) file with a redirect to its CDN whose headers X-Linked-Etag (the
    sha256) and X-Linked-Size describe the file; the CDN's own ETag is some other hash."""

    def __init__(self):
        self.linked: dict[str, str] = {}

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        for key in ("X-Linked-Etag", "X-Linked-Size"):
            if headers.get(key) and key not in self.linked:
                self.linked[key] = headers.get(key)
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None and new.has_header("If-range"):
            new.remove_header("If-range")  # the hub's ETag means nothing to the CDN; sha256 guards instead
        return new


def fetch(url: str, final: Path, progress: Callable[[int, int | None], None] | None = None,
          should_cancel: Callable[[], bool] | None = None, timeout: float = 30.0, *,
          expected_size: int | None = None, trust_etag_sha: bool = True,
          validate: Callable[[Path], None] | None = None, _retry: bool = True) -> Path:
    """Download ``url`` to ``final`` (cached: an existing ``final`` is returned at once), resuming
    ``final.part``. Before the rename the file must have the announced (or ``expected_size``)
    size, the sha256 the server announced (X-Linked-Etag; a 64-hex ETag if ``trust_etag_sha``),
    and pass ``validate(part_path)`` (which raises a StudioError for a malformed file)."""
    final = Path(final)
    if final.is_file():
        if progress:
            progress(final.stat().st_size, final.stat().st_size)
        return final
    folder = final.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise E.StudioError(f"{folder}: cannot create the cache folder ({exc.strerror}); pass --cache DIR") from None
    part, meta_path = final.with_name(final.name + ".part"), final.with_name(final.name + ".part.json")
    if part.is_symlink():  # writing it would write the file it leads to, outside the cache
        raise DownloadError(f"{part}: is a symbolic link; the download writes only its own file (remove the link)")
    meta = read_part_meta(meta_path) if part.is_file() else {}
    have = part.stat().st_size if part.is_file() and meta else 0
    req = urllib.request.Request(url, headers={"User-Agent": "archstudio"})
    if have:
        req.add_header("Range", f"bytes={have}-")
        if meta.get("etag"):
            req.add_header("If-Range", meta["etag"])
    host = urllib.parse.urlsplit(url).netloc
    redirects = _RedirectHeaders()
    opener = urllib.request.build_opener(redirects)
    try:
        resp = opener.open(req, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have and meta.get("total") == have:
            resp = None  # everything is already here; verify below
        else:
            raise DownloadError(f"{url}: the server answered HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, socket.timeout, OSError) as exc:
        raise DownloadError(f"cannot reach {host}: {unreachable_reason(getattr(exc, 'reason', exc))}. It looks "
                            "like this computer is offline: try again when online, or train on a local text "
                            "file or on the built-in starter corpus") from None
    if resp is not None:
        with resp:
            linked_sha = _sha_etag({"X-Linked-Etag": redirects.linked.get("X-Linked-Etag")})
            sha = linked_sha or (_sha_etag(resp.headers) if trust_etag_sha else None)
            if have and sha and meta.get("sha256") and sha != meta["sha256"]:
                resp.close()  # the file changed on the server since the partial download: start over
                part.unlink(missing_ok=True)
                meta_path.unlink(missing_ok=True)
                if _retry:
                    return fetch(url, final, progress, should_cancel, timeout, expected_size=expected_size,
                                 trust_etag_sha=trust_etag_sha, validate=validate, _retry=False)
                raise DownloadError(f"{url}: the file keeps changing on the server; try again later")
            if resp.status == 206 and have:
                m = re.match(r"bytes (\d+)-\d+/(\d+|\*)", resp.headers.get("Content-Range", ""))
                if not m or int(m.group(1)) != have:
                    raise DownloadError(f"{url}: the server resumed at the wrong offset; delete {part} and retry")
                total = int(m.group(2)) if m.group(2) != "*" else meta.get("total")
                mode = "ab"
            else:  # a full answer: start over (first download, or the file changed on the server)
                have, mode = 0, "wb"
                cl = resp.headers.get("Content-Length")
                total = int(cl) if cl and cl.isdigit() else None
            linked_size = redirects.linked.get("X-Linked-Size", "")
            if total is None and linked_size.isdigit():
                total = int(linked_size)
            if expected_size is not None and total is not None and total != expected_size:
                raise DownloadError(f"{url}: the server offers {total:,} bytes, not the expected {expected_size:,}; "
                                    "it is not the file archstudio knows")
            etag = resp.headers.get("ETag") or resp.headers.get("X-Linked-Etag")
            sha = sha or (meta.get("sha256") if mode == "ab" else None)
            meta = {"url": url, "total": total if total is not None else expected_size, "etag": etag, "sha256": sha}
            atomic_write_text(meta_path, json.dumps(meta))
            _copy(resp, part, mode, have, meta["total"], progress, should_cancel, url)
    return _finish(part, meta_path, final, meta, validate)


def read_part_meta(meta_path: Path) -> dict:
    """``NAME.part.json`` typed (file_schemas.PART_META); anything else (a list, a string, not
    UTF-8, a newline in the etag that would go into a request header) is no metadata: the
    partial download is started over instead of resumed on facts the app cannot trust."""
    from studio.core.files.file_schemas import PART_META, check
    from studio.core.files.schema import load_json, read_text
    try:
        return check(load_json(read_text(meta_path, 64 * 1024, "download note"), str(meta_path)), PART_META,
                     str(meta_path))
    except E.StudioError:
        return {}


def unreachable_reason(reason) -> str:
    """Why a server could not be reached, in words (no errno numbers, no library names)."""
    if isinstance(reason, socket.gaierror):
        return "its name could not be looked up (no network, or no DNS)"
    if isinstance(reason, (socket.timeout, TimeoutError)):
        return "it did not answer in time"
    if isinstance(reason, ConnectionRefusedError):
        return "the connection was refused"
    if isinstance(reason, (ConnectionResetError, ConnectionAbortedError)):
        return "the connection was cut"
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror[0].lower() + reason.strerror[1:]
    text = str(reason)
    return re.sub(r"^\[Errno -?\d+\]\s*", "", text) or "no connection"


def _copy(resp, part: Path, mode: str, have: int, total, progress, should_cancel, url: str) -> None:
    done = have
    if progress:
        progress(done, total)
    try:
        flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if mode == "ab" else os.O_TRUNC) | getattr(os, "O_NOFOLLOW", 0)
        with os.fdopen(os.open(part, flags, 0o666), mode) as fh:
            while True:
                if should_cancel and should_cancel():
                    raise DownloadCancelled(f"download cancelled at {done:,} bytes; run it again to resume")
                chunk = resp.read(CHUNK)
                if not chunk:
                    break
                fh.write(chunk)
                done += len(chunk)
                if progress:
                    progress(done, total)
    except (OSError, http.client.HTTPException) as exc:  # cut connection, timeout, IncompleteRead
        raise DownloadError(f"the download from {url} broke off at {done:,} bytes ({type(exc).__name__}); "
                            "run the same command again to resume") from None


def _finish(part: Path, meta_path: Path, final: Path, meta: dict, validate=None) -> Path:
    size = part.stat().st_size if part.is_file() else 0
    total = meta.get("total")
    if total is not None and size < total:
        raise DownloadError(f"the download stopped at {size:,} of {total:,} bytes; run the same command again to resume")
    if total is not None and size > total:
        part.unlink()
        meta_path.unlink(missing_ok=True)
        raise DownloadError(f"{final.name}: received {size:,} bytes, more than the {total:,} announced; "
                            "the partial file was deleted, run the command again")
    if meta.get("sha256"):
        h = hashlib.sha256()
        with open(part, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        if h.hexdigest() != meta["sha256"]:
            part.unlink()
            meta_path.unlink(missing_ok=True)
            raise DownloadError(f"{final.name}: the downloaded file is corrupt (sha256 mismatch); "
                                "it was deleted, run the command again")
    if validate is not None:
        try:
            validate(part)
        except E.StudioError as exc:
            part.unlink(missing_ok=True)
            meta_path.unlink(missing_ok=True)
            raise DownloadError(f"{final.name}: the downloaded file is corrupt ({exc}); it was deleted, "
                                "run the command again") from None
    os.replace(part, final)
    meta_path.unlink(missing_ok=True)
    return final
