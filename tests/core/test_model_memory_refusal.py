"""Issue 27: every dim inside its bound, the whole model absurd (1.4 T parameters at the classroom
scale). The accounting estimates the memory before anything is built, and the refusal names the
figure and the machine's memory: in train (before a run folder exists), in the GUI's run setup and
wherever a model is compiled from a user file."""
import pytest

from studio.cli import main as cli_main
from studio.core import errors as E
from studio.core.files.presets import load_preset
from studio.core.model import fits
from studio.core.model.compiler import compile_architecture
from studio.core.training import setup as S
from studio.core.training.trainer import TrainConfig

ABSURD = ("extends: recipe-microgpt\nscales: {classroom: {dim: 16384, n_layers: 256, n_heads: 256, "
          "hidden_dim: 131072, context: 131072}}\n")
MiB = 1 << 20


def test_train_refuses_a_model_too_large_for_this_machine_before_building(tmp_path, capsys):
    p = tmp_path / "absurd.yaml"
    p.write_text(ABSURD)
    out = tmp_path / "run"
    assert cli_main(["train", str(p), "--steps", "1", "--data", "starter", "--tokenizer", "byte", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "T parameters and needs about" in err and "TiB to train" in err, err
    assert "this machine has" in err and " of memory" in err
    assert not out.exists()


def test_the_estimate_is_the_accountings_and_training_needs_more_than_building():
    arch = load_preset("recipe-microgpt")
    with pytest.raises(E.StudioError, match=r"needs about .* to build; this machine has 1 KiB of memory"):
        fits.check_fits(arch, memory=1024)
    with pytest.raises(E.StudioError, match=r"to train at batch 8 × context \d+"):
        fits.check_fits(arch, batch=8, memory=1024)
    fits.check_fits(arch, batch=8, memory=1 << 40)  # fits: nothing raised
    fits.check_fits(arch, memory=0)  # the machine's memory unknown: no refusal on a guess


def test_a_model_compiled_from_a_user_file_is_checked_too(monkeypatch):
    """generate, inspect, export and the GUI build through compile_architecture."""
    monkeypatch.setattr(fits, "machine_memory", lambda: 1 * MiB)
    with pytest.raises(E.StudioError, match=r"needs about [\d.]+ MiB to build; this machine has 1 MiB"):
        compile_architecture(load_preset("recipe-llama2c-stories260k"))


def test_the_apps_run_setup_refuses_before_a_run_folder_exists(tmp_path, monkeypatch):
    monkeypatch.setattr(fits, "machine_memory", lambda: 2 * MiB)
    out = tmp_path / "run"
    cfg = TrainConfig(steps=1, batch_size=64, context=64)
    with pytest.raises(E.StudioError, match="to train at batch 64 × context 64; this machine has 2 MiB"):
        S.prepare_new_run(load_preset("recipe-llama2c-stories260k"), "recipe-llama2c-stories260k", "starter",
                          "byte", None, None, cfg, out)
    assert not out.exists()


def test_this_machine_reports_its_memory():
    m = fits.machine_memory()
    assert m is None or m > 64 * MiB
