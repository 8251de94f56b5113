"""Issue 17: a damaged recovery file never stops the start-up; it is moved aside with a note."""
from __future__ import annotations

import pytest

from studio.core.files.presets import load_preset
from studio.core.files.project import Project, recoveries, write_recovery

GOOD_NAME = "0000000000000001.recovery.yaml"


def _good(folder):
    return write_recovery(Project(load_preset("recipe-microgpt"), name="good"), folder / GOOD_NAME)


@pytest.mark.parametrize("patch", [
    ("saved_at: ", "saved_at: abc\n"), ("recovery_of: ", "recovery_of: 5\n"), ("schema_version: ", "schema_version: x\n"),
    ("kind: ", "kind: nope\n"), None,
])
def test_corrupt_recovery_is_set_aside_with_a_note(tmp_path, patch):
    good = _good(tmp_path)
    bad = tmp_path / "00000000000000ff.recovery.yaml"
    text = good.read_text()
    if patch is None:
        bad.write_bytes(b"\xff\xfe not yaml [")
    else:
        key, repl = patch
        lines = [repl if ln.startswith(key) else ln + "\n" for ln in text.splitlines()]
        if not any(ln.startswith(key) for ln in text.splitlines()):
            lines.append(repl)
        bad.write_text("".join(lines))
    aside: list = []
    found = recoveries(tmp_path, aside)
    assert [r.path.name for r in found] == [GOOD_NAME]
    assert not bad.exists()
    moved = bad.with_name(bad.name + ".corrupt")
    assert moved.is_file() and aside and aside[0][0] == moved
    assert "could not be opened" in moved.with_name(moved.name + ".txt").read_text()
    assert recoveries(tmp_path) == found  # not offered (and failing) again at the next start


def test_unreadable_folder_gives_no_recoveries(tmp_path):
    assert recoveries(tmp_path / "missing") == []
