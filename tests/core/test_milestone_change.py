"""milestone_change: what a milestone changed against the model it builds on (``meta.builds_on``,
studio.core.model.lineage), in a learner's words; and the one ``extends`` resolver that presets
and architecture files share."""
from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from blocks.registry import get_spec
from studio.core import errors as E
from studio.core.files.model_spec import load_model
from studio.core.files.presets import (
    load_preset,
    preset_ids,
    raw_preset,
    timeline,
)
from studio.core.model.accounting import account, humanize
from studio.core.model.diff import DIM_WORDS
from studio.core.model.lineage import milestone_change, milestone_change_items
from studio.core.model.lineage import builds_on, change_since
from studio.core.model.resolve import resolve

MILESTONES = timeline()["milestones"]
IDENTIFIER = re.compile(r"\b[A-Za-z0-9]+_[A-Za-z0-9_]+\b")  # route_scale, n_kv_heads, ffn_norm ...
LINEAGE = [p for p in preset_ids() if raw_preset(p)["meta"].get("builds_on")]
# builds_on differs from extends only where the file reuses a sibling's data: stories15M was
# llama2.c's first model (July 2023); its preset reuses stories260K's settings
BUILDS_ON_NOT_EXTENDS = {"recipe-llama2c-stories15m": "2023-07-llama-2"}


def _pair(pid):
    arch = load_preset(pid)
    return load_preset(builds_on(arch.meta)[0]), arch


def _texts(pid):
    return [t for _, t in change_since(load_preset(pid)).items]


# ---------------------------------------------------------------------------- every preset's lineage
def test_every_preset_but_the_root_names_the_model_it_builds_on():
    assert MILESTONES[0] == "2017-06-transformer" and "builds_on" not in raw_preset(MILESTONES[0])["meta"]
    assert set(LINEAGE) == set(preset_ids()) - {MILESTONES[0]}
    for pid in LINEAGE:
        ids = builds_on(raw_preset(pid)["meta"])
        assert ids and all(i in preset_ids() and i != pid for i in ids), pid
        expected = BUILDS_ON_NOT_EXTENDS.get(pid, raw_preset(pid).get("extends"))
        assert ids[0] == expected, (pid, ids[0], expected)


def test_the_root_has_no_change_and_a_stranger_no_lineage():
    assert change_since(load_preset(MILESTONES[0])).items == () and milestone_change(None, load_preset(MILESTONES[0])) == []
    a = load_preset("2023-07-llama-2").copy()
    a.meta.pop("builds_on")
    assert change_since(a).since is None


def _variants(arch, nids, scale="paper"):
    out = {}
    for nid in nids:
        if nid in arch.graph.nodes:
            out[nid] = [(k, c) for _, k, c in resolve(arch, scale).variants_of(nid)]
    return out


def _topic_nodes(a, b, topic):
    return {n for arch in (a, b) for n, node in arch.graph.nodes.items() if get_spec(node.kind).topic_words == topic}


def _evidence(line: str, a, b) -> bool:
    """Is the change this line tells present in the pair's graphs, figures or pipeline?"""
    topic, _, rest = line.partition(":")
    ra, rb = resolve(a, "paper"), resolve(b, "paper")
    if topic in ("Training", "Training pipeline"):
        return (a.training or {}).get("stages") != (b.training or {}).get("stages") or \
            (a.training or {}).get("settings") != (b.training or {}).get("settings")
    if topic.startswith("Encoder"):
        return any(n.region == "encoder" for n in a.graph.nodes.values()) != \
            any(n.region == "encoder" for n in b.graph.nodes.values())
    if topic == "Norm placement":
        return {str(e) for e in a.graph.edges} != {str(e) for e in b.graph.edges}
    if topic == "Not stated by any source, so not listed":
        return bool(b.meta.get("dims_provenance")) or bool(a.meta.get("dims_provenance"))
    labels = {label: k for k, (label, _) in DIM_WORDS.items()}
    if topic in labels:
        k = labels[topic]
        x, y = (int(re.sub(r"\D", "", s)) for s in rest.replace(" tokens", "").split("→"))
        return ra.dims[k] == x and rb.dims[k] == y and x != y
    if topic in ("Parameters", "Active per token"):
        key = "params_total" if topic == "Parameters" else "params_active"
        x, y = (s.strip().replace(" parameters", "") for s in rest.split("→"))
        sourced = re.fullmatch(r"~(.+) \((reported|published)\)", y)
        if sourced:  # the source's own figure stands for a count resting on assumptions (GPT-4)
            return humanize(getattr(account(a, "paper"), key)) == x and humanize(b.meta["published"][key]) == sourced[1]
        return (humanize(getattr(account(a, "paper"), key)), humanize(getattr(account(b, "paper"), key))) == (x, y)
    if topic in ("Router", "Experts", "Mixture of experts"):
        topic = "Feed-forward"
    if topic == "Initialisation":  # the zero-initialised output projections of attention and feed-forward
        nodes = _topic_nodes(a, b, "Attention") | _topic_nodes(a, b, "Feed-forward")
        return _variants(a, nodes) != _variants(b, nodes)
    nodes = _topic_nodes(a, b, topic)
    return bool(nodes) and _variants(a, nodes) != _variants(b, nodes)


