"""Issue 17: every hostile architecture / preset / project YAML gives one clear LoadError line
naming the field (``file: path.to.field: what``), never a deep TypeError, hang or RecursionError."""
from __future__ import annotations

import pytest

from studio.core import errors as E
from studio.core.files.model_spec import load_model
from studio.core.files.schema import load_json, load_yaml, read_bytes

EXT = "extends: recipe-microgpt\n"
TRIGGERS = {  # name: (file text, what the message must contain)
    "n_layers 1e9 hangs": (EXT + "scales: {classroom: {n_layers: 1000000000}}\n", "scales.classroom.n_layers: n_layers 1,000,000,000 is above 256"),
    "n_layers 2^31": (EXT + "scales: {paper: {n_layers: 2147483648}}\n", "scales.paper.n_layers: n_layers 2,147,483,648 is above 1,024"),
    "n_layers 0": (EXT + "scales: {classroom: {n_layers: 0}}\n", "n_layers 0 is below the minimum 1"),
    "n_layers -1": (EXT + "scales: {classroom: {n_layers: -1}}\n", "n_layers -1 is below the minimum 1"),
    "context 0": (EXT + "scales: {classroom: {context: 0}}\n", "scales.classroom.context: context 0 is below the minimum 1"),
    "context 2^31": (EXT + "scales: {classroom: {context: 2147483648}}\n", "context 2,147,483,648 is above 131,072"),
    "vocab huge": (EXT + "scales: {paper: {vocab_size: 99999999999}}\n", "vocab_size 99,999,999,999 is above"),
    "experts huge": (EXT + "scales: {paper: {n_experts: 100000}}\n", "n_experts 100,000 is above 16,384"),
    "dim NaN": (EXT + "scales: {classroom: {dim: .nan}}\n", "scales.classroom.dim: dim is nan; it must be a finite number"),
    "graph_ops set: hello": (EXT + "graph_ops: {set: hello}\n", "graph_ops.set: must be a mapping"),
    "graph_ops 1.5": (EXT + "graph_ops: 1.5\n", "graph_ops: must be a mapping"),
    "remove [{a: 1}]": (EXT + "graph_ops: {remove: [{a: 1}]}\n", "graph_ops.remove[0]: must be text"),
    "n_layers abc": (EXT + "scales: {classroom: {n_layers: abc}}\n", "scales.classroom.n_layers: n_layers must be a whole number"),
    "n_heads $nope": (EXT + "scales: {classroom: {n_heads: $nope}}\n", "scales.classroom.n_heads"),
    "dim [1, 2]": (EXT + "scales: {classroom: {dim: [1, 2]}}\n", "scales.classroom.dim: must be a number"),
    "override unknown kind": (EXT + "overrides: [{layers: '0:1', node: feed_forward, kind: nope}]\n", "overrides[0].kind: unknown block kind 'nope'"),
    "override bad slice": (EXT + "overrides: [{layers: 'a:b:c:d', node: feed_forward}]\n", "overrides[0].layers"),
    "key 1": (EXT + "1: 2\n", "top-level key 1 must be text"),
    "key null": (EXT + "null: 2\n", "top-level key None must be text"),
    "hidden_dim 2^63": (EXT + "scales: {classroom: {hidden_dim: 9223372036854775807}}\n", "scales.classroom.hidden_dim"),
    "config hidden_dim 2^63": (EXT + "graph_ops: {set: {feed_forward: {hidden_dim: 9223372036854775807}}}\n", "hidden_dim"),
    "meta.provenance [1]": (EXT + "meta: {provenance: [1]}\n", "meta.provenance: must be a mapping"),
    "meta.citations [1]": (EXT + "meta: {citations: [1]}\n", "meta.citations[0]: must be a mapping"),
    "citation without title": (EXT + "meta: {citations: [{link: x}]}\n", "meta.citations[0]: missing required key 'title'"),
    "deep lists": ("a: " + "[" * 600 + "]" * 600 + "\n", "nested more than"),
    "deep maps": ("a: " + "{a: " * 600 + "1" + "}" * 600 + "\n", "nested more than"),
    "billion laughs": ("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 12)), "more than 200,000 entries"),
    "NUL byte": ("id: a\0b\n", "contains a NUL byte at offset 5"),
    "non-UTF-8": (b"id: caf\xe9\n", "not UTF-8 text (byte 0xe9 at offset 7)"),
    "no scales": ("id: x\nnodes: {}\nscales: {}\n", "scales: needs at least one scale"),
    "scales not a map": ("id: x\nnodes: {}\nscales: [1]\n", "scales: must be a mapping"),
    "node config 1.5": (EXT + "graph_ops: {add: {x: {kind: rmsnorm, config: 1.5}}}\n", "graph_ops.add.x.config: must be a mapping"),
}


@pytest.mark.parametrize("name", sorted(TRIGGERS))
def test_hostile_architecture_file_is_one_clear_line(tmp_path, name):
    text, want = TRIGGERS[name]
    p = tmp_path / "m.yaml"
    p.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(E.LoadError) as ei:
        load_model(str(p))
    msg = str(ei.value)
    assert want in msg
    assert "\n" not in msg and len(msg) < 400
    assert msg.startswith(str(p))


def test_a_two_megabyte_id_is_not_echoed(tmp_path):
    p = tmp_path / "m.yaml"
    p.write_text("id: " + "x" * 2_000_000 + "\nnodes: {}\nscales: {a: {}}\n")
    with pytest.raises(E.LoadError) as ei:
        load_model(str(p))
    assert "id: is 2,000,000 characters long" in str(ei.value) and len(str(ei.value)) < 300


def test_extends_with_empty_scales_is_accepted(tmp_path):
    p = tmp_path / "m.yaml"
    p.write_text(EXT + "scales: {}\n")
    assert load_model(str(p)).scales["classroom"]["n_layers"] >= 1


def test_every_preset_still_passes_the_schema():
    from studio.core.files.presets import load_preset, preset_ids
    for pid in preset_ids():
        load_preset(pid)


def test_fifo_and_dev_zero_are_refused_without_blocking(tmp_path):
    import os
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    with pytest.raises(E.LoadError, match="is a FIFO"):
        load_model(str(fifo))
    if os.path.exists("/dev/zero"):
        with pytest.raises(E.LoadError, match="is a device"):
            read_bytes("/dev/zero", 1 << 20)
    with pytest.raises(E.LoadError, match="is a folder"):
        read_bytes(tmp_path, 10)


def test_size_is_checked_before_reading(tmp_path):
    p = tmp_path / "big.bin"
    with open(p, "wb") as fh:
        fh.truncate(10_000)
    with pytest.raises(E.LoadError, match="10,000 bytes; a file may be at most 100 bytes"):
        read_bytes(p, 100)


@pytest.mark.parametrize("text,want", [("[" * 2000 + "]" * 2000, "nested more than"),
                                       ("1" * 100_000, "not usable JSON"), ('{"a": }', "not valid JSON")])
def test_json_is_bounded(text, want):
    with pytest.raises(E.LoadError, match=want):
        load_json(text, "x.json")


def test_yaml_error_is_not_doubled():
    with pytest.raises(E.LoadError) as ei:
        load_yaml("a: [1, 2\n", "x.yaml")
    assert str(ei.value).count("malformed YAML") == 1


@pytest.mark.parametrize("dims,want", [({"n_layers": 0}, "n_layers 0 is below the minimum 1"),
                                       ({"n_layers": -1}, "n_layers -1 is below the minimum 1"),
                                       ({"context": 0}, "context 0 is below the minimum 1"),
                                       ({"n_layers": 10**9}, "n_layers 1,000,000,000 is above 256")])
def test_validate_names_the_bound_for_an_edited_architecture(dims, want):
    from studio.core.files.presets import load_preset
    from studio.core.model.validate import validate
    arch = load_preset("recipe-microgpt")
    arch.scales["classroom"].update(dims)  # as an edit in the GUI would
    msgs = [str(i) for i in validate(arch, "classroom") if i.severity == "error"]
    assert any(want in m for m in msgs), msgs
