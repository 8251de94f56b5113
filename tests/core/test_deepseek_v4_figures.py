"""DeepSeek-V4 on the timeline (issue 24 item 6): after Kimi K2.6, its paper-scale figures checked
against the model cards' (bar 03-style: every published figure is met at its own precision), its
per-layer attention and routing as config.json sets them, V4-Flash from the same graph, a card
that says what is modelled and what is illustrative, and an honest change list against V3."""
import pytest

from studio.core.files.presets import load_preset, timeline
from studio.core.model import provenance as P
from studio.core.model.accounting import account, kv_cache_bytes
from studio.core.model.architecture import Override
from studio.core.model.lineage import change_since
from studio.core.model.resolve import resolve

V4 = "2026-04-deepseek-v4"
# V4-Flash's config.json, where it differs from V4-Pro's (both: 128-token window, 4 / 128 pooling,
# 64 indexer heads of 128, hc_mult 4, 1 shared expert, top-6, 3 hash layers, vocab 129280)
FLASH_DIMS = {"dim": 4096, "n_layers": 43, "n_heads": 64, "q_lora_rank": 1024, "o_groups": 8, "index_topk": 512,
              "n_experts": 256, "expert_hidden_dim": 2048}


def flash_arch():
    """The V4 graph at V4-Flash's config.json: its first two layers are sliding-window only (ratio 0)."""
    arch = load_preset(V4).copy()
    arch.scales["paper"] = {**arch.scales["paper"], **FLASH_DIMS}
    arch.overrides = [Override(":2", "attention", None, {"mode": "sliding"}) if o.layers == ":2" else o
                      for o in arch.overrides]
    return arch


def _rounds_to(value: float, published: float) -> bool:
    """value shown at the published figure's own precision (its significant digits) is the published figure."""
    digits = len(f"{published:.0f}".rstrip("0"))
    return float(f"{value:.{digits}g}") == published


def test_v4_follows_kimi_k26_on_the_timeline():
    ms = timeline()["milestones"]
    assert ms[-2:] == ["2026-04-kimi-k2.6", V4] and len(ms) == 24
    assert load_preset(V4).meta["released"] == "2026-04-24" and load_preset(V4).meta["builds_on"] == "2024-12-deepseek-v3"


@pytest.mark.parametrize("arch_of, card", [(lambda: load_preset(V4), "published"), (flash_arch, "published_flash")])
def test_paper_figures_meet_the_model_cards(arch_of, card):
    arch = arch_of()
    pub = load_preset(V4).meta[card]
    acc = account(arch, "paper")
    assert _rounds_to(acc.params_total, pub["params_total"])  # 1.573T → 1.6T; 284.33B → 284B
    # the cards' active counts leave out the embedding table, as DeepSeek-V3's weights note does
    assert _rounds_to(acc.params_active - acc.params_embedding, pub["params_active"])  # 48.85B → 49B; 13.27B → 13B
    assert not _rounds_to(acc.params_total * 1.05, pub["params_total"])  # the check can fail


