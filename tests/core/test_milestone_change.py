"""milestone_change: what changed from the timeline's previous milestone, in a learner's words;
and the one ``extends`` resolver that presets and architecture files share."""
from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from studio.core import errors as E
from studio.core.model.diff import milestone_change, milestone_change_items
from studio.core.files.presets import load_model, load_preset, timeline

MILESTONES = timeline()["milestones"]
IDENTIFIER = re.compile(r"\b[A-Za-z0-9]+_[A-Za-z0-9_]+\b")  # route_scale, n_kv_heads, ffn_norm ...


def _pairs():
    return list(zip([None] + MILESTONES[:-1], MILESTONES))


def test_the_first_milestone_has_no_predecessor_and_no_change():
    assert MILESTONES[0] == "2017-06-transformer"
    assert milestone_change(None, load_preset(MILESTONES[0])) == []


@pytest.mark.parametrize("prev,pid", _pairs()[1:])
def test_every_step_of_the_timeline_reads_as_words(prev, pid):
    a, b = load_preset(prev), load_preset(pid)
    lines = milestone_change(a, b)
    if not lines:  # a training milestone (R1 on V3): the same network, nothing to list
        assert a.graph == b.graph and a.scales == b.scales and a.overrides == b.overrides, f"{prev} → {pid}: changes left out"
    ids = set(a.graph.nodes) | set(b.graph.nodes)
    for line in lines:
        assert not IDENTIFIER.search(line), f"{pid}: field name or block id in {line!r}"
        assert not any(re.search(rf"\b{re.escape(i)}\b", line) for i in ids if not i.isalpha() or "_" in i), line
        assert "Rewired" not in line and "connection(s)" not in line
    assert len(lines) == len(set(lines))
    if b.meta.get("disclosure") in ("undisclosed", "stand-in"):  # a stand-in's figures are illustrations
        assert not any(re.search(r"\d", line) for line in lines), lines


def test_llama_1_to_llama_2_tells_grouped_query_attention():
    lines = milestone_change(load_preset("2023-02-llama-1"), load_preset("2023-07-llama-2"))
    gqa = [line for line in lines if "GQA" in line]
    assert gqa and gqa[0].startswith("Attention: ") and "key/value heads" in gqa[0]


def test_a_norm_swap_is_one_line_not_one_per_block():
    lines = milestone_change(load_preset("2019-02-gpt-2"), load_preset("2019-10-rmsnorm"))
    assert lines[0] == "Normalisation: LayerNorm → RMSNorm"
    assert sum("Normalisation" in line for line in lines) == 1


def test_gpt_1_to_gpt_2_moves_the_norms_before_each_sublayer():
    lines = milestone_change(load_preset("2018-06-gpt-1"), load_preset("2019-02-gpt-2"))
    assert "Norm placement: after each sub-layer (post-norm) → before each sub-layer (pre-norm)" in lines


def test_each_line_carries_its_kind_for_the_card_and_the_animation():
    items = milestone_change_items(load_preset("2021-04-rope"), load_preset("2022-03-instructgpt"))
    assert ("replaced", "Positions: RoPE → Learned positions") in items
    items = milestone_change_items(load_preset("2017-06-transformer"), load_preset("2018-06-gpt-1"))
    assert items[0][0] == "removed" and {k for k, _ in items} <= {"added", "removed", "replaced", "changed"}
    assert [t for _, t in items] == milestone_change(load_preset("2017-06-transformer"), load_preset("2018-06-gpt-1"))


def test_dropping_the_encoder_is_one_line():
    lines = milestone_change(load_preset("2017-06-transformer"), load_preset("2018-06-gpt-1"))
    assert lines[0].startswith("Encoder removed")
    assert not any("Cross-attention" in line for line in lines)


def test_an_identical_model_has_no_change():
    a = load_preset("2023-07-llama-2")
    assert milestone_change(a, a.copy()) == []


# ---------------------------------------------------------------------------- one extends resolver
def test_an_architecture_file_extends_a_preset_like_a_preset_does(tmp_path):
    p = tmp_path / "mine.yaml"
    p.write_text("schema_version: 1\nid: mine\nextends: 2023-07-llama-2\n"
                 "scales:\n  paper: {n_kv_heads: null, n_layers: 2}\n"
                 "graph_ops:\n  set: {feed_forward: {hidden_dim: 1000}}\n", encoding="utf-8")
    arch = load_model(str(p))
    base = load_preset("2023-07-llama-2")
    assert arch.scales["paper"]["n_layers"] == 2
    assert "n_kv_heads" not in arch.scales["paper"]  # null removes a dim, as in presets
    assert arch.scales["classroom"] == base.scales["classroom"]
    assert arch.config("feed_forward", "paper")[0].hidden_dim == 1000
    assert arch.regions == base.regions


def test_extends_loops_are_one_clear_error(tmp_path, monkeypatch):
    from studio.core.files import presets as P
    raw = {"a": {"schema_version": 1, "id": "a", "extends": "b"}, "b": {"schema_version": 1, "id": "b", "extends": "a"}}
    monkeypatch.setattr(P, "raw_preset", lambda pid: raw[pid])
    P.resolved_data.cache_clear()
    try:
        with pytest.raises(E.LoadError, match="loops back"):
            P.resolved_data("a")
    finally:
        P.resolved_data.cache_clear()


# ---------------------------------------------------------------------------- info --json nodes
def test_info_json_lists_each_node_resolved_at_the_chosen_scale():
    out = subprocess.run([sys.executable, "-m", "studio", "info", "2023-02-llama-1", "--json"],
                         capture_output=True, text=True, timeout=120, check=True).stdout
    nodes = {n["id"]: n for n in json.loads(out)["nodes"]}
    ffn, att = nodes["feed_forward"], nodes["attention"]
    # LLaMA-1 7B (Touvron et al. 2023, Table 2; released params.json): hidden 11008, 32 heads, MHA
    assert (ffn["kind"], ffn["region"], ffn["repeats"]) == ("swiglu", "layer", 32)
    assert ffn["config"]["hidden_dim"] == 11008 and ffn["config"]["dim"] == 4096
    assert att["config"]["n_heads"] == att["config"]["n_kv_heads"] == 32
    assert ffn["costs"]["params"] == 32 * 3 * 4096 * 11008
    assert "layers" not in ffn  # identical layers are not repeated


def test_info_json_gives_per_layer_configs_where_layers_differ():
    from studio.core.model.info import node_configs
    arch = load_preset("2024-05-deepseek-v2")
    ffn = {n["id"]: n for n in node_configs(arch, "paper")}["feed_forward"]
    groups = ffn["layers"]
    assert [g["kind"] for g in groups] == ["swiglu", "moe"]  # DeepSeek-V2: first_k_dense_replace = 1
    assert groups[0]["layers"] == [0] and groups[1]["layers"] == list(range(1, 60))
    assert groups[1]["config"]["n_experts"] == 160 and groups[1]["config"]["top_k"] == 6
    gpt4 = {n["id"]: n for n in node_configs(load_preset("2024-09-o1"), "paper")}
    assert all(n["costs"] is None and n["illustrative"] for n in gpt4.values())  # a stand-in shows no figures
