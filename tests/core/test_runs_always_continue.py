"""Issue 17: runs that can always continue. A run folder appears only when its first step can
run; resume takes the newest complete checkpoint, truncates metrics.jsonl to it, refuses a
second trainer of the folder; damaged checkpoints and run.yaml fields are one clear line."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml

from studio import cli
from studio.core import errors as E
from studio.core.runs.checkpoints import read_checkpoint
from studio.core.data.starter import starter_stories
from studio.core.runs.rundir import RunDir
from studio.core.files.yamlio import atomic_write_bytes

ROOT = Path(__file__).resolve().parents[2]
TINY = "extends: recipe-microgpt\nscales: {classroom: {dim: 32, n_layers: 1, n_heads: 2, hidden_dim: 64, context: 32}}\n"
FAST = ["--tokenizer", "byte", "--batch-size", "2", "--threads", "1", "--eval-interval", "2", "--compile", "off",
        "--precision", "fp32"]  # no compile or precision probe: these tests are about the run folder


def _data(tmp):
    p = tmp / "stories.txt"
    p.write_text("\n<|endoftext|>\n".join(starter_stories(60)) + "\n")
    return p


def train(tmp, out, *extra, steps=4):
    return cli.main(["train", str(tmp / "tiny.yaml"), "--data", str(tmp / "stories.txt"), "--out", str(out),
                     "--steps", str(steps), *FAST, *extra])


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("runs")
    (tmp / "tiny.yaml").write_text(TINY)
    _data(tmp)
    os.environ.setdefault("ARCHSTUDIO_CACHE_DIR", str(tmp / "cache"))
    assert train(tmp, tmp / "run", steps=4) == 0
    return tmp


@pytest.fixture
def run(base, tmp_path):
    shutil.copytree(base / "run", tmp_path / "run")
    for f in ("tiny.yaml", "stories.txt"):
        shutil.copy(base / f, tmp_path / f)
    return RunDir(tmp_path / "run")


def resume(run, steps=6):
    return cli.main(["train", run.read_config()["model"], "--resume", "--out", str(run.path),
                     "--steps", str(steps), "--threads", "1"])


def test_data_too_short_leaves_no_folder(base, tmp_path, capsys):
    (tmp_path / "short.txt").write_text("a b\n\nc d\n")
    rc = cli.main(["train", str(base / "tiny.yaml"), "--data", str(tmp_path / "short.txt"), "--out",
                   str(tmp_path / "new"), *FAST])
    assert rc == 2 and "too few for windows" in capsys.readouterr().err
    assert not (tmp_path / "new").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".new.")]


def test_resume_without_any_checkpoint_starts_again(run, capsys):
    shutil.rmtree(run.checkpoint_dir)
    assert resume(run, 3) == 0
    assert "starting it again from step 0" in capsys.readouterr().err
    assert run.load_checkpoint()["step"] == 3


def test_resume_uses_the_newest_complete_step_file_when_latest_is_missing(run):
    run.checkpoint_path(None).unlink()
    assert run.load_checkpoint()["step"] == 4
    assert resume(run, 6) == 0 and run.load_checkpoint()["step"] == 6


def test_resume_truncates_metrics_to_the_checkpoint(run):
    with open(run.metrics_path, "a") as fh:  # steps logged after the checkpoint, then a kill
        fh.write('{"kind": "step", "step": 5, "loss": 1.0}\n{"kind": "step", "step": 6, "lo')
    assert resume(run, 6) == 0
    steps = [r["step"] for r in run.metrics() if r.get("kind", "step") == "step" and "loss" in r]
    assert steps == sorted(steps) and len(steps) == len(set(steps))


def test_second_trainer_of_a_folder_is_refused(run, capsys):
    with run.lock():
        assert resume(run, 6) == 2
    assert "another archstudio process" in capsys.readouterr().err


def test_lock_cleans_stale_temp_files(run):
    stale = run.checkpoint_dir / ".latest.pt.abc123.tmp"
    stale.write_bytes(b"x" * 1000)
    with run.lock() as lk:
        assert stale in lk.removed
    assert not stale.exists()


def test_bit_flip_in_a_tensor_is_detected(run):
    ck = torch.load(run.checkpoint_path(None), weights_only=True)
    k = next(iter(ck["model"]))
    ck["model"][k].view(-1)[0] += 1.0  # what a flipped bit does to one value
    torch.save(ck, run.checkpoint_path(None))
    with pytest.raises(E.LoadError, match="checksum mismatch"):
        read_checkpoint(run.checkpoint_path(None))
    assert run.load_checkpoint()["step"] == 4  # falls back to the complete step file


@pytest.mark.parametrize("payload,want", [(b"PK\x03\x04", "unreadable or truncated checkpoint"),
                                          (b"", "unreadable or truncated checkpoint")])
def test_tiny_latest_pt_is_one_line(run, payload, want):
    for f in run.checkpoint_dir.iterdir():
        f.unlink()
    run.checkpoint_path(None).write_bytes(payload)
    with pytest.raises(E.LoadError, match=want):
        run.load_checkpoint()


def test_checkpoint_step_must_be_a_number(run):
    ck = torch.load(run.checkpoint_path(None), weights_only=True)
    ck["step"] = "x"
    ck.pop("checksum")
    torch.save(ck, run.checkpoint_path(None))
    with pytest.raises(E.LoadError, match="step: must be a whole number"):
        read_checkpoint(run.checkpoint_path(None))


def _edit_run_yaml(run, fn):
    data = yaml.safe_load(run.config_path.read_text())
    fn(data)
    run.config_path.write_text(yaml.safe_dump(data))


@pytest.mark.parametrize("edit,want", [
    (lambda d: d["training"].update(lr=0), "training.lr: 0 must be above 0"),
    (lambda d: d["training"].update(seed=0.5), "training.seed: must be an integer"),
    (lambda d: d["training"].update(checkpoint_interval="x"), "training.checkpoint_interval: must be an integer"),
    (lambda d: d["training"].update(steps="x"), "training.steps: must be an integer"),
    (lambda d: d.update(architecture=65536), "architecture: must be a mapping"),
    (lambda d: d.update(scale=[1, 2]), "scale: must be text"),
    (lambda d: d["architecture"]["scales"]["classroom"].update(context=2**31), "context 2,147,483,648 is above 131,072"),
    (lambda d: d["architecture"]["scales"]["classroom"].update(n_layers=10**9), "n_layers 1,000,000,000 is above 256"),
    (lambda d: d["tokenizer"].update(vocab_size="big"), "tokenizer.vocab_size: must be an integer"),
])
def test_hostile_run_yaml_is_one_line(run, edit, want):
    _edit_run_yaml(run, edit)
    with pytest.raises(E.LoadError) as ei:
        run.architecture()
        run.build_model()
    assert want in str(ei.value) and "\n" not in str(ei.value)


def test_weights_that_do_not_fit_are_one_line(run):
    _edit_run_yaml(run, lambda d: d["architecture"]["scales"]["classroom"].update(hidden_dim=96))
    with pytest.raises(E.LoadError) as ei:
        run.build_model()
    msg = str(ei.value)
    assert "mis-shaped" in msg and "feed_forward" in msg and "\n" not in msg


@pytest.mark.parametrize("line", [b"[1, 2]", b"null", b"\xff\xfe", b'{"step": 1', b"[" * 5000])
def test_damaged_metrics_lines_are_skipped(run, line):
    good = run.metrics()
    with open(run.metrics_path, "ab") as fh:
        fh.write(line + b"\n")
    assert run.metrics() == good


def test_metrics_that_is_a_folder_or_fifo_reads_as_none(tmp_path):
    r = RunDir(tmp_path)
    r.metrics_path.mkdir()
    assert r.metrics() == []
    r.metrics_path.rmdir()
    os.mkfifo(r.metrics_path)
    assert r.metrics() == []


def test_atomic_writes_respect_the_umask(tmp_path):
    old = os.umask(0o027)
    try:
        atomic_write_bytes(tmp_path / "f.bin", b"x")
    finally:
        os.umask(old)
    assert (tmp_path / "f.bin").stat().st_mode & 0o777 == 0o640


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_and_sighup_save_a_checkpoint(base, tmp_path, sig):
    out = tmp_path / "run"
    env = dict(os.environ, ARCHSTUDIO_CACHE_DIR=str(base / "cache"))
    p = subprocess.Popen([sys.executable, "-m", "studio", "train", str(base / "tiny.yaml"), "--data",
                          str(base / "stories.txt"), "--out", str(out), "--steps", "100000", *FAST],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (out / "metrics.jsonl").is_file():
        time.sleep(0.1)
    p.send_signal(sig)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 130, err
    assert f"stopping ({sig.name})" in err
    assert RunDir(out).load_checkpoint()["step"] >= 1


def test_gui_run_setup_is_staged_too(base, tmp_path):
    from studio.core.files.model_spec import load_model
    from studio.core.training.setup import prepare_new_run
    from studio.core.training.trainer import TrainConfig
    arch = load_model(str(base / "tiny.yaml"))
    (tmp_path / "short.txt").write_text("a b\n\nc d\n")
    with pytest.raises(E.StudioError, match="too few for windows"):
        prepare_new_run(arch, "tiny", str(tmp_path / "short.txt"), "byte", None, None, TrainConfig(context=32),
                        tmp_path / "gui-run")
    assert not (tmp_path / "gui-run").exists() and not list(tmp_path.glob(".gui-run.*"))
    _, _, run, _ = prepare_new_run(arch, "tiny", str(base / "stories.txt"), "byte", None, None,
                                   TrainConfig(context=32), tmp_path / "gui-run")
    assert run.path == tmp_path / "gui-run" and run.exists()


def test_full_disk_at_a_checkpoint_is_one_line_and_keeps_the_last(run, capsys, monkeypatch):
    import studio.core.runs.rundir as rd

    def full(path, data):
        raise OSError(28, "No space left on device", str(path))
    monkeypatch.setattr(rd, "atomic_write_bytes", full)
    assert resume(run, 6) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].endswith("No space left on device (free some disk space and retry)")
    assert not any("Traceback" in ln or "internal error" in ln for ln in err)
    monkeypatch.undo()
    assert run.load_checkpoint()["step"] == 4


def test_name_longer_than_name_max_is_one_line(base, tmp_path, capsys):
    out = tmp_path / ("r" * 300)
    rc = cli.main(["train", str(base / "tiny.yaml"), "--data", str(base / "stories.txt"), "--out", str(out), *FAST])
    err = capsys.readouterr().err
    assert rc == 2 and "File name too long" in err.strip().splitlines()[-1]
    assert "internal error" not in err and "Traceback" not in err


def test_unwritable_cache_leaves_no_run_folder(base, tmp_path, capsys, monkeypatch):
    blocker = tmp_path / "cache-is-a-file"
    blocker.write_text("x")
    monkeypatch.setenv("ARCHSTUDIO_CACHE_DIR", str(blocker))
    rc = cli.main(["train", str(base / "tiny.yaml"), "--data", str(base / "stories.txt"), "--out",
                   str(tmp_path / "new"), *FAST])
    err = capsys.readouterr().err
    assert rc in (1, 2) and "internal error" not in err and "Traceback" not in err
    assert not (tmp_path / "new").exists() and not list(tmp_path.glob(".new.*"))


@pytest.mark.parametrize("edit,want", [
    (lambda ck: ck.update(data_pos={"tokens": "x"}), "data_pos: must hold"),
    (lambda ck: ck.pop("rng"), "rng: must hold"),
    (lambda ck: ck.update(optimizer=[1]), "optimizer: must be"),
])
def test_resumable_checkpoint_structure_is_checked(run, edit, want):
    ck = torch.load(run.checkpoint_path(None), weights_only=True)
    edit(ck)
    ck.pop("checksum")  # an older checkpoint without one, or a crafted file
    torch.save(ck, run.checkpoint_path(None))
    with pytest.raises(E.LoadError, match=want):
        read_checkpoint(run.checkpoint_path(None))
