"""A partial download's NAME.part.json is typed: a list, a string, bytes that are not UTF-8 or a
newline in its etag make `data fetch` start the download over (never an internal error, never a
request header built from the file)."""
import pytest
from hf_server import Hub

from studio import cli
from studio.core.data import download as dl

BODY = b"".join(b"Once upon a time there was story number %d.\n<|endoftext|>\n" % i for i in range(5000))
BAD = {"a list": b"[1, 2]", "a string": b'"resume me"', "not UTF-8": b'{"etag": "\xff\xfe"}',
       "a newline in the etag": b'{"url": "u", "total": 10, "etag": "abc\\r\\nX-Evil: 1", "sha256": null}',
       "a text total": b'{"total": "many", "etag": "x"}', "a bad sha": b'{"sha256": "nothex", "total": 3}',
       "nested too deep": b"[" * 5000, "a NUL": b'{"etag": "a"}\x00'}


@pytest.fixture
def hub(monkeypatch):
    with Hub({"TinyStories-valid.txt": BODY}) as h:
        monkeypatch.setenv("HF_ENDPOINT", h.url)
        yield h


@pytest.mark.parametrize("case", sorted(BAD))
def test_damaged_part_metadata_is_no_metadata(tmp_path, case):
    (tmp_path / "x.part.json").write_bytes(BAD[case])
    assert dl.read_part_meta(tmp_path / "x.part.json") == {}


@pytest.mark.parametrize("case", sorted(BAD))
def test_fetch_with_damaged_metadata_starts_over(hub, tmp_path, case):
    (tmp_path / "TinyStories-valid.txt.part").write_bytes(BODY[:1000])
    (tmp_path / "TinyStories-valid.txt.part.json").write_bytes(BAD[case])
    assert dl.download("quick", tmp_path).read_bytes() == BODY
    assert hub.requests[-1][1] is None  # no Range: nothing resumed on facts the app cannot trust
    assert sorted(p.name for p in tmp_path.iterdir()) == ["TinyStories-valid.txt"]


def test_good_metadata_still_resumes(hub, tmp_path):
    hub.cut_after = 20_000
    with pytest.raises(dl.DownloadError):
        dl.download("quick", tmp_path)
    meta = dl.read_part_meta(tmp_path / "TinyStories-valid.txt.part.json")
    assert meta["total"] == len(BODY)
    assert dl.download("quick", tmp_path).read_bytes() == BODY and hub.requests[-1][1] == "bytes=20000-"


def test_cli_data_fetch_with_a_list_as_metadata(hub, tmp_path, capsys):
    (tmp_path / "TinyStories-valid.txt.part").write_bytes(BODY[:10])
    (tmp_path / "TinyStories-valid.txt.part.json").write_bytes(b"[]")
    assert cli.main(["data", "fetch", "--subset", "quick", "--cache", str(tmp_path)]) == 0
    assert "internal error" not in capsys.readouterr().err


def test_a_linked_part_file_is_refused_and_its_target_untouched(hub, tmp_path):
    victim = tmp_path / "notes.txt"
    victim.write_bytes(b"keep me\n" * 100)
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "TinyStories-valid.txt.part").symlink_to(victim)
    with pytest.raises(dl.DownloadError, match="symbolic link"):
        dl.download("quick", cache)
    assert victim.read_bytes() == b"keep me\n" * 100
