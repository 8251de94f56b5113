"""archstudio train / generate / data fetch as the CLI contract says (subprocesses)."""
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from hf_server import Hub
from studio.core.data.starter import starter_stories
from studio.core.runs.rundir import RunDir

ROOT = Path(__file__).resolve().parents[2]


def run_cli(*args, env=None, timeout=300):
    # not imported from conftest: that name is ambiguous when tests/qt is collected in the same run
    e = dict(os.environ, **(env or {}))
    return subprocess.run([sys.executable, "-m", "studio", *args], capture_output=True, text=True,
                          cwd=ROOT, env=e, timeout=timeout)


FAST = ["--steps", "6", "--batch-size", "4", "--context", "32", "--threads", "1", "--eval-interval", "3"]


def env(tmp_path, **kw):
    return {"ARCHSTUDIO_CACHE_DIR": str(tmp_path / "cache"), **kw}


def data_file(tmp_path):
    p = tmp_path / "stories.txt"
    p.write_text("\n<|endoftext|>\n".join(starter_stories(200)) + "\n<|endoftext|>\n")
    return str(p)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cli")
    out = tmp / "run"
    r = run_cli("train", "2023-07-llama-2", "--data", data_file(tmp), "--out", str(out), "--tokenizer", "byte",
                *FAST, env=env(tmp))
    return r, out, tmp


def test_train_writes_the_run_folder_and_summary(trained):
    r, out, _ = trained
    assert r.returncode == 0, r.stderr
    last = r.stdout.strip().splitlines()[-1]
    assert last.startswith("trained 6 steps, 768 tokens: train loss ") and "val bpb" in last and "tokens/s" in last
    assert str(out) in last
    run = RunDir(out)
    cfg = run.read_config()
    assert cfg["model"] == "2023-07-llama-2" and cfg["tokenizer"]["kind"] == "byte"
    assert cfg["architecture"]["scales"]["classroom"]["vocab_size"] == 259
    assert (out / "tokenizer" / "tokenizer.bin").is_file() and run.checkpoint_path(6).is_file()
    assert {"step", "eval"} <= {m["kind"] for m in run.metrics()}


def test_generate_prints_prompt_and_greedy_continuation(trained):
    _, out, _ = trained
    g1 = run_cli("generate", str(out), "--prompt", "Once upon", "--temperature", "0", "--max-new-tokens", "15")
    g2 = run_cli("generate", str(out), "--prompt", "Once upon", "--temperature", "0", "--max-new-tokens", "15")
    assert g1.returncode == 0, g1.stderr
    assert g1.stdout == g2.stdout and g1.stdout.startswith("Once upon") and g1.stdout.endswith("\n")
    assert len(g1.stdout.encode()) <= len("Once upon") + 15 + 1  # byte tokens: at most 15 new bytes
    r = run_cli("generate", str(out / "nope"), "--prompt", "x")
    assert r.returncode == 2 and "no such run folder" in r.stderr


def test_resume_semantics(trained):
    _, done, tmp = trained
    out = tmp / "copy"
    shutil.copytree(done, out)
    run = RunDir(out)
    # a non-empty RUN_DIR needs --resume; --resume refuses another model or tokenizer; it continues to --steps
    assert run_cli("train", "2023-07-llama-2", "--out", str(out), env=env(tmp)).returncode == 2
    r = run_cli("train", "2019-02-gpt-2", "--out", str(out), "--resume", env=env(tmp))
    assert r.returncode == 2 and "not '2019-02-gpt-2'" in r.stderr and "Traceback" not in r.stderr
    r = run_cli("train", "2023-07-llama-2", "--out", str(out), "--resume", "--tokenizer", "bpe", env=env(tmp))
    assert r.returncode == 2 and "same tokenizer" in r.stderr
    r = run_cli("train", "2023-07-llama-2", "--out", str(out), "--resume", "--steps", "8", "--threads", "1", env=env(tmp))
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("trained 8 steps, 1,024 tokens")
    assert [m["step"] for m in run.metrics() if m["kind"] == "step"] == list(range(1, 9))


def test_default_data_is_the_labelled_starter_corpus_and_bad_vocab(tmp_path):
    r = run_cli("train", "2023-07-llama-2", "--out", str(tmp_path / "r"), "--tokenizer", "bpe", "--vocab-size", "299",
                *FAST, env=env(tmp_path))
    assert r.returncode == 2 and "too small" in r.stderr and "at least" in r.stderr
    assert not (tmp_path / "r" / "run.yaml").exists()
    r = run_cli("train", "2023-07-llama-2", "--out", str(tmp_path / "r"), "--vocab-size", "320", *FAST, env=env(tmp_path))
    assert r.returncode == 0, r.stderr
    assert "starter corpus" in r.stderr and "not TinyStories" in r.stderr
    assert RunDir(tmp_path / "r").read_config()["tokenizer"] == {**RunDir(tmp_path / "r").read_config()["tokenizer"],
                                                                 "kind": "bpe", "vocab_size": 320}


def test_divergence_exits_1(tmp_path):
    r = run_cli("train", "2023-07-llama-2", "--data", data_file(tmp_path), "--out", str(tmp_path / "r"),
                "--tokenizer", "byte", "--lr", "1e30", *FAST, env=env(tmp_path))
    assert r.returncode == 1 and "lower learning rate" in r.stderr and "Traceback" not in r.stderr


def test_ctrl_c_saves_a_checkpoint(tmp_path):
    out = tmp_path / "r"
    cmd = [sys.executable, "-m", "studio", "train", "2023-07-llama-2", "--data", data_file(tmp_path), "--out",
           str(out), "--tokenizer", "byte", "--steps", "100000", "--batch-size", "2", "--context", "16", "--threads", "1"]
    p = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **env(tmp_path)}, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        for line in p.stderr:
            if line.startswith("model:"):
                break
        while not (out / "metrics.jsonl").is_file():
            pass
        p.send_signal(signal.SIGINT)
        stdout, stderr = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 130, stderr
    assert "resume with --resume" in stdout and "Traceback" not in stderr
    assert RunDir(out).load_checkpoint()["step"] >= 1


def test_data_fetch_against_local_hub(tmp_path):
    body = ("\n<|endoftext|>\n".join(starter_stories(500))).encode()
    with Hub({"TinyStories-valid.txt": body}) as hub:
        r = run_cli("data", "fetch", "--subset", "quick", "--cache", str(tmp_path), env={"HF_ENDPOINT": hub.url})
    assert r.returncode == 0, r.stderr
    assert f"cached at {tmp_path / 'TinyStories-valid.txt'}" in r.stdout and "CDLA-Sharing-1.0" in r.stdout
    assert (tmp_path / "TinyStories-valid.txt").read_bytes() == body
    r = run_cli("data", "fetch", "--cache", str(tmp_path / "x"), env={"HF_ENDPOINT": "http://127.0.0.1:9"})
    assert r.returncode == 1 and "offline" in r.stderr and "Traceback" not in r.stderr
    assert run_cli("data").returncode == 2
