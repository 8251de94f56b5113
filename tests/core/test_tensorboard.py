"""archstudio train --tensorboard: the metrics as TensorBoard event files, read back record by record."""
import json
import struct

import pytest

from studio.core.runs.tensorboard import TensorBoardLog, mirror_metrics

pytest.importorskip("tensorboardX", reason="the 'tensorboard' extra is part of the test extra")


def scalars(folder) -> dict:
    """{tag: [(step, value)]} from every event file under folder (TFRecord framing, Event protos)."""
    from tensorboardX.proto.event_pb2 import Event
    out: dict = {}
    for path in sorted(folder.glob("events.out.tfevents.*")):
        data = path.read_bytes()
        i = 0
        while i < len(data):
            (n,) = struct.unpack("<Q", data[i:i + 8])
            ev = Event.FromString(data[i + 12:i + 12 + n])  # length, its CRC, the record, its CRC
            i += 12 + n + 4
            for v in ev.summary.value:
                out.setdefault(v.tag, []).append((ev.step, v.simple_value))
    return out


def test_records_become_scalars_by_kind_and_step(tmp_path):
    with TensorBoardLog(tmp_path) as log:
        assert log.write({"kind": "step", "step": 1, "tokens": 512, "loss": 6.5, "lr": 1e-3, "expert_load": [[0.5]]}) == 3
        log.write({"kind": "step", "step": 2, "tokens": 1024, "loss": 6.25, "lr": 2e-3, "grad_norm": float("nan")})
        log.write({"kind": "eval", "step": 2, "tokens": 1024, "val_loss": 6.0, "val_bpb": 2.5})
        assert log.write({"kind": "setup", "precision": "fp32"}) == 0  # no step: nothing to plot
    got = scalars(tmp_path / "tensorboard")
    assert got["step/loss"] == [(1, 6.5), (2, 6.25)]
    assert got["eval/val_bpb"] == [(2, 2.5)]
    assert "step/grad_norm" not in got and "step/expert_load" not in got


def test_mirror_of_a_finished_run(tmp_path):
    lines = [{"kind": "step", "step": s, "loss": 7.0 - s, "tokens": 64 * s} for s in (1, 2, 3)]
    (tmp_path / "metrics.jsonl").write_text("\n".join(map(json.dumps, lines)) + "\n{\"kind\": \"st")  # a cut line
    assert mirror_metrics(tmp_path) == 6
    assert scalars(tmp_path / "tensorboard")["step/loss"] == [(1, 6.0), (2, 5.0), (3, 4.0)]


def test_missing_package_names_the_extra(tmp_path, monkeypatch):
    import sys

    from studio.core import errors as E
    monkeypatch.setitem(sys.modules, "tensorboardX", None)
    with pytest.raises(E.StudioError, match=r"tensorboardX .*\[tensorboard\]"):
        TensorBoardLog(tmp_path)


def test_cli_train_tensorboard_writes_every_step(tmp_path, capsys):
    from studio.entry import main
    capsys.readouterr()
    code = main(["train", "recipe-llama2c-stories260k", "--data", "starter", "--steps", "3", "--batch-size", "2",
                 "--context", "32", "--threads", "1", "--tensorboard", "--out", str(tmp_path / "run")])
    assert code == 0, capsys.readouterr().err
    got = scalars(tmp_path / "run" / "tensorboard")
    logged = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [s for s, _ in got["step/loss"]] == [r["step"] for r in logged if r["kind"] == "step"]
    assert got["eval/val_bpb"][-1][1] == pytest.approx([r for r in logged if r["kind"] == "eval"][-1]["val_bpb"])
