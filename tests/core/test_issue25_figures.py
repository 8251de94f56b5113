"""The figures issue 25 corrected, each with its primary source named in the preset."""
from studio.core.files.presets import load_preset, raw_preset
from studio.core.model import provenance as P
from studio.core.model.accounting import account
from studio.core.model.resolve import resolve


def _config(arch, nid, scale="paper"):
    return resolve(arch, scale).node(nid).config


def _rope(pid, scale="paper"):
    return _config(load_preset(pid), "rope", scale)


def test_kimi_k2_rope_is_theta_50000_with_yarn_x32_from_its_config():
    r = _rope("2025-07-kimi-k2")
    assert (r.theta, r.yarn_factor, r.yarn_original_context, r.yarn_beta_fast, r.yarn_beta_slow) == (50000.0, 32.0, 4096, 1.0, 1.0)
    assert r.yarn_factor * r.yarn_original_context == r.context == 131072  # 128K
    src = raw_preset("2025-07-kimi-k2")["meta"]["config_source"]
    assert "rope_theta 50000" in src and "yarn: factor 32" in src and "config.json" in src
    assert _rope("2025-07-kimi-k2", "classroom").yarn_factor == 0  # the classroom trains at its own short context


def test_kimi_k26_rope_is_yarn_x64_to_256k():
    r = _rope("2026-04-kimi-k2.6")
    assert (r.theta, r.yarn_factor) == (50000.0, 64.0) and r.yarn_factor * r.yarn_original_context == r.context == 262144
    assert "yarn factor 64" in raw_preset("2026-04-kimi-k2.6")["meta"]["config_source"]


def test_deepseek_rope_is_yarn_x40_as_released():
    for pid in ("2024-05-deepseek-v2", "2024-12-deepseek-v3", "2025-01-deepseek-r1"):
        r = _rope(pid)
        assert (r.theta, r.yarn_factor, r.yarn_beta_fast, r.yarn_beta_slow) == (10000.0, 40.0, 32.0, 1.0), pid
    assert "beta_fast 32" in raw_preset("2024-05-deepseek-v2")["meta"]["config_source"]


def test_modded_microgpt_kv_heads_are_the_seeds_wish_not_published():
    arch = load_preset("recipe-modded-microgpt")
    prov, _src, note = P.dim_provenance(arch, "paper", "n_kv_heads")
    assert prov == "illustrative" and "wish list" in note and "no GQA" in note
    badge = P.node_figures(arch, "paper")["attention"]
    assert badge.provenance == "computed-from-assumptions" and "wish list" in badge.note
    assert P.figures(arch, "paper")["params_total"].provenance == "computed-from-assumptions"
    from studio.core.model.lineage import change_since
    gqa = next(t for _, t in change_since(arch).items if t.startswith("Attention: 4 → 2"))
    assert gqa.endswith("(how many key/value heads: no source states it; the graph assumes it)")


def test_gpt4_card_tells_the_leaks_vision_section():
    m = load_preset("2023-03-gpt-4").meta
    note = " ".join(m["vision_note"].split())
    assert "cross-attention" in note and "Flamingo" in note and "separate vision encoder" in note
    assert not [x for x in m["classroom_limits"] if "not reported and not shown" in x]
    assert any("Flamingo" in c["title"] for c in m["citations"])


def test_gpt2_is_where_pre_norm_first_appears_in_this_timeline_not_in_history():
    m = load_preset("2019-02-gpt-2").meta
    note = " ".join(m["seed_note"].split())
    assert "in this timeline" in note and "Baevski" in note and "tensor2tensor" in note
    assert any("1809.10853" in c["link"] for c in m["citations"])


def test_deepseek_v3_active_figure_cites_readme_weights_36_7b():
    m = load_preset("2024-12-deepseek-v3").meta
    assert "36.7B" in m["published_sources"]["params_active"] and "README_WEIGHTS" in m["published_sources"]["params_active"]
    assert "36.6B" not in " ".join(m["gap_note"].split())


def test_kimi_k26_vision_encoder_is_471_1m_from_the_released_config():
    arch = load_preset("2026-04-kimi-k2.6")
    cfg = _config(arch, "vision_encoder")
    assert (cfg.pos_table, cfg.vit_layers, cfg.vit_dim, cfg.vit_hidden_dim, cfg.vit_heads) == (64 * 64, 27, 1152, 4304, 16)
    node = account(arch, "paper").per_node["vision_encoder"]
    assert round(node.params / 1e5) / 10 == 471.1
    assert P.dim_provenance(arch, "paper", "vit_layers")[0] == "published"
    assert "471.1M" in " ".join(arch.meta["gap_note"].split())


def test_llama1_paper_scale_has_its_released_norm_eps_and_the_classroom_keeps_llama2cs():
    """llama2.c's fixed 1e-5 is a classroom concession, stated there, not a paper-scale figure."""
    from studio.core.formats.llama2c import check_llama2c
    llama1, llama2 = load_preset("2023-02-llama-1"), load_preset("2023-07-llama-2")
    assert _config(llama1, "norm").eps == 1e-6 and _config(llama1, "attention_norm").eps == 1e-6  # params.json norm_eps
    assert _config(llama1, "norm", "classroom").eps == 1e-5 and check_llama2c(llama1, "classroom") == []
    assert any("1e-5 at classroom scale" in x for x in llama1.meta["classroom_limits"])
    assert not any("ε" in str(x) for x in llama1.meta.get("assumptions") or [])
    assert _config(llama2, "norm").eps == 1e-5  # Llama 2's params.json: norm_eps 1e-05


def test_r1_names_the_distilled_base_models_as_released():
    stage = next(s for s in load_preset("2025-01-deepseek-r1").training["stages"] if s["name"] == "Distilled dense models")
    assert "Qwen2.5-Math (1.5B, 7B)" in stage["detail"] and "Llama-3.3-70B-Instruct" in stage["detail"]


def test_llama31_rope_carries_its_released_llama3_scaling():
    arch = load_preset("2024-07-llama-3.1")
    r = _config(arch, "rope")
    assert (r.theta, r.llama3_factor, r.llama3_original_context, r.llama3_low_freq_factor,
            r.llama3_high_freq_factor) == (500000.0, 8.0, 8192, 1.0, 4.0)
    assert _config(arch, "rope", "classroom").llama3_factor == 0
    assert not any("not modelled" in str(x) for x in arch.meta.get("assumptions") or [])
    assert "low_freq_factor 1, high_freq_factor 4" in arch.meta["config_source"]
