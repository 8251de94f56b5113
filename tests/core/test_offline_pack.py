"""Help → Offline pack's core: download + default vocabularies, against a loopback hub."""
import pytest

from hf_server import Hub
from studio.core.data.starter import starter_stories
from studio.core.classroom.offline_pack import PackDone, PackDownload, PackTokenizer, default_bpe_sizes, prepare


@pytest.fixture
def hub(monkeypatch):
    body = "".join(s + "\n<|endoftext|>\n" for s in starter_stories(400)).encode()
    with Hub({"TinyStories-valid.txt": body}) as h:
        monkeypatch.setenv("HF_ENDPOINT", h.url)
        yield h


def test_offline_pack_downloads_and_prepares_vocabularies(hub, tmp_path):
    events = list(prepare("quick", tmp_path, sizes=[320]))
    assert isinstance(events[0], PackDownload) and isinstance(events[-1], PackDone)
    assert [type(e) for e in events].count(PackTokenizer) == 1
    assert any(isinstance(e, PackDownload) and e.total and e.done == e.total == len(hub.files["TinyStories-valid.txt"])
               for e in events), "the download's bytes, live"
    assert (tmp_path / "TinyStories-valid.txt").is_file()
    assert list((tmp_path / "tokenizers").rglob("*.model")), "the BPE vocabulary is cached"
    n = len(hub.requests)
    again = list(prepare("quick", tmp_path, sizes=[320]))  # everything cached: no network, same result
    assert len(hub.requests) == n and again[-1].message == events[-1].message


def test_offline_pack_offline_is_a_clear_error(monkeypatch, tmp_path):
    from studio.core.errors import StudioError
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    with pytest.raises(StudioError):
        list(prepare("quick", tmp_path, sizes=[320]))


def test_a_cancelled_pack_stops_before_its_vocabularies(hub, tmp_path):
    from studio.core.errors import StudioError
    from studio.core.jobs.control import JobControl
    control = JobControl()
    seen = []
    with pytest.raises(StudioError, match="cancelled"):
        for ev in prepare("quick", tmp_path, control, sizes=[320]):
            seen.append(ev)
            if isinstance(ev, PackDownload) and ev.message.endswith("cached at " + str(tmp_path / "TinyStories-valid.txt")):
                control.stop()
    assert not [e for e in seen if isinstance(e, PackTokenizer)] and not list(tmp_path.rglob("*.model"))


def test_default_sizes_come_from_the_presets():
    sizes = default_bpe_sizes()
    assert 512 in sizes and all(259 < s <= 8192 for s in sizes)
