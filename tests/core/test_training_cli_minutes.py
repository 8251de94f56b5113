"""archstudio train --minutes N, its resume with N more minutes, and the bpb in the summary (in-process CLI)."""
from studio import cli
from studio.core.data.starter import starter_stories
from studio.core.runs.rundir import RunDir


def test_train_for_minutes_then_more_minutes(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ARCHSTUDIO_CACHE_DIR", str(tmp_path / "cache"))
    data = tmp_path / "stories.txt"
    data.write_text("\n<|endoftext|>\n".join(starter_stories(200)) + "\n<|endoftext|>\n")
    out = tmp_path / "run"
    common = ["--threads", "1", "--batch-size", "4", "--context", "32"]
    assert cli.main(["train", "2023-07-llama-2", "--data", str(data), "--out", str(out), "--tokenizer", "byte",
                     "--minutes", "0.05", *common]) == 0
    r = capsys.readouterr()
    last = r.out.strip().splitlines()[-1]
    assert " bpb), val loss " in last and "val bpb" in last and "s of a 3 s budget" in last
    probed = "preparing: measuring bf16 against fp32" in r.err or "(an earlier run of this shape)" in r.err
    assert probed and "speed: 1 thread" in r.err and "part of the 3 s budget" in r.err
    cfg = RunDir(out).read_config()
    assert cfg["training"]["minutes"] == 0.05 and cfg["runtime"]["precision"] in ("fp32", "bf16")
    first = cfg["result"]["step"]
    assert first >= 2 and cfg["result"]["budget_s"] == 3.0
    assert cli.main(["train", "2023-07-llama-2", "--out", str(out), "--resume", "--minutes", "0.03", *common]) == 0
    r = capsys.readouterr()
    assert "for 0.03 more minutes" in r.err and "s of a 1.8 s budget" in r.out
    cfg = RunDir(out).read_config()
    assert cfg["result"]["step"] > first
    # the continuation is recorded: run.yaml "continued" and a "resume" record in metrics.jsonl
    assert [(c["from_step"], c["minutes"]) for c in cfg["continued"]] == [(first, 0.03)]
    assert [r["step"] for r in RunDir(out).metrics() if r["kind"] == "resume"] == [first]
    for bad, msg in ((["--minutes", "0"], "--minutes must be more than 0"),
                     (["--minutes", "1", "--steps", "5"], "give one of them")):
        assert cli.main(["train", "2023-07-llama-2", "--out", str(tmp_path / "x"), *bad]) == 2
        err = capsys.readouterr().err
        assert msg in err and "Traceback" not in err
