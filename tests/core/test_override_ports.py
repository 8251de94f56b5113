"""Issue 27: an override that swaps a layer node for a kind with other ports (a residual → rmsnorm)
passed validate ("no issues"), then train failed in the first forward and left a run folder
behind. Port compatibility is part of validation: validate names it, train refuses before any
run folder exists."""
import pytest

from studio.cli import main as cli_main
from studio.core.files.presets import load_preset
from studio.core.files.model_spec import load_model
from studio.core.model.validate import override_port_problems, validate

SWAP = 'extends: recipe-microgpt\noverrides: [{{layers: "0:1", node: {node}, kind: {kind}}}]\n'


@pytest.mark.parametrize("preset,node,kind,want", [
    ("recipe-microgpt", "add_attn", "rmsnorm", "layers 0:1 make it a rmsnorm, which has no input 'y' (wired from attention"),
    ("recipe-microgpt", "feed_forward", "residual", "which needs input 'y' (hidden); the graph wires none"),
    ("recipe-microgpt", "attention", "cross_attention", "which needs input 'memory'"),
    ("recipe-microgpt", "feed_forward", "lm_head", "which has no output 'x' (wired to add_ffn)"),
    ("2023-07-llama-2", "attention", "mlp", "which has no input 'rope'"),
])
def test_validate_names_an_override_whose_ports_do_not_fit(tmp_path, preset, node, kind, want):
    p = tmp_path / "m.yaml"
    p.write_text(SWAP.replace("recipe-microgpt", preset).format(node=node, kind=kind))
    issues = [str(i) for i in validate(load_model(str(p))) if i.severity == "error"]
    assert any(i.startswith(f"{node}: ") and want in i for i in issues), issues


def test_an_override_with_the_same_ports_is_fine():
    """DeepSeek's leading dense layers (moe → swiglu) and every preset keep validating clean."""
    arch = load_preset("recipe-microgpt")
    from studio.core.model.architecture import Override
    arch.overrides.append(Override("0:1", "feed_forward", "swiglu"))
    assert override_port_problems(arch) == []
    assert override_port_problems(load_preset("2024-12-deepseek-v3")) == []


def test_validate_and_train_refuse_it_in_one_line_without_a_run_folder(tmp_path, capsys):
    p = tmp_path / "m.yaml"
    p.write_text(SWAP.format(node="add_attn", kind="rmsnorm"))
    assert cli_main(["validate", str(p)]) != 0
    assert "add_attn: layers 0:1 make it a rmsnorm, which has no input 'y'" in capsys.readouterr().out
    out = tmp_path / "run"
    assert cli_main(["train", str(p), "--steps", "1", "--data", "starter", "--tokenizer", "byte", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "cannot be built: add_attn: layers 0:1 make it a rmsnorm" in err, err
    assert not out.exists() and not list(tmp_path.glob(".run*"))
