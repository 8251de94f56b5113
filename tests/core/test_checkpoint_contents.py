"""Issue 27: checkpoint contents that unpickle and may even carry a matching checksum, but are not
what a run wrote: an expanded view (2 MB on disk, 17 GB when read), NaN weights, sparse or meta
tensors, a string for a weight, generator states that are not bytes, optimizer state for other
param groups. Storage sizes, layouts and shapes are checked before any tensor's data is read,
finiteness after; each is one line (exit 2), never an internal error or a sampler's complaint."""
from __future__ import annotations

import re
import shutil

import pytest
import torch

from studio import cli
from studio.core import errors as E
from studio.core.data.starter import starter_stories
from studio.core.runs import checkpoints
from studio.core.runs.checkpoints import payload_digest, read_checkpoint
from studio.core.runs.rundir import RunDir

TINY = ("extends: recipe-llama2c-stories260k\n"  # a llama2.c model, so that export reaches the weights
        "scales: {classroom: {dim: 32, n_layers: 1, n_heads: 2, n_kv_heads: 2, hidden_dim: 64, context: 32}}\n")
FAST = ["--tokenizer", "bpe", "--vocab-size", "300", "--batch-size", "2", "--threads", "1", "--eval-interval", "2",
        "--compile", "off", "--precision", "fp32"]


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ck")
    (tmp / "tiny.yaml").write_text(TINY)
    (tmp / "stories.txt").write_text("\n<|endoftext|>\n".join(starter_stories(60)) + "\n")
    assert cli.main(["train", str(tmp / "tiny.yaml"), "--data", str(tmp / "stories.txt"), "--out", str(tmp / "run"),
                     "--steps", "2", "--optimizer", "adamw", *FAST]) == 0
    return tmp


@pytest.fixture
def run(base, tmp_path):
    shutil.copytree(base / "run", tmp_path / "run")
    return RunDir(tmp_path / "run")


def rewrite(run, edit, checksum=True):
    """Edit every checkpoint file of the run (so no older step file is fallen back to); with
    ``checksum`` the file carries a checksum that matches its new contents."""
    files = run.checkpoint_candidates()
    for p in files:
        ck = torch.load(p, weights_only=True)
        edit(ck)
        ck.pop("checksum")
        if checksum:
            ck["checksum"] = payload_digest(ck)
        torch.save(ck, p)
    return files[0]


def first_weight(ck):
    return next(k for k, v in ck["model"].items() if v.dim() == 2)


def one_line(capsys):
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "internal error" not in err, err
    return err


@pytest.mark.parametrize("rows", [2 ** 16, 2 ** 40])
def test_an_expanded_view_is_refused_before_its_data_is_read(run, monkeypatch, rows):
    """A few stored bytes viewed as rows × 1024 floats: the checksum step would materialise them
    (2^22 rows: 17 GB; 2^40: an internal error), so nothing reads tensor data before this check."""
    def edit(ck):
        ck["model"][first_weight(ck)] = torch.zeros(1).expand(rows, 1024)
    p = rewrite(run, edit, checksum=False)
    monkeypatch.setattr(checkpoints, "payload_digest", lambda ck: pytest.fail("tensor data read before the check"))
    with pytest.raises(E.LoadError, match=rf"{rows}×1024 view of 4 stored bytes \(an expanded or overlapping tensor"):
        read_checkpoint(p)


def test_shapes_are_checked_against_run_yaml_before_the_data(run, monkeypatch):
    def edit(ck):
        k = first_weight(ck)
        ck["model"][k] = torch.zeros(ck["model"][k].shape[0] + 1, ck["model"][k].shape[1])
    rewrite(run, edit)
    model_shapes = {k: v.shape for k, v in torch.load(run.checkpoint_candidates()[-1], weights_only=True)["model"].items()}
    monkeypatch.setattr(checkpoints, "payload_digest", lambda ck: pytest.fail("tensor data read before the shape check"))
    with pytest.raises(E.LoadError, match="the weights do not fit run.yaml's model: 1 mis-shaped"):
        run.build_model()
    assert model_shapes  # (the file itself loads; only its shapes differ from the model's)