@pytest.mark.parametrize("pid", LINEAGE)
def test_every_listed_change_is_in_the_pair_it_compares(pid):
    """No card lists a change absent from the model and the one it builds on."""
    a, b = _pair(pid)
    ch = change_since(b)
    assert ch.since == builds_on(b.meta)[0]
    for kind, line in ch.items:
        assert _evidence(line, a, b), f"{pid} against {ch.since}: {line!r} is not in the pair"
        assert not IDENTIFIER.search(line), f"{pid}: field name or block id in {line!r}"
        assert "Rewired" not in line and "connection(s)" not in line
    texts = [t for _, t in ch.items]
    assert len(texts) == len(set(texts))
    if b.meta.get("disclosure") in ("undisclosed", "stand-in"):  # a stand-in's figures are illustrations
        assert not any(re.search(r"\d", t) for t in texts), texts


@pytest.mark.parametrize("pid", LINEAGE)
def test_the_headline_leads_the_list(pid):
    ch, head = change_since(load_preset(pid)), raw_preset(pid)["meta"].get("headline")
    assert ch.items, pid
    if head:
        assert ch.headline.startswith(f"{head}:"), (pid, ch.headline)


@pytest.mark.parametrize("pid", ["2022-03-instructgpt", "2022-11-chatgpt", "2024-09-o1", "2025-01-deepseek-r1"])
def test_a_pipeline_milestone_lists_its_pipeline_not_a_graph_diff(pid):
    a, b = _pair(pid)
    assert a.graph == b.graph and a.scales == b.scales
    items = change_since(b).items
    assert items and all(k == "training" and t.startswith("Training: ") for k, t in items), items


# ---------------------------------------------------------------------------- the 14 cases of issue 25
def test_gpt3_is_compared_with_gpt2_not_the_swiglu_tick():
    assert change_since(load_preset("2020-05-gpt-3")).since == "2019-02-gpt-2"
    lines = _texts("2020-05-gpt-3")
    assert not [t for t in lines if "SwiGLU" in t or "MLP" in t]
    assert lines[0].startswith("Attention: 48 of 96 layers see only a band")  # its own change, width unpublished
    assert not [t for t in lines if t.startswith("Not stated")]  # the band line already says its width is not published


def test_swiglu_does_not_undo_rmsnorm():
    assert change_since(load_preset("2020-02-swiglu")).since == "2019-02-gpt-2"
    lines = _texts("2020-02-swiglu")
    assert lines[0] == "Feed-forward: MLP → SwiGLU" and not [t for t in lines if "Norm" in t]


def test_instructgpt_keeps_gpt3s_positions():
    lines = _texts("2022-03-instructgpt")
    assert not [t for t in lines if "RoPE" in t or "Positions" in t]
    assert lines == ["Training: Three post-training stages added: SFT → reward model → PPO (RLHF)"]


def test_gshard_keeps_the_transformers_positions_and_post_norm():
    assert change_since(load_preset("2020-06-gshard")).since == "2017-06-transformer"
    lines = _texts("2020-06-gshard")
    assert not [t for t in lines if "Positions" in t or "Norm placement" in t or "Encoder" in t]
    assert lines[0].startswith("Feed-forward: MLP → MLP in 9 of 18 layers, Mixture of experts in 9")


def test_o1_does_not_swap_norms():
    lines = _texts("2024-09-o1")
    assert not [t for t in lines if "RMSNorm" in t or "LayerNorm" in t]
    assert change_since(load_preset("2024-09-o1")).since == "2023-03-gpt-4"


