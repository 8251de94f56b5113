"""ArchGraph edits, typed errors, events, validation, YAML round trip and bad input."""
import pytest

from studio.core import errors as E
from studio.core.model.graph import ArchGraph, Node
from studio.core.files.presets import load_preset
from studio.core.files.model_spec import load_model
from studio.core.model.validate import validate, errors_only
from studio.core.files.yamlio import architecture_from_data, dump_architecture, parse_yaml_text


def llama():
    return load_preset("2023-07-llama-2")


def test_edit_events_fire():
    g = llama().graph
    seen = []
    g.node_added.connect(lambda n: seen.append(("add", n.id)))
    g.edge_added.connect(lambda e: seen.append(("edge", str(e))))
    g.config_changed.connect(lambda nid, k, old, new: seen.append(("cfg", nid, k, old, new)))
    g.add_node(Node("extra_norm", "rmsnorm", "layer"))
    g.set_config("attention", "n_kv_heads", 4)
    assert ("add", "extra_norm") in seen and ("cfg", "attention", "n_kv_heads", None, 4) in seen


def test_typed_errors_on_impossible_edits():
    g = llama().graph
    with pytest.raises(E.UnknownPortError):
        g.connect("output", "x", "norm", "x")
    with pytest.raises(E.InputTakenError):
        g.connect("tok_embeddings", "x", "attention", "x")
    with pytest.raises(E.DuplicateEdgeError):
        g.connect("attention_norm", "x", "attention", "x")
    with pytest.raises(E.PortTypeError):
        g.connect("rope", "rope", "ffn_norm", "x")
    with pytest.raises(E.ConfigError):
        g.set_config("attention", "n_kv_head", 4)
    with pytest.raises(E.GraphEditError):
        g.add_node(Node("attention", "rmsnorm"))
    g.add_node(Node("n2", "residual", "layer"))
    g.connect("feed_forward", "x", "n2", "x")
    g.add_node(Node("n3", "rmsnorm", "layer"))
    g.connect("n2", "x", "n3", "x")
    with pytest.raises(E.CycleError):
        g.connect("n3", "x", "n2", "y")
    assert g.can_connect("tok_embeddings", "x", "n2", "x") is False  # already taken
    assert g.can_connect("tok_embeddings", "x", "n2", "y") is True


def test_cycle_detected_between_existing_nodes():
    g = ArchGraph()
    for n in ("a", "b", "c"):
        g.add_node(Node(n, "rmsnorm", "layer"))
    g.connect("a", "x", "b", "x")
    g.connect("b", "x", "c", "x")
    with pytest.raises(E.CycleError):
        g.connect("c", "x", "a", "x")


def test_validate_reports_every_issue_with_node_ids():
    a = llama()
    a.scales["classroom"]["n_kv_heads"] = 3   # 8 heads not divisible by 3
    a.graph.set_config("attention", "head_dim", 0)
    a.graph.add_node(Node("dangling", "rmsnorm", "layer"))
    a.graph.add_node(Node("pos", "learned_positions", "stem"))
    e = a.graph.input_edge("attention_norm", "x")
    a.graph.disconnect(e)
    a.graph.connect("tok_embeddings", "x", "pos", "x")
    a.graph.connect("pos", "x", "attention_norm", "x")
    issues = validate(a, "classroom")
    text = "\n".join(map(str, issues))
    assert "attention: n_heads 8 is not divisible by n_kv_heads 3" in text
    assert "dangling: input 'x'" in text
    assert "two positional schemes" in text


def test_validate_catches_odd_rope_and_topk():
    a = load_preset("2023-07-llama-2")
    a.scales["classroom"].update(dim=120, n_heads=8)  # head_dim 15: odd
    msgs = [str(i) for i in errors_only(validate(a, "classroom"))]
    assert any("must be even" in m for m in msgs)


def test_yaml_round_trip_gives_equal_architecture():
    for pid in ("2017-06-transformer", "2020-05-gpt-3", "2023-07-llama-2"):
        a = load_preset(pid)
        b = architecture_from_data(parse_yaml_text(dump_architecture(a), "x"), "x")
        assert a.graph == b.graph and a.scales == b.scales and a.regions == b.regions
        assert [o.__dict__ for o in a.overrides] == [o.__dict__ for o in b.overrides]


BAD = {
    "malformed": ("nodes: [unclosed", "malformed YAML at line"),
    "kind": ("scales: {classroom: {dim: 8}}\nnodes: {a: {kind: warp_drive}}", "unknown block kind 'warp_drive'"),
    "key": ("scales: {classroom: {dim: 8}}\nnodes: {a: {kind: rmsnorm, config: {epsilon: 1}}}", "has no setting 'epsilon'"),
    "top": ("scales: {c: {}}\nnodez: {}", "unknown top-level key 'nodez'"),
    "cycle": ("scales: {c: {dim: 8}}\nnodes: {a: {kind: rmsnorm}, b: {kind: rmsnorm}}\nedges: [a -> b, b -> a]", "cycle"),
    "schema": ("schema_version: 9\nscales: {}\nnodes: {}", "schema_version 9 is not supported"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_yaml_gives_clear_message(tmp_path, case):
    text, expect = BAD[case]
    p = tmp_path / f"{case}.yaml"
    p.write_text(text)
    with pytest.raises(E.StudioError) as exc:
        load_model(str(p))
    assert expect in str(exc.value) and str(p) in str(exc.value)


def test_impossible_dims_reported_by_validate(tmp_path):
    a = llama()
    a.scales["classroom"].update(dim=100, n_heads=8)
    assert any("not divisible" in str(i) for i in validate(a, "classroom"))
