"""The figures issue 16 corrected, checked against their primary sources' own numbers."""
import pytest

from blocks.registry import get_spec
from studio.core.model import provenance as P
from studio.core.model.accounting import account, kv_cache_bytes
from studio.core.model.info import model_info
from studio.core.files.presets import load_preset, raw_preset, timeline
from studio.core.model.resolve import resolve

BF16 = 2


def test_gpt4_multi_query_attention_caches_one_kv_head_and_counts_rest_on_assumptions():
    arch = load_preset("2023-03-gpt-4")
    att = resolve(arch, "paper").config_of("attention")[0]
    assert (att.n_heads, att.kv_heads, att.hd) == (84, 1, 128)  # the leak: "MQA"
    info = model_info(arch, "paper")
    assert info["kv_cache_bytes_per_token"] == 120 * 2 * 1 * 128 * BF16 == 60 * 1024
    for key in ("params_total", "params_active", "kv_cache_bytes_per_token", "flops_per_token"):
        assert info["provenance"][key] == "computed-from-assumptions"
    assert info["provenance"]["context"] == "published"  # OpenAI's own figure (gpt-4: 8,192 tokens)
    assert {f["provenance"] for f in info["published_figures"].values()} == {"reported"}
    assert any("10752" in a for a in info["card"]["assumptions"])
    assert abs(info["params_total"] / 1.8e12 - 1) < 0.01  # ~1.8T at the assumed width


def test_gshard_follows_table_1_and_its_active_count_is_exact():
    arch = load_preset("2020-06-gshard")
    for nid in ("enc_attention", "attention", "cross_attention"):
        cfg = resolve(arch, "paper").config_of(nid)[0]
        assert (cfg.n_heads, cfg.hd, cfg.dim) == (16, 128, 1024)
    moe = resolve(arch, "paper").variants_of("feed_forward")[1][2]
    assert (moe.expert, moe.expert_bias, moe.n_experts, moe.top_k) == ("relu", False, 2048, 2)
    assert resolve(arch, "paper").config_of("src_embeddings")[0].vocab_size == 64000
    assert resolve(arch, "paper").config_of("tok_embeddings")[0].vocab_size == 32000
    d, f, E = 1024, 8192, 2048
    attn = 4 * d * 16 * 128  # bias-free, as the 2017 graph's tensor2tensor code (an assumption)
    norms = (18 * 2 + 18 * 3) * 2 * d
    shared = 54 * attn + 18 * 2 * d * f + (64000 + 32000) * d + norms  # dense FFNs bias-free (Eq. 2)
    acc = account(arch, "paper")
    assert acc.params_active == shared + 18 * (2 * 2 * d * f + d * E)
    assert acc.params_total == shared + 18 * (E * 2 * d * f + d * E)
    assert 1.45e9 < acc.params_active - 18 * d * E < 1.47e9  # ≈ 1.46B without the routers
    assert "Table 1" in arch.meta["published"]["source"] and "Table 3" not in arch.meta["published"]["source"]


@pytest.mark.parametrize("pid, layers, kv_width", [("2017-06-transformer", 6, 512), ("2020-06-gshard", 18, 16 * 128)])
def test_encoder_decoder_kv_cache_is_the_decoder_self_attention_and_cross_kv_is_per_source_token(pid, layers, kv_width):
    arch = load_preset(pid)
    info = model_info(arch, "paper")
    assert info["kv_cache_bytes_per_token"] == layers * 2 * kv_width * BF16
    assert info["cross_kv_bytes_per_source_token"] == layers * 2 * kv_width * BF16
    assert info["figures"]["kv_cache_bytes_per_token"]["note"].startswith("KV cache per generated token")
    assert account(arch, "paper").per_node["enc_attention"].kv_elems == 0  # the encoder is never cached
    assert kv_cache_bytes(arch, "paper", 100) == 100 * info["kv_cache_bytes_per_token"]
    deeper = arch.copy()
    deeper.scales["paper"] = {**deeper.scales["paper"], "n_enc_layers": 2 * layers}
    assert account(deeper, "paper").kv_cache_bytes_per_token == info["kv_cache_bytes_per_token"]


def test_modded_llama2c_is_its_repositorys_model_py():
    import torch

    from studio.core.model.compiler import compile_architecture
    arch = load_preset("recipe-modded-llama2c")
    assert account(arch, "paper").params_total == 15_191_712
    att, ffn, out = (resolve(arch, "paper").config_of(n)[0] for n in ("attention", "feed_forward", "output"))
    assert out.tie_to == "tok_embeddings" and out.softcap == 0 and not out.pad_vocab_to and not out.zero_init
    assert not att.qk_norm and att.zero_init_output and ffn.zero_init_output
    dims = arch.dims("classroom")  # the repository's quick-start default, with the app's 512-token BPE
    assert (dims["dim"], dims["n_layers"], dims["n_heads"], dims["n_kv_heads"]) == (128, 5, 8, 4)
    torch.manual_seed(0)
    model = compile_architecture(arch, "classroom")
    for name, p in model.named_parameters():
        if name.endswith(("attention.wo.weight", "feed_forward.w2.weight")):
            assert not p.any(), name
    assert model.output.weight is model.tok_embeddings.weight
    assert "size_note" in arch.meta and "0.94M" in arch.meta["size_note"]