def test_llama2_shows_gqa_first_not_llama1s_recipe():
    ch = change_since(load_preset("2023-07-llama-2"))
    assert ch.since == "2023-02-llama-1"
    assert ch.headline == "Attention: 64 → 8 key/value heads: 64 query heads share 8 (GQA) instead of keeping one each"
    assert not [t for _, t in ch.items if any(w in t for w in ("RMSNorm", "SwiGLU", "RoPE", "untied", "biases"))]


def test_deepseek_v3_does_not_claim_v2s_features():
    lines = _texts("2024-12-deepseek-v3")
    assert not [t for t in lines if "latent" in t or "Multi-head latent" in t or "×16" in t and "was" not in t]
    assert lines[0] == "Router: softmax → sigmoid scores"
    assert "Output: Multi-token prediction added" in lines


def test_gpt4_lists_what_the_leak_reports_not_the_studios_assumptions():
    lines = _texts("2023-03-gpt-4")
    for assumed in ("10,752", "84", "43,008", "Width of the residual stream", "Attention heads:", "every layer sees"):
        assert not [t for t in lines if assumed in t], assumed
    assert lines[0] == "Feed-forward: MLP → Mixture of experts"
    assert "Attention: one key/value head: all query heads share it (MQA) instead of keeping one each" in lines
    assert "Mixture of experts: 16 experts, 2 chosen per token" in lines and "Layers: 96 → 120" in lines
    assert "Parameters: 174.6 B → ~1.8 T (reported)" in lines  # the leak's figure, not the assumed graph's count
    assert "Active per token: 174.6 B → ~280 B parameters (reported)" in lines
    assert lines[-1].startswith("Not stated by any source, so not listed: ") and "width" in lines[-1]


def test_rope_is_shown_on_gpt3_not_against_gshard():
    assert change_since(load_preset("2021-04-rope")).since == "2020-05-gpt-3"
    assert _texts("2021-04-rope") == ["Positions: Learned positions → RoPE"]
    assert raw_preset("2021-04-rope")["meta"]["replaces"].startswith("the learned position table")


def test_chinchilla_leads_with_its_training_budget():
    lines = _texts("2022-03-chinchilla")
    assert lines[0].startswith("Training: 20 tokens per parameter") and "Normalisation: LayerNorm → RMSNorm" in lines


def test_flashattention_changes_only_the_kernel_of_gpt2():
    lines = _texts("2022-05-flashattention")
    assert lines == ["Attention: computed by a fused kernel that never stores the attention matrix (FlashAttention)"]


def test_chatgpt_is_instructgpts_recipe_on_dialogue():
    assert change_since(load_preset("2022-11-chatgpt")).since == "2022-03-instructgpt"
    assert _texts("2022-11-chatgpt") == ["Training: RLHF on dialogue: conversational SFT, reply rankings, PPO"]


@pytest.mark.parametrize("pid", ["2019-10-rmsnorm", "2020-02-swiglu", "2021-04-rope", "2022-05-flashattention"])
def test_a_component_names_the_block_it_replaces_and_the_models_it_was_introduced_on(pid):
    card = _info(pid)["card"]
    assert card["replaces"] and card["introduced_on"] and card["changes"]["since"] == raw_preset(pid)["extends"]


def test_llama1_merges_published_ideas_onto_gpt3():
    ch = change_since(load_preset("2023-02-llama-1"))
    assert ch.builds_on[0] == "2020-05-gpt-3"
    assert {"2019-10-rmsnorm", "2020-02-swiglu", "2021-04-rope", "2022-05-flashattention"} <= set(ch.builds_on)
    lines = [t for _, t in ch.items]
    for swap in ("Normalisation: LayerNorm → RMSNorm", "Feed-forward: MLP → SwiGLU", "Positions: Learned positions → RoPE"):
        assert swap in lines
    assert not [t for t in lines if "GQA" in t or "Training: RLHF" in t]  # ChatGPT (the tick before) is not its base


def test_llama31_does_not_lose_mla():
    assert change_since(load_preset("2024-07-llama-3.1")).since == "2023-07-llama-2"
    lines = _texts("2024-07-llama-3.1")
    assert lines[0] == "Context: 4,096 → 131,072 tokens" and not [t for t in lines if "latent" in t or "experts" in t]


