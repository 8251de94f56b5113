"""metrics.jsonl through one typed, streaming reader (studio.core.runs.metrics): wrong-typed
records are skipped and counted in every view (plan --run, lesson summary, the race curves,
resume's truncation), and a long file keeps only the last records and a decimated curve."""
import json
import os

import pytest

from studio import cli
from studio.core.classroom.lesson import summary
from studio.core.data.starter import starter_stories
from studio.core.runs.metrics import raw_lines, read_metrics, truncate_metrics
from studio.core.runs.rundir import RunDir

TINY = "extends: recipe-microgpt\nscales: {classroom: {dim: 16, n_layers: 1, n_heads: 2, hidden_dim: 32, context: 16}}\n"
WRONG = ['{"kind": "step", "step": 9, "tokens": 99, "tokens_per_s": "fast"}',
         '{"kind": "eval", "step": 9, "tokens": 99, "val_bpb": "low"}', '{"kind": "step", "step": "10"}',
         '{"kind": "step", "step": true}', '{"kind": 5, "step": 11}', '[1, 2]', '"text"', '{"step": -1}',
         '{"kind": "step", "step": 12, "elapsed_s": [1]}', '{"step": 13}, {"step": 14}', '{"kind": "eval", "va',
         '\xff\xfe', '{"step": 1' + '0' * 5000 + '}', '[' * 100000]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("metrics")
    (tmp / "tiny.yaml").write_text(TINY)
    (tmp / "s.txt").write_text("\n<|endoftext|>\n".join(starter_stories(30)) + "\n")
    out = tmp / "run"
    assert cli.main(["train", str(tmp / "tiny.yaml"), "--data", str(tmp / "s.txt"), "--out", str(out), "--steps", "4",
                     "--tokenizer", "byte", "--batch-size", "2", "--threads", "1", "--eval-interval", "2",
                     "--compile", "off", "--precision", "fp32"]) == 0
    return RunDir(out)


def damaged_copy(run, tmp_path):
    import shutil
    dst = tmp_path / "run"
    shutil.copytree(run.path, dst)
    with open(dst / "metrics.jsonl", "ab") as fh:
        fh.write(b"\n".join(w.encode("utf-8", "surrogateescape") if isinstance(w, str) else w for w in WRONG) + b"\n")
    return RunDir(dst)


def test_wrong_typed_records_are_skipped_and_counted(run, tmp_path):
    good = read_metrics(run.metrics_path)
    bad = read_metrics(damaged_copy(run, tmp_path).metrics_path)
    assert bad.read == good.read and bad.skipped == len(WRONG) and good.skipped == 0
    assert bad.last == good.last and bad.max_step == good.max_step == 4


def test_plan_run_and_lesson_summary_read_a_damaged_file(run, tmp_path, capsys):
    r = damaged_copy(run, tmp_path)
    assert cli.main(["plan", str(r.read_config()["model"]), "--run", str(r.path)]) == 0
    out = capsys.readouterr().out
    assert "tokens seen" in out and "held-out bits per byte" in out and f"{len(WRONG)} damaged or wrong-typed" in out
    (tmp_path / "L").mkdir()
    (tmp_path / "L" / "lesson.yaml").write_text("schema_version: 1\nkind: lesson\nmodels:\n- {id: recipe-microgpt, run: ../"
                                                 "run, status: done}\n- {id: x, run: run, status: done}\n")
    os.symlink(r.path, tmp_path / "L" / "run")  # a link inside the lesson that leads out is refused: entry skipped
    assert summary(tmp_path / "L") == []
    (tmp_path / "L" / "run").unlink()
    (tmp_path / "L" / "run").mkdir()
    for f in ("run.yaml", "metrics.jsonl"):
        (tmp_path / "L" / "run" / f).write_bytes((r.path / f).read_bytes())
    rows = summary(tmp_path / "L")
    assert len(rows) == 1 and rows[0]["tokens"] == read_metrics(run.metrics_path).last["step"]["tokens"]
    assert 0 < rows[0]["val_bpb"] < 20


def test_a_long_file_keeps_a_bounded_curve_and_the_last_records(tmp_path):
    p = tmp_path / "metrics.jsonl"
    with open(p, "w") as fh:
        for i in range(1, 30001):
            fh.write(json.dumps({"kind": "step", "step": i, "tokens": 8 * i, "loss": 1.0, "tokens_per_s": float(i)}) + "\n")
            if i % 100 == 0:
                fh.write(json.dumps({"kind": "eval", "step": i, "tokens": 8 * i, "val_bpb": 3.0 - i / 1e5}) + "\n")
    m = read_metrics(p, points=512)
    assert m.read == 30300 and m.skipped == 0 and m.max_step == 30000 and m.max_tokens == 240000
    steps, evals = m.of_kind("step"), m.of_kind("eval")
    assert len(steps) <= 513 and steps[-1]["step"] == 30000 and steps[0]["step"] == 1
    assert [r["step"] for r in steps] == sorted(r["step"] for r in steps)
    assert len(evals) == 300 and evals[-1]["step"] == 30000  # fewer than the points: every one kept
    assert [r["step"] for r in m.recent_steps] == list(range(29951, 30001))


def test_a_file_over_the_cap_is_read_from_its_end(tmp_path):
    p = tmp_path / "metrics.jsonl"
    p.write_text("".join(json.dumps({"kind": "step", "step": i}) + "\n" for i in range(1, 1001)))
    lines = [ln for block in raw_lines(p, limit=200) for ln in block]
    assert lines[-1] == b'{"kind": "step", "step": 1000}' and all(ln.startswith(b"{") for ln in lines)


def test_truncation_streams_keeps_earlier_records_and_drops_damage(tmp_path):
    p = tmp_path / "metrics.jsonl"
    p.write_text('{"kind": "step", "step": 1}\n{"kind": "step", "step": "x"}\n{"kind": "step", "step": 2}\n'
                 '{"kind": "step", "step": 3}\n{"kind": "st')
    os.chmod(p, 0o644)
    truncate_metrics(p, 2)
    assert p.read_text() == '{"kind": "step", "step": 1}\n{"kind": "step", "step": 2}\n'
    assert oct(p.stat().st_mode & 0o777) == "0o644" and [f.name for f in tmp_path.iterdir()] == ["metrics.jsonl"]
    before = p.stat().st_mtime_ns
    truncate_metrics(p, 5)  # nothing to drop: the file is not rewritten
    assert p.stat().st_mtime_ns == before


def test_a_fifo_or_folder_is_no_metrics(tmp_path):
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "dir").mkdir()
    for name in ("fifo", "dir", "missing"):
        m = read_metrics(tmp_path / name)
        assert m.read == 0 and m.curve == []
