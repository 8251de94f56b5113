"""The presets package's own files are read with the readers and limits of user files: a FIFO
never blocks, a NUL in a timeline id or a wrong-typed races.yaml is one line, and one damaged
preset file is listed with its reason instead of failing every list of presets."""
import os
import threading

import pytest
from presets_copy import clear_caches, presets_copy

from studio import cli
from studio.core import errors as E
from studio.core.classroom.race_setup import race_presets
from studio.core.files.presets import preset_infos, timeline


@pytest.fixture
def pkg(tmp_path, monkeypatch):
    yield presets_copy(tmp_path, monkeypatch)
    clear_caches()


def one_line(fn, match):
    with pytest.raises(E.LoadError, match=match) as info:
        fn()
    assert "\n" not in str(info.value)


def test_the_copy_reads_as_the_package(pkg):
    assert len(preset_infos()) == len(timeline()["milestones"]) + len(timeline()["recipes"]) and race_presets()


def test_a_nul_in_a_timeline_id_is_one_line(pkg):
    text = (pkg / "timeline.yaml").read_text()
    first = timeline()["milestones"][0]
    clear_caches()
    (pkg / "timeline.yaml").write_text(text.replace(first, f'"{first}\\0x"', 1))
    one_line(timeline, "preset id")


def test_a_fifo_timeline_is_one_line_and_does_not_block(pkg):
    os.unlink(pkg / "timeline.yaml")
    os.mkfifo(pkg / "timeline.yaml")
    out = {}
    t = threading.Thread(target=lambda: out.setdefault("r", pytest.raises(E.LoadError, timeline)), daemon=True)
    t.start()
    t.join(10)
    assert not t.is_alive() and "FIFO" in str(out["r"].value)


@pytest.mark.parametrize("races", [
    "races: [{id: a, models: 2019-02-gpt-2}]", "races: [{id: a, models: [2019-02-gpt-2]}]",
    "races: [{id: a, models: [2019-02-gpt-2, 2023-07-llama-2], match: fastest}]", "races: {a: 1}",
    'races: [{id: "a\\0b", models: [2019-02-gpt-2, 2023-07-llama-2]}]', "races: [{models: [x, y]}]",
    "races: [{id: a, models: [2019-02-gpt-2, {extends: 2019-02-gpt-2}]}]", "- 1"])
def test_a_damaged_races_yaml_is_one_line(pkg, capsys, races):
    (pkg / "races.yaml").write_text(races + "\n")
    one_line(race_presets, "races.yaml")
    assert cli.main(["race", "--list"]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_a_fifo_races_yaml_is_one_line(pkg):
    os.unlink(pkg / "races.yaml")
    os.mkfifo(pkg / "races.yaml")
    one_line(race_presets, "FIFO")


def test_one_damaged_preset_is_listed_with_its_reason(pkg):
    pid = timeline()["milestones"][1]
    (pkg / f"{pid}.yaml").write_text("scales: [1, 2]\n")
    infos = {i.id: i for i in preset_infos()}
    assert infos[pid].problem and f"presets/{pid}.yaml" in infos[pid].problem and infos[pid].title == pid
    assert sum(1 for i in infos.values() if i.problem) == 1