@pytest.mark.parametrize("pid,since,absent", [
    ("recipe-llama2c-stories260k", "2023-07-llama-2", "ReLU"),  # the tick before was microgpt
    ("recipe-modded-microgpt", "recipe-microgpt", "Vocabulary"),  # the tick before was stories15M
    ("recipe-modded-llama2c", "recipe-llama2c-stories15m", "Multi-token"),  # ... modded microgpt
])
def test_recipes_compare_with_what_they_modify(pid, since, absent):
    assert change_since(load_preset(pid)).since == since
    assert not [t for t in _texts(pid) if absent in t]


def test_kimi_k2_tells_its_rope_and_yarn():
    lines = _texts("2025-07-kimi-k2")
    assert "Positions: RoPE base θ 10,000 → 50,000" in lines
    assert "Positions: RoPE stretched by YaRN ×32 beyond the 4,096-token pretraining context (to 131,072)" in lines


# ---------------------------------------------------------------------------- the words themselves
def test_a_norm_swap_is_one_line_not_one_per_block():
    lines = milestone_change(load_preset("2019-02-gpt-2"), load_preset("2019-10-rmsnorm"))
    assert lines[0] == "Normalisation: LayerNorm → RMSNorm"
    assert sum("Normalisation" in line for line in lines) == 1


def test_gpt_1_to_gpt_2_moves_the_norms_before_each_sublayer():
    lines = _texts("2019-02-gpt-2")
    assert lines[0] == "Norm placement: after each sub-layer (post-norm) → before each sub-layer (pre-norm)"


def test_each_line_carries_its_kind_for_the_card_and_the_animation():
    items = milestone_change_items(load_preset("2021-04-rope"), load_preset("2022-03-instructgpt"))
    assert ("replaced", "Positions: RoPE → Learned positions") in items  # Compare may pair any two models
    items = milestone_change_items(load_preset("2017-06-transformer"), load_preset("2018-06-gpt-1"))
    assert items[0][0] == "removed" and {k for k, _ in items} <= {"added", "removed", "replaced", "changed", "training"}
    told = ("Training: Generative pretraining on unlabelled books, then supervised fine-tuning per task "
            "(the Transformer learned only from translation pairs)")
    assert ("training", told) in items
    assert [t for _, t in items] == milestone_change(load_preset("2017-06-transformer"), load_preset("2018-06-gpt-1"))


def test_dropping_the_encoder_is_one_line():
    lines = _texts("2018-06-gpt-1")
    assert lines[0].startswith("Encoder removed")
    assert not any("Cross-attention" in line for line in lines)


def test_an_identical_model_has_no_change():
    a = load_preset("2023-07-llama-2")
    assert milestone_change(a, a.copy()) == []


def test_a_bad_builds_on_is_one_clear_error():
    with pytest.raises(E.LoadError, match="builds_on must be a model id"):
        builds_on({"id": "mine", "builds_on": 5})
    with pytest.raises(E.LoadError, match="builds_on"):
        builds_on({"id": "mine", "builds_on": ["2023-07-llama-2", ""]})


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
    assert resolve(arch, "paper").config_of("feed_forward")[0].hidden_dim == 1000
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


# ---------------------------------------------------------------------------- info --json
def _info(*args):
    out = subprocess.run([sys.executable, "-m", "studio", "info", *args, "--json"],
                         capture_output=True, text=True, timeout=120, check=True).stdout
    return json.loads(out)


def test_info_json_carries_the_change_list_against_the_model_it_builds_on(tmp_path):
    ch = _info("2023-07-llama-2")["card"]["changes"]
    assert ch["since"] == "2023-02-llama-1" and ch["items"][0]["text"] == ch["headline"]
    assert ch["headline"].startswith("Attention: 64 → 8 key/value heads")
    assert {"kind", "text"} == set(ch["items"][0])
    # a user's milestone names its own lineage
    p = tmp_path / "mine.yaml"
    p.write_text("schema_version: 1\nid: mine\nextends: 2023-07-llama-2\nmeta: {title: Mine, builds_on: 2023-07-llama-2}\n"
                 "scales:\n  paper: {n_kv_heads: 1}\n", encoding="utf-8")
    mine = _info(str(p))["card"]["changes"]
    assert mine["since"] == "2023-07-llama-2"
    assert mine["items"][0]["text"] == "Attention: all 64 query heads share one key/value head (MQA)"  # from GQA
    p.write_text("schema_version: 1\nid: mine\nextends: 2023-07-llama-2\nmeta: {title: Mine, builds_on: no-such-model}\n",
                 encoding="utf-8")
    bad = _info(str(p))["card"]["changes"]
    assert bad["items"] == [] and "no-such-model" in bad["error"]