@pytest.mark.parametrize("pid", ["2022-11-chatgpt", "2024-09-o1"])
def test_stand_ins_show_structure_and_no_figure(pid):
    arch = load_preset(pid)
    assert P.is_stand_in(arch) and P.hides_figures(arch, "paper")
    assert all(f.value is None for f in P.figures(arch, "paper").values())
    assert all(f.value is None for f in P.node_figures(arch, "paper").values())
    assert all(f.value is None for f in P.frame_figures(arch, "paper").values())
    for nid in arch.graph.nodes:
        cfg, kind = resolve(arch, "paper").config_of(nid)
        assert P.block_badge(arch, "paper", nid, get_spec(kind).params(cfg)) == ("", "")
    assert P.frame_label(arch, "paper", "layer", 96) == "illustrative stand-in"
    assert {f.provenance for f in P.published_figures(arch).values()} == {"undisclosed"}
    assert model_info(arch, "paper")["card"]["illustrative_graph"] is True
    assert "stand-in" in arch.meta["standin_note"] or "illustration" in arch.meta["standin_note"]


def test_deepseek_active_figures_quote_readme_weights_36_7b_and_mtp_11_5b():
    for pid in ("2024-12-deepseek-v3", "2025-01-deepseek-r1"):
        acc = account(load_preset(pid), "paper")
        without_embedding = acc.params_active - acc.params_embedding
        assert abs(without_embedding - 36.62e9) < 0.01e9  # the count without the embedding table
        d = 7168
        unique_mtp = acc.params_mtp - 2 * 129280 * d  # minus its copies of the embedding and head
        assert abs(unique_mtp - 2 * d * d - 11.5e9) < 0.05e9  # "11.5B unique" = without eh_proj
        note = " ".join(load_preset(pid).meta["gap_note"].split())
        assert "36.7B" in note and "36.6B" not in note  # GitHub README_WEIGHTS.md says 36.7B (issue 25)


def test_kimi_k2_compares_with_the_tech_reports_precise_figures():
    arch = load_preset("2025-07-kimi-k2")
    pub, acc = arch.meta["published"], account(arch, "paper")
    assert (pub["params_total"], pub["params_active"]) == (1.04e12, 32.6e9)
    assert abs(acc.params_total / pub["params_total"] - 1) < 0.015
    assert abs(acc.params_active / pub["params_active"] - 1) < 0.01


def test_kimi_k26_shows_its_vision_encoder_and_credits_256k_to_k2_instruct_0905():
    arch = load_preset("2026-04-kimi-k2.6")
    node = arch.graph.node("vision_encoder")
    assert node.kind == "vision_encoder"
    paper = account(arch, "paper").per_node["vision_encoder"]
    assert paper.params == 471_143_920 and paper.active == 0  # the released K2.5/K2.6 vision tower (issue 25)
    assert account(arch, "classroom").per_node["vision_encoder"].params == 0  # text-only classroom
    assert P.node_figures(arch, "paper")["vision_encoder"].provenance == "computed"  # released vision config
    ctx = P.figures(arch, "paper")["context"]
    assert ctx.value == 262144 and ctx.provenance == "published" and "0905" in ctx.source
    assert arch.meta["published"]["params_vision"] == 400e6


@pytest.mark.parametrize("pid", ["2019-10-rmsnorm", "2020-02-swiglu", "2021-04-rope", "2022-05-flashattention"])
def test_component_papers_have_no_model_size_shown_as_na(pid):
    figs = P.published_figures(load_preset(pid))
    assert figs["params_total"].value is None and figs["params_total"].provenance == "n/a"


def test_labels_and_claims_the_issue_corrected():
    t = timeline()["milestones"]
    assert t.index("2022-03-instructgpt") < t.index("2022-03-chinchilla")  # arXiv 4 Mar vs 29 Mar 2022
    m = {pid: raw_preset(pid)["meta"] for pid in ("2017-06-transformer", "2022-05-flashattention", "2018-06-gpt-1",
                                                  "2023-12-mixtral", "2025-01-deepseek-r1", "2022-03-instructgpt",
                                                  "2024-07-llama-3.1", "recipe-modded-microgpt",
                                                  "recipe-modded-llama2c", "recipe-llama2c-stories15m")}
    assert "University of Toronto" in m["2017-06-transformer"]["org"]
    assert "Buffalo" in m["2022-05-flashattention"]["org"]
    assert "GPT-2 paper" in m["2018-06-gpt-1"]["published"]["source"]
    assert "release post" in m["2023-12-mixtral"]["published"]["source"] and "47B" in m["2023-12-mixtral"]["published"]["note"]
    assert "RL alone" not in m["2025-01-deepseek-r1"]["why"] and "R1-Zero" in m["2025-01-deepseek-r1"]["why"]
    assert "fine-tuned from the 1.3B GPT-3" in " ".join(m["2022-03-instructgpt"]["explanation"].split())
    assert any("llama3" in c["text"] for c in m["2024-07-llama-3.1"]["changes"])
    assert m["recipe-modded-microgpt"]["date"] == "2026-03" and m["recipe-modded-llama2c"]["date"] == "2025-03"
    assert "wish list" in m["recipe-modded-microgpt"]["seed_note"]
    assert "4 lines" not in m["recipe-llama2c-stories15m"]["short"]
    pub = load_preset("recipe-llama2c-stories15m").meta["published"]
    assert pub["params_total"] == 15e6 and "computed" in pub["source"]
