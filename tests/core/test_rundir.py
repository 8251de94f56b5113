import pytest
import torch

from studio.core import errors as E
from studio.core.model.compiler import compile_architecture
from studio.core.files.presets import load_preset
from studio.core.runs.rundir import RunDir
from studio.core.tokenizers.byte_level import ByteTokenizer


def make_run(tmp_path, pid="2023-07-llama-2"):
    arch = load_preset(pid)
    arch.scales["classroom"]["vocab_size"] = 259
    run = RunDir(tmp_path / "run")
    run.initialize(arch, pid, ByteTokenizer(), {"steps": 0})
    model = compile_architecture(arch)
    run.save_checkpoint({"model": model.state_dict(), "optimizer": None}, step=0)
    return run, model


def test_run_round_trip(tmp_path):
    run, model = make_run(tmp_path)
    m2 = run.build_model()
    x = torch.randint(0, 259, (1, 8))
    torch.testing.assert_close(model.eval()(x)[0], m2(x)[0])
    tok = run.tokenizer()
    assert tok.decode(tok.encode("héllo wörld")) == "héllo wörld"
    assert (run.tokenizer_dir / "tokenizer.bin").stat().st_size > 259 * 9


def test_truncated_checkpoint_is_a_clear_error(tmp_path):
    run, _ = make_run(tmp_path)
    p = run.checkpoint_path()
    p.write_bytes(p.read_bytes()[:1000])
    for f in run.checkpoint_dir.glob("step-*.pt"):  # with a complete step file, load falls back to it
        f.unlink()
    with pytest.raises(E.LoadError, match="truncated"):
        run.build_model()


def test_not_a_run_folder(tmp_path):
    with pytest.raises(E.LoadError, match="not a run folder"):
        RunDir(tmp_path).read_config()


def test_run_folder_is_accepted_as_model(tmp_path):
    from studio.core.files.model_spec import load_model
    run, _ = make_run(tmp_path)
    for spec in (run.path, run.config_path):
        arch = load_model(str(spec))
        assert arch.dims("classroom")["vocab_size"] == 259