def test_info_text_lists_the_change_since_the_model_it_builds_on():
    out = subprocess.run([sys.executable, "-m", "studio", "info", "2023-07-llama-2"], capture_output=True, text=True,
                         timeout=120, check=True).stdout
    tail = out[out.index("what changed since 2023-02-llama-1:"):].splitlines()
    assert tail[1].strip().startswith("Attention: 64 → 8 key/value heads")


def test_info_json_lists_each_node_resolved_at_the_chosen_scale():
    nodes = {n["id"]: n for n in _info("2023-02-llama-1")["nodes"]}
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


def test_a_users_milestone_is_compared_with_the_model_it_names(tmp_path):
    from studio.core.state import StudioModel
    m = StudioModel(start="2017-06-transformer")
    arch = load_preset("2023-07-llama-2").copy()
    arch.meta["builds_on"] = "2023-02-llama-1"
    m.open_architecture(arch, "project", "My LLaMA")
    ch = m.figures.change()
    assert ch.since == "2023-02-llama-1" and ch.sentences[0][1].startswith("Attention: 64 → 8 key/value heads")
    arch2 = load_preset("2023-07-llama-2").copy()
    arch2.meta.pop("builds_on")
    m.open_architecture(arch2, "project", "No lineage")
    assert m.figures.change().empty  # a project that names no lineage lists no change


@pytest.mark.parametrize("value,words", [("5", "builds_on"), ("[]", "builds_on"), ("{a: 1}", "builds_on")])
def test_a_malformed_builds_on_in_a_file_is_one_clear_line(tmp_path, value, words):
    p = tmp_path / "mine.yaml"
    p.write_text(f"schema_version: 1\nid: mine\nextends: 2023-07-llama-2\nmeta: {{title: Mine, builds_on: {value}}}\n",
                 encoding="utf-8")
    with pytest.raises(E.LoadError, match=words) as err:
        load_model(str(p))
    assert "\n" not in str(err.value) and "meta.builds_on" in str(err.value)


def test_the_lesson_summary_reads_each_model_against_its_lineage(tmp_path):
    from studio.core.classroom.lesson import Lesson, summary, summary_csv
    Lesson(tmp_path).write({"schema_version": 1, "kind": "lesson", "models": [
        {"id": "2023-07-llama-2", "run": "2023-07-llama-2", "status": "pending"},
        {"id": "pretrained-stories260K", "run": "pretrained-stories260K", "status": "pending"}]})
    rows = summary(tmp_path)
    assert (rows[0]["since"], rows[0]["change"]) == ("2023-02-llama-1", change_since(load_preset("2023-07-llama-2")).headline)
    assert rows[0]["change"].startswith("Attention: 64 → 8 key/value heads") and rows[1]["change"] is None
    assert summary_csv(rows).splitlines()[0].endswith(",since,change")
    out = subprocess.run([sys.executable, "-m", "studio", "lesson", "summary", str(tmp_path)], capture_output=True,
                         text=True, timeout=120, check=True).stdout
    assert "  since 2023-02-llama-1: Attention: 64 → 8 key/value heads" in out


def test_the_scene_marks_the_blocks_the_list_talks_about():
    from studio.core.state import StudioModel
    m = StudioModel(start="2023-07-llama-2")
    # the GQA headline marks the attention (only dims changed there); the ε line its norms
    assert m.figures.change().changed == ("attention", "attention_norm", "ffn_norm", "norm")
    m.timeline.set_current("2022-03-instructgpt")
    ch = m.figures.change()
    assert not (ch.changed or ch.added or ch.removed)  # a pipeline milestone marks no block
    m.timeline.set_current("2025-07-kimi-k2")
    ch = m.figures.change()
    assert set(ch.changed) == {"feed_forward", "rope"} and ch.removed == ("mtp",)  # not the head: only its size


def test_modded_llama2c_tells_its_zero_initialised_output_projections():
    """Its one change to the network (eniompw/modded-llama2.c model.py: wo and w2 start at zero),
    which the card used to leave out: the change list knew no words for an initialisation."""
    texts = [t for _, t in change_since(load_preset("recipe-modded-llama2c")).items]
    assert texts[0].startswith("Initialisation: the attention output projection (wo) and the feed-forward "
                               "down-projection (w2) start at zero"), texts

