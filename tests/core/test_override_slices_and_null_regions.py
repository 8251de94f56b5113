"""An override's layer slice with step 0 and a region set to null: one line or a correct
acceptance in info, plan and validate (they were a ValueError from slice() and a TypeError)."""
import pytest

from studio import cli
from studio.core import errors as E
from studio.core.files.presets import load_preset
from studio.core.model.architecture import Override


def write(tmp_path, text):
    p = tmp_path / "m.yaml"
    p.write_text(text)
    return str(p)


@pytest.mark.parametrize("layers", ["::0", "0:4:0", " : : 0 ", "1::-0"])
def test_a_literal_step_of_zero_is_one_line(tmp_path, capsys, layers):
    p = write(tmp_path, f'extends: 2023-07-llama-2\noverrides: [{{layers: "{layers}", node: feed_forward}}]\n')
    for cmd in ("info", "plan", "validate"):
        assert cli.main([cmd, p]) == 2
        err = capsys.readouterr().err
        assert "step cannot be 0" in err and len(err.strip().splitlines()) == 1


def test_a_step_of_zero_from_a_dim_is_a_config_error():
    with pytest.raises(E.ConfigError, match="step cannot be 0"):
        Override("::$k", "feed_forward").indices(4, {"k": 0})
    assert Override("::$k", "feed_forward").indices(4, {"k": 2}) == [0, 2]


def test_other_layer_errors_say_what_is_wrong(tmp_path, capsys):
    for layers, says in (("9999", "maximum"), ("[1, x]", "integer"), ("{a: 1}", "layer index")):
        p = write(tmp_path, f"extends: 2023-07-llama-2\noverrides: [{{layers: {layers}, node: feed_forward}}]\n")
        assert cli.main(["info", p]) == 2
        assert says in capsys.readouterr().err


def test_a_null_region_removes_it(tmp_path, capsys):
    p = write(tmp_path, "extends: 2017-06-transformer\nregions: {encoder: null}\n")
    for cmd in ("info", "plan"):
        assert cli.main([cmd, p]) == 0, capsys.readouterr().err
    capsys.readouterr()
    from studio.core.files.yamlio import architecture_from_data, parse_yaml_text
    data = parse_yaml_text("schema_version: 1\nscales: {classroom: {dim: 8, n_layers: 1}}\nregions: {layer: n_layers, "
                           "encoder: null}\nnodes: {}\n", "x")
    assert architecture_from_data(data, "x").regions == {"layer": "n_layers"}
    assert "encoder" not in load_preset("2018-06-gpt-1").regions  # GPT-1's own null still removes it
