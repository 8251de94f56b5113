"""View → Architecture race… → Open on a damaged race.yaml: one message in the view's status line,
no exception out of the slot, the view keeps what it showed (the schema of `race --show`)."""
import sys

import yaml

from studio._qt.classroom.race_view import RaceView
from studio.core.classroom.race_history import RaceHistory

ROW = {"name": "GPT-2", "run": "1-gpt-2", "params": 10, "params_active": 10, "tokens": 64, "flops": 1.0,
       "tokens_per_s": 5.0, "val_bpb": 3.0, "sample": "Once"}


def folder(tmp_path, name, row):
    f = tmp_path / name
    (f / "1-gpt-2").mkdir(parents=True)
    (f / "race.yaml").write_text(yaml.safe_dump({"schema_version": 1, "kind": "race", "title": name, "status": "done",
                                                 "models": [{"name": "GPT-2", "run": "1-gpt-2"}], "table": [row]}))
    return f


def test_open_a_wrong_typed_value_says_one_line_and_keeps_the_view(qtbot, tmp_path, monkeypatch):
    hooks = []
    monkeypatch.setattr(sys, "excepthook", lambda *a: hooks.append(a))
    view = RaceView(RaceHistory())
    qtbot.addWidget(view)
    assert view.open_race(folder(tmp_path, "good", ROW)) and view.table.rowCount() == 1
    for bad in ({**ROW, "val_bpb": "x"}, {**ROW, "tokens_per_s": None}, None):
        assert not view.open_race(folder(tmp_path, f"bad{len(hooks)}-{id(bad)}", bad))
        assert "race.yaml" in view.status.text() and "\n" not in view.status.text()
        assert view.table.rowCount() == 1 and view.table.item(0, 5).text() == "3.000"  # the good race still shown
    assert hooks == []
