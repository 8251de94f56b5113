"""Issue 25 item 3, second half: a primary-source audit of the 2023-2026 presets and the llama2.c
recipes. One test per finding; each names its primary source."""
from studio.core.files.presets import load_preset, raw_preset
from studio.core.model.resolve import resolve


def _meta(pid):
    return load_preset(pid).meta


def _node(pid, nid, scale="paper"):
    return resolve(load_preset(pid), scale).node(nid).config


def _words(text):
    return " ".join(str(text).split())


# eniompw/modded-llama2.c model.py, Transformer.configure_optimizers: three AdamW groups (the tied
# embedding/head at LR x1.0 without decay, norms/scalars at x0.1 without decay, hidden matrices at
# x1.0 with weight decay); the embedding and head are one tied tensor, so never two learning rates
def test_modded_llama2c_optimizer_has_the_three_groups_of_its_model_py():
    data = raw_preset("recipe-modded-llama2c")
    stage = data["training"]["stages"][0]["detail"]
    opt = data["training"]["settings"]["optimizer"]
    assert "three parameter groups" in stage and "0.1 × the base rate" in stage
    assert "separate learning rates for embeddings" not in stage and "and the head" not in stage
    assert "3 parameter groups" in opt and "weight decay 0.1 on the hidden matrices only" in opt
    assert "configure_optimizers" in data["training"]["notes"]
    assert "per parameter group" not in _words(data["meta"]["explanation"])
    assert not [c for c in data["meta"]["changes"] if "per-group learning rates" in c["text"]]


# deepseek-ai/DeepSeek-V3 README_WEIGHTS.md: "Activation parameters: 36.7B (including 0.9B for
# Embedding and 0.9B for the output Head)": the note includes both tables, it does not count the
# head without the embedding, as DeepSeek-V2's card said it did
def test_deepseek_v2_gap_note_quotes_readme_weights_as_it_reads():
    note = _words(_meta("2024-05-deepseek-v2")["gap_note"])
    assert "counts the output head but not the embedding" not in note
    assert "include both the 0.9B embedding and the 0.9B head" in note and "README_WEIGHTS" in note
    assert "20.85B" in note and "21.38B" in note


# DeepSeek-V2 modeling_deepseek.py (Hugging Face deepseek-ai/DeepSeek-V2): yarn_get_mscale(scale,
# mscale) = 0.1 * mscale * ln(scale) + 1, and the softmax scale is multiplied by
# yarn_get_mscale(factor, mscale_all_dim) ** 2 with config.json factor 40, mscale_all_dim 0.707
def test_deepseek_v2_yarn_temperature_uses_mscale_all_dim_0_707():
    import math
    text = next(a for a in _meta("2024-05-deepseek-v2")["assumptions"] if "temperature" in a)
    assert "(0.1 · 0.707 · ln 40 + 1)² ≈ 1.59" in text and "modeling_deepseek.py" in text
    assert round((0.1 * 0.707 * math.log(40) + 1) ** 2, 2) == 1.59
    rope = _node("2024-05-deepseek-v2", "rope")
    assert (rope.yarn_factor, rope.yarn_original_context) == (40.0, 4096)


# deepseek-ai/DeepSeek-V3 inference/model.py, MLA.__init__: beyond original_seq_len the softmax scale
# is multiplied by (0.1 * mscale * ln(rope_factor) + 1) ** 2 (config.json mscale 1.0, factor 40).
# V2 and Kimi K2 said this temperature is not modelled; V3 and R1, with the same YaRN, said nothing.
# R1 (the same config.json as V3) also left out V3's node-limited routing.
def test_deepseek_v3_and_r1_say_the_yarn_temperature_is_not_modelled():
    import math
    assert round((0.1 * math.log(40) + 1) ** 2, 2) == 1.87
    for pid in ("2024-12-deepseek-v3", "2025-01-deepseek-r1"):
        assumptions = _meta(pid)["assumptions"]
        temp = [a for a in assumptions if "attention temperature" in a]
        assert len(temp) == 1 and "(0.1 · ln 40 + 1)² ≈ 1.87" in temp[0] and "not modelled" in temp[0], pid
        assert [a for a in assumptions if "topk_group 4" in a], pid
        assert _node(pid, "rope").yarn_factor == 40.0


# mistralai/Mixtral-8x7B-v0.1 config.json (Hugging Face): "router_aux_loss_coef": 0.02 (the paper
# states no weight); the preset carried the app's default 0.01 and wrote it into HF exports
def test_mixtral_load_balancing_weight_is_the_released_config_s_0_02():
    from studio.core.formats.decoder import plan_decoder
    from studio.core.formats.hf.config import hf_config
    from studio.core.formats.outside import FORMATS
    assert _node("2023-12-mixtral", "feed_forward").aux_loss_weight == 0.02
    assert "router_aux_loss_coef 0.02" in _meta("2023-12-mixtral")["config_source"]
    plan, issues = plan_decoder(load_preset("2023-12-mixtral"), "classroom", FORMATS["hf"])
    assert plan is not None, issues
    assert hf_config(plan, 1, 2)["router_aux_loss_coef"] == 0.02
    # DeepSeek-V2 sets its own (paper: expert-level balance factor 0.003)
    assert _node("2024-05-deepseek-v2", "feed_forward").aux_loss_weight == 0.003
