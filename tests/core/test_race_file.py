"""race.yaml has a schema (studio.core.files.file_schemas.RACE) read by load_race, which serves
both `race --show` and the GUI race view's Open: a wrong-typed or missing field, a None row or a
run folder outside the race folder is one line (exit 2), never an internal error."""
import json
import os

import pytest
import yaml

from studio import cli
from studio.core import errors as E
from studio.core.classroom.race import load_race

ROW = {"name": "GPT-2", "spec": "2019-02-gpt-2", "run": "1-gpt-2", "params": 1000, "params_active": 1000, "steps": 4,
       "tokens": 128, "flops": 768000.0, "seconds": 0.5, "tokens_per_s": 256.0, "val_bpb": 3.5, "sample": "Once"}


def race_folder(tmp_path, **changes):
    index = {"schema_version": 1, "kind": "race", "title": "GPT-2 vs LLaMA 2", "status": "done", "steps": 4,
             "steps_done": 4, "data": {"label": "starter"},
             "models": [{"name": "GPT-2", "spec": "2019-02-gpt-2", "run": "1-gpt-2", "params": 1000, "params_active": 1000},
                        {"name": "LLaMA 2", "spec": "2023-07-llama-2", "run": "2-llama", "params": 900, "params_active": 900}],
             "table": [ROW, {**ROW, "name": "LLaMA 2", "run": "2-llama", "val_bpb": 3.2}]}
    index.update(changes)
    folder = tmp_path / "race"
    for run in ("1-gpt-2", "2-llama"):
        (folder / run).mkdir(parents=True, exist_ok=True)
        (folder / run / "metrics.jsonl").write_text(
            json.dumps({"kind": "eval", "step": 2, "tokens": 64, "val_bpb": 3.9}) + "\n"
            + json.dumps({"kind": "eval", "step": 4, "tokens": 128, "val_bpb": "low"}) + "\n")
    (folder / "race.yaml").write_text(yaml.safe_dump(index, sort_keys=False))
    return folder


def edited(tmp_path, text_change):
    f = race_folder(tmp_path)
    p = f / "race.yaml"
    p.write_text(text_change(p.read_text()))
    return f


def test_a_good_race_reopens_and_its_damaged_curve_record_is_skipped(tmp_path, capsys):
    saved = load_race(race_folder(tmp_path))
    assert [r["name"] for r in saved.table] == ["GPT-2", "LLaMA 2"]
    assert [r["step"] for r in saved.curves["GPT-2"]] == [2]  # "val_bpb": "low" skipped
    assert cli.main(["race", "--show", str(tmp_path / "race")]) == 0
    assert "3.200" in capsys.readouterr().out


BAD = {
    "a None row": lambda t: {"table": [None, ROW]},
    "a renamed key": lambda t: {"table": [{("namd" if k == "name" else k): v for k, v in ROW.items()}]},
    "table: running": lambda t: {"table": "running"},
    "a wrong-typed value": lambda t: {"table": [{**ROW, "val_bpb": "x"}]},
    "a text params": lambda t: {"table": [{**ROW, "params": "many"}]},
    "models not a list": lambda t: {"models": {"a": 1}},
    "a model without run": lambda t: {"models": [{"name": "GPT-2"}]},
    "an absolute run": lambda t: {"models": [{"name": "GPT-2", "run": str(t / "elsewhere")}]},
    "a run with ..": lambda t: {"models": [{"name": "GPT-2", "run": "../elsewhere"}]},
    "the race folder itself": lambda t: {"models": [{"name": "GPT-2", "run": "."}]},
    "status: [done]": lambda t: {"status": ["done"]},
    "steps: -3": lambda t: {"steps": -3},
    "schema_version: 99": lambda t: {"schema_version": 99},
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_damaged_race_yaml_is_one_line(tmp_path, capsys, case):
    folder = race_folder(tmp_path, **BAD[case](tmp_path))
    with pytest.raises(E.LoadError) as info:
        load_race(folder)
    assert "race.yaml" in str(info.value) and "\n" not in str(info.value)
    assert cli.main(["race", "--show", str(folder)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "internal error" not in err


def test_a_run_linked_out_of_the_race_folder_is_refused(tmp_path):
    folder = race_folder(tmp_path)
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "metrics.jsonl").write_text('{"kind": "eval", "step": 1, "val_bpb": 1.0}\n')
    import shutil
    shutil.rmtree(folder / "1-gpt-2")
    os.symlink(tmp_path / "elsewhere", folder / "1-gpt-2")
    with pytest.raises(E.LoadError, match="symbolic link"):
        load_race(folder)


def test_a_flipped_bit_in_a_key_is_one_line(tmp_path):
    folder = edited(tmp_path, lambda t: t.replace("- name: GPT-2", "- namd: GPT-2", 1))
    with pytest.raises(E.LoadError, match="name"):
        load_race(folder)
