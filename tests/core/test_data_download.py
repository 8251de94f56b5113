"""TinyStories download against a real HTTP server on 127.0.0.1 (HF_ENDPOINT), no internet."""
import os
import socket

import pytest

from hf_server import Hub
from studio.core.data import download as dl

BODY = b"".join(b"Once upon a time there was story number %d.\n<|endoftext|>\n" % i for i in range(20000))


@pytest.fixture
def hub(monkeypatch):
    with Hub({"TinyStories-valid.txt": BODY}) as h:
        monkeypatch.setenv("HF_ENDPOINT", h.url)
        yield h


def test_download_with_progress(hub, tmp_path):
    seen = []
    p = dl.download("quick", tmp_path, progress=lambda d, t: seen.append((d, t)))
    assert p == tmp_path / "TinyStories-valid.txt" and p.read_bytes() == BODY
    assert seen[-1] == (len(BODY), len(BODY)) and len(seen) > 3
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert not list(tmp_path.glob("*.part*"))
    assert dl.cached_path("quick", tmp_path) == p
    n = len(hub.requests)
    assert dl.download("quick", tmp_path) == p and len(hub.requests) == n  # cached: no request


def test_resume_after_cut_connection(hub, tmp_path):
    hub.cut_after = 300_000
    with pytest.raises(dl.DownloadError, match="resume"):
        dl.download("quick", tmp_path)
    part = tmp_path / "TinyStories-valid.txt.part"
    assert part.stat().st_size == 300_000
    assert not (tmp_path / "TinyStories-valid.txt").exists()  # a partial file is never used
    p = dl.download("quick", tmp_path)
    assert p.read_bytes() == BODY
    assert hub.requests[-1][1] == "bytes=300000-"  # only the missing bytes were asked for


def test_cancel_keeps_partial_for_resume(hub, tmp_path):
    calls = []
    with pytest.raises(dl.DownloadCancelled):
        dl.download("quick", tmp_path, should_cancel=lambda: len(calls) > 2 or calls.append(1) and False)
    assert (tmp_path / "TinyStories-valid.txt.part").is_file()
    assert dl.download("quick", tmp_path).read_bytes() == BODY
    assert hub.requests[-1][1] is not None


def test_corrupt_file_rejected(hub, tmp_path):
    hub.corrupt = True
    with pytest.raises(dl.DownloadError, match="corrupt"):
        dl.download("quick", tmp_path)
    assert not list(tmp_path.iterdir())  # nothing half-written is left to be used
    hub.corrupt = False
    assert dl.download("quick", tmp_path).read_bytes() == BODY


def test_server_error_and_offline(monkeypatch, tmp_path):
    with Hub({}) as h:
        monkeypatch.setenv("HF_ENDPOINT", h.url)
        with pytest.raises(dl.DownloadError, match="404"):
            dl.download("quick", tmp_path)
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there: as good as offline
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    with pytest.raises(dl.DownloadError, match="offline"):
        dl.download("quick", tmp_path)


def test_cache_dir_and_endpoint_follow_env(monkeypatch, tmp_path):
    monkeypatch.setenv("ARCHSTUDIO_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("HF_ENDPOINT", "http://mirror.example/")
    assert dl.data_cache_dir() == tmp_path / "tinystories"
    assert dl.subset_url("full") == "http://mirror.example/datasets/roneneldan/TinyStories/resolve/main/TinyStories-train.txt"
    monkeypatch.delenv("ARCHSTUDIO_CACHE_DIR")
    assert "archstudio" in str(dl.cache_root()) and os.path.isabs(dl.cache_root())