def test_pro_layers_follow_compress_ratios_and_the_kv_cache_is_the_pooled_entries():
    r = resolve(load_preset(V4), "paper").require()
    modes = [(v.config.mode, v.config.compress_ratio) for v in r.node("attention").layers]
    assert modes == [("hca", 128)] * 2 + [("csa", 4), ("hca", 128)] * 29 + [("csa", 4)]  # config.json, 61 layers
    assert [v.kind for v in r.node("feed_forward").layers] == ["hash_moe"] * 3 + ["moe"] * 58
    assert all(v.config.score == "sqrtsoftplus" for v in r.node("feed_forward").layers)
    acc = account(load_preset(V4), "paper")
    assert acc.kv_cache_bytes_per_token == 2 * (30 * (512 + 128) // 4 + 31 * 512 // 128) == 9848
    # a whole 1M-token cache: each layer's 128-token window of 512-wide keys plus every finished pooled entry
    ctx = 1 << 20
    want = 61 * 128 * 512 + 30 * (ctx // 4) * (512 + 128) + 31 * (ctx // 128) * 512
    assert kv_cache_bytes(load_preset(V4), "paper", ctx) == 2 * want == 10_334_371_840  # 9.6 GiB; V3's would be 68.6 GiB
    assert kv_cache_bytes(load_preset(V4), "paper", 100) == 2 * (2 * 100 * 512 + 59 * 100 * 512 + 30 * 25 * 640)
    flash = resolve(flash_arch(), "paper").require().node("attention").layers
    assert [v.config.mode for v in flash[:4]] == ["sliding", "sliding", "csa", "hca"] and len(flash) == 43


def test_card_says_what_is_modelled_and_what_is_illustrative():
    arch = load_preset(V4)
    card = P.card(arch)
    modelled = " ".join(card["modelled"]).lower()
    for part in ("sliding window", "indexer", "hca", "sinkhorn", "hash"):
        assert part in modelled, part
    illustrative = " ".join(card["illustrative"]).lower()
    assert "hash table" in illustrative and "0.0001" in illustrative and "0.01" in illustrative
    assert any("mtp" in a.lower() for a in card["assumptions"])
    figs = P.figures(arch, "paper")
    assert figs["params_total"].provenance == "computed" and "config.json" in figs["params_total"].source
    pub = P.published_figures(arch)
    assert pub["params_total"].value == 1.6e12 and pub["params_active"].value == 49e9 and "model card" in pub["params_total"].source
    links = " ".join(c["link"] for c in card["citations"])
    assert "deepseek-ai/DeepSeek-V4-Pro" in links and "DeepSeek-V4-Flash" in links and "DeepSeek_V4.pdf" in links


def test_change_list_against_v3_names_the_new_blocks_and_keeps_mtp():
    change = change_since(load_preset(V4))
    assert change.since == "2024-12-deepseek-v3"
    text = " | ".join(t for _, t in change.items)
    assert "Multi-head latent attention → Compressed attention" in text
    assert "Residual add → Streams: mix (mHC)" in text and "Streams: collapse, Streams: expand added" in text
    assert "Hash-routed experts in 3" in text and "sigmoid → sqrtsoftplus" in text
    # V4 keeps its MTP module; the graph does not draw it, and the change list does not call it removed
    assert "Multi-token prediction kept by the model, not drawn here" in text and "removed" not in text


def test_every_exporter_refuses_v4_naming_the_block_without_a_target():
    from studio.core.formats.decoder import plan_decoder
    from studio.core.formats.llama2c.check import check_llama2c
    from studio.core.training.setup import classroom_arch
    arch = classroom_arch(load_preset(V4), 512, 32)
    for target in ("Hugging Face", "llama.cpp (GGUF)"):
        plan, issues = plan_decoder(arch, "classroom", target)
        assert plan is None
        assert str(issues[0]) == f"attention: Compressed attention (compressed_attention): no {target} model class has this block"
        assert {i.node for i in issues} >= {"attention", "add_attn", "add_ffn", "hc_expand", "attn_hc", "hc_head"}
    llama2c = [str(i) for i in check_llama2c(arch, "classroom", None)]
    assert llama2c[0].startswith("attention: compressed sparse / heavily compressed attention: llama2.c has no such block")
    assert any(i.startswith("add_attn: manifold-constrained hyper-connection") for i in llama2c)
    assert any(i.startswith("feed_forward: hash-routed experts") for i in llama2c)


def test_classroom_model_is_causal_end_to_end():
    """Pooled entries, the indexer, the streams and hash routing together never let a position see a
    later token (the classroom's loss would be a lie if they did)."""
    import torch

    from studio.core.model.compiler import compile_architecture
    from studio.core.training.setup import classroom_arch
    arch = classroom_arch(load_preset(V4), 1024, 256)
    torch.manual_seed(0)
    model = compile_architecture(arch, "classroom").eval()
    x = torch.randint(0, 1024, (2, 256))
    x2 = x.clone()
    x2[:, 150:] = torch.randint(0, 1024, (2, 106))
    with torch.no_grad():
        a, b = model(x)[0], model(x2)[0]
    assert torch.equal(a[:, :150], b[:, :150]) and not torch.equal(a[:, 150:], b[:, 150:])


def test_a_v3_graph_given_v4s_swiglu_clamp_is_not_exported_as_v3():
    from studio.core.formats.decoder import plan_decoder
    from studio.core.training.setup import classroom_arch
    arch = classroom_arch(load_preset("2024-12-deepseek-v3"), 512, 32)
    assert plan_decoder(arch, "classroom", "Hugging Face")[0] is not None
    arch.graph.set_config("feed_forward", "swiglu_limit", 10.0)
    plan, issues = plan_decoder(arch, "classroom", "Hugging Face")
    assert plan is None and [str(i) for i in issues] == [
        "feed_forward: its SwiGLU clamp (swiglu_limit) has no Hugging Face counterpart; set it to 0"]
