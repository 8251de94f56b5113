"""Core parts of the projector issue's defects: live samples never show mojibake (only complete
UTF-8 is decoded, an incomplete character at the end is held back, a byte that is not UTF-8 is
shown as \\xHH instead of U+FFFD); End goes to 2026; an offline download error is in words."""
from studio.core.state.timeline import Timeline
from studio.core.tokenizers import BOS, readable_utf8
from studio.core.tokenizers.byte_level import ByteTokenizer


def test_split_character_is_held_back_then_complete():
    tok = ByteTokenizer()
    ids = tok.encode("Once upon a café", bos=True)
    assert tok.decode(ids[:-1]) == "Once upon a caf"  # the é's first byte alone: held back
    assert tok.decode(ids) == "Once upon a café"
    assert all("\ufffd" not in tok.decode(ids[:n]) for n in range(1, len(ids) + 1))


def test_invalid_bytes_are_shown_readably():
    tok = ByteTokenizer()
    ids = [BOS] + [b + 3 for b in b"On\xffy\x80G"]
    assert tok.decode(ids) == "On\\xffy\\x80G"
    assert readable_utf8(b"\xe2\x80", final=True) == "\\xe2\\x80"


def test_end_goes_to_the_last_milestone_not_the_last_recipe():
    tl = Timeline()
    tl.last()
    assert tl.current_id == tl.milestone_ids[-1] and tl.current_id.startswith("2026")


def test_offline_download_error_is_in_words(monkeypatch, tmp_path):
    import socket
    import urllib.error

    import pytest

    from studio.core.data import download as dl

    def offline(*_a, **_k):
        raise urllib.error.URLError(socket.gaierror(-3, "Temporary failure in name resolution"))
    monkeypatch.setattr(dl.urllib.request.OpenerDirector, "open", offline)
    with pytest.raises(dl.DownloadError) as err:
        dl.fetch("https://example.invalid/x.bin", tmp_path / "x.bin")
    text = str(err.value)
    assert "offline" in text and "name could not be looked up" in text
    assert "Errno" not in text and "--" not in text and "gaierror" not in text
