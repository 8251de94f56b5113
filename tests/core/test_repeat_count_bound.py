"""Issue 27: a region's repeat count may name any dim (``regions: {layer: context}``); the count
itself is bounded as a layer count, whatever the dim is called, in every file and every command."""
import pytest

from studio.cli import main as cli_main
from studio.core import errors as E
from studio.core.files.presets import load_preset
from studio.core.files.model_spec import load_model
from studio.core.model.bounds import scale_problems
from studio.core.model.validate import validate

REGION_BY_CONTEXT = "extends: recipe-microgpt\nregions: {layer: context}\n"


@pytest.mark.parametrize("scales,want", [
    ("{paper: {context: 16777216}}", "scales.paper.context: context 16,777,216 repeats the layer region: above 1,024"),
    ("{classroom: {context: 100000}}", "context 100,000 repeats the layer region: above 256, the most layers the classroom"),
])
def test_a_repeat_count_named_by_any_dim_is_bounded_in_the_file(tmp_path, scales, want):
    p = tmp_path / "m.yaml"
    p.write_text(REGION_BY_CONTEXT + f"scales: {scales}\n")
    with pytest.raises(E.LoadError) as ei:
        load_model(str(p))
    assert want in str(ei.value) and "\n" not in str(ei.value)


def test_a_repeat_count_inherited_from_the_base_is_bounded(tmp_path, capsys):
    """LLaMA 2's paper context (4,096) as its layer count: the merged model is checked."""
    p = tmp_path / "m.yaml"
    p.write_text("extends: 2023-07-llama-2\nregions: {layer: context}\n")
    assert cli_main(["info", str(p)]) == 2
    err = capsys.readouterr().err
    assert "context 4,096 repeats the layer region" in err and len(err.strip().splitlines()) == 1


def test_the_repeat_count_given_on_the_command_line_is_bounded_before_building(tmp_path, capsys):
    """``train --context N`` on a model whose layers repeat by context: refused before any layer is
    built and before a run folder exists."""
    p = tmp_path / "m.yaml"
    p.write_text(REGION_BY_CONTEXT + "scales: {classroom: {context: 16}}\n")
    out = tmp_path / "run"
    assert cli_main(["train", str(p), "--steps", "1", "--context", "5000", "--data", "starter", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "context 5,000 repeats the layer region: above 256" in err and len(err.strip().splitlines()) == 1, err
    assert not out.exists()


def test_validate_names_an_edited_repeat_count():
    arch = load_preset("recipe-microgpt")
    arch.regions["layer"] = "context"
    arch.scales["classroom"]["context"] = 10**6  # as an edit in the GUI would
    msgs = [str(i) for i in validate(arch, "classroom")]
    assert any("context 1,000,000 repeats the layer region" in m for m in msgs), msgs


def test_ordinary_layer_counts_keep_their_messages():
    assert scale_problems({"classroom": {"n_layers": 300}}) == [
        ("scales.classroom.n_layers", "n_layers 300 is above 256, the largest the classroom scale can build")]
    assert scale_problems({"paper": {"context": 16777216}}) == []  # a context only: its own bound
    assert scale_problems({"classroom": {"context": 0}}, {"layer": "context"})[0][1].endswith("at least 1 layer")