def test_nan_weights_with_a_matching_checksum_are_not_finite(run, capsys):
    def edit(ck):
        ck["model"][first_weight(ck)][0, 0] = float("nan")
    p = rewrite(run, edit)
    with pytest.raises(E.LoadError, match="the model's weights are not finite"):
        read_checkpoint(p)
    assert cli.main(["generate", str(run.path), "--max-new-tokens", "4"]) == 2
    assert "the model's weights are not finite (NaN or infinity in" in one_line(capsys)


@pytest.mark.parametrize("make,want", [
    (lambda t: t.to_sparse(), "a sparse_coo tensor; checkpoints hold dense tensors"),
    (lambda t: torch.empty(t.shape, device="meta"), "a tensor without data (on the meta device)"),
    (lambda t: t.to(torch.complex64), "a complex64 tensor; checkpoints hold real numbers"),
    (lambda t: "0.1 0.2", "is a str, not a tensor"),
])
def test_a_weight_that_is_not_a_dense_real_tensor_is_one_line(run, capsys, make, want):
    def edit(ck):
        k = first_weight(ck)
        ck["model"][k] = make(ck["model"][k])
    p = rewrite(run, edit, checksum=False)
    with pytest.raises(E.LoadError, match=re.escape(want)):
        read_checkpoint(p)
    assert cli.main(["export", str(run.path), "--out", str(run.path.parent / "export")]) == 2
    assert want.split(";")[0] in one_line(capsys)


@pytest.mark.parametrize("key,make", [
    ("rng.torch", lambda ck: ck["rng"].update(torch=ck["rng"]["torch"].float())),
    ("data_pos.generator", lambda ck: ck["data_pos"].update(generator=ck["data_pos"]["generator"][:100])),
    ("rng.sample", lambda ck: ck["rng"].update(sample=ck["rng"]["sample"].long())),
    ("rng.sample", lambda ck: ck["rng"].update(sample=ck["rng"]["sample"][:16])),  # bytes, not a CPU state
])
def test_generator_states_that_are_not_bytes_are_one_line(run, capsys, key, make):
    rewrite(run, make)
    assert cli.main(["train", str(run.read_config()["model"]), "--resume", "--out", str(run.path), "--steps", "3",
                     "--threads", "1"]) == 2
    assert f"{key}: not a random generator's state" in one_line(capsys)


@pytest.mark.parametrize("make,want", [
    (lambda o: o.update(param_groups=o["param_groups"][:1]), "its state does not fit this run's adamw optimizer"),
    (lambda o: o["state"][0].update(exp_avg=torch.zeros(3)), "exp_avg of a .* weight is \\[3\\]"),
    (lambda o: o["state"][0]["exp_avg_sq"].fill_(float("nan")), "its exp_avg_sq holds NaN"),
])
def test_optimizer_state_of_another_model_is_one_line_and_changes_nothing(run, capsys, make, want):
    rewrite(run, lambda ck: make(ck["optimizer"]))
    before = run.metrics_path.read_bytes(), run.config_path.read_bytes()
    assert cli.main(["train", str(run.read_config()["model"]), "--resume", "--out", str(run.path), "--steps", "3",
                     "--threads", "1"]) == 2
    assert re.search(want, one_line(capsys))
    assert (run.metrics_path.read_bytes(), run.config_path.read_bytes()) == before


def test_the_run_as_written_still_resumes(run):
    assert read_checkpoint(run.checkpoint_path(None))["step"] == 2
    assert cli.main(["train", str(run.read_config()["model"]), "--resume", "--out", str(run.path), "--steps", "3",
                     "--threads", "1"]) == 0
