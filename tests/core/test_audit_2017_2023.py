"""Issue 25, item 3 (first half): a primary-source audit of the 2017-2023 presets and the two
microgpt recipes. One test per finding; each names the source it was checked against."""
from studio.core.files.presets import load_preset, raw_preset
from studio.core.model import provenance as P


def _meta(pid):
    return raw_preset(pid)["meta"]


def _text(s):
    return " ".join(str(s).split())


def test_swiglu_width_4267_is_computed_from_shazeers_two_thirds_rule_not_published():
    # Shazeer 2020, "GLU Variants Improve Transformer" (arXiv 2002.05202): d_ff 3072 → 2048 for the GLU
    # variants (×2/3) on T5-base; no source states 4267, which is 2/3 of GPT-2 XL's 6400, rounded
    arch = load_preset("2020-02-swiglu")
    prov, _src, note = P.dim_provenance(arch, "paper", "hidden_dim")
    assert arch.scales["paper"]["hidden_dim"] == round(6400 * 2 / 3) == 4267
    assert prov == "computed" and "2/3" in note and "6400" in note
    assert P.figures(arch, "paper")["params_total"].provenance == "computed"  # the swap itself is the paper's rule


def test_gpt4_head_size_is_the_studios_assumption_not_reported():
    # SemiAnalysis, "GPT-4 Architecture, Infrastructure, ..." (July 2023): ~120 layers, 16 experts, top-2,
    # MQA, 8K context; it states no head size, so 128 (10752 / 84, both assumed) is not "reported"
    arch = load_preset("2023-03-gpt-4")
    assert P.dim_provenance(arch, "paper", "rope_head_dim")[0] == "illustrative"
    assert P.dim_provenance(arch, "paper", "n_kv_heads")[0] == "reported"  # the leak's own "MQA"


def test_modded_microgpt_active_count_rests_on_the_assumed_kv_heads_like_the_total():
    # github.com/eniompw/microgpt (microgpt_fast.py: RoPE, SDPA, SiLU MLP, tied head, fp16) has no GQA:
    # the 2 key/value heads are the seed's wish list, and the active count includes their k/v projections
    figs = P.figures(load_preset("recipe-modded-microgpt"), "paper")
    assert figs["params_active"].value == figs["params_total"].value
    assert figs["params_active"].provenance == figs["params_total"].provenance == "computed-from-assumptions"
    assert "n_kv_heads" in figs["params_active"].note


def test_gshard_dims_are_cited_to_appendix_a2_not_table_1():
    # Lepikhin et al. 2020 (arXiv 2006.16668): Table 1 lists experts per layer, Enc+Dec layers (36) and
    # weights (600B); model dimension 1024, FFN/MoE hidden 8192, 16 heads and key/value 128 are Appendix A.2
    src = _text(_meta("2020-06-gshard")["config_source"])
    table1, a2 = src.split("Appendix A.2")
    assert "36 encoder + decoder layers" in table1 and "600B" in table1 and "1024" not in table1
    assert all(x in a2 for x in ("1024", "8192", "16 heads", "key/value dimension 128", "64,000", "32,000"))


def test_llama1_context_is_cited_to_the_llama2_paper_and_its_ffn_to_the_released_rounding():
    # Touvron et al. 2023 (arXiv 2302.13971), Table 2 has params, dimension, heads, layers, LR, batch and
    # tokens but no context; Touvron et al. 2023b (Llama 2, arXiv 2307.09288), Table 1: "Llama 1 ... 2k".
    # params.json has no FFN width: model.py rounds 2/3·4·dim up to multiple_of 256
    src = _text(_meta("2023-02-llama-1")["config_source"])
    table2 = src.split(";")[0]
    assert "context" not in table2 and "Llama 2 paper, Table 1" in src
    assert "multiple_of 256" in src
    dim, mult = 4096, 256
    assert load_preset("2023-02-llama-1").scales["paper"]["hidden_dim"] == -(-int(2 * 4 * dim / 3) // mult) * mult == 11008


def test_chinchilla_vocabulary_and_context_are_gophers_not_stated_by_the_paper():
    # Hoffmann et al. 2022 (arXiv 2203.15556), section 4.1: Gopher's setup except "a slightly modified
    # SentencePiece tokenizer ... 94.15% of tokens are the same as those used for training Gopher"; no
    # vocabulary size and no sequence length. Table 4's caption: "feed-forward size is always set to 4 × d_model"
    arch = load_preset("2022-03-chinchilla")
    for dim in ("vocab_size", "context"):
        prov, _src, note = P.dim_provenance(arch, "paper", dim)
        assert prov == "inferred" and "Gopher" in note, dim
    assert P.dim_provenance(arch, "paper", "hidden_dim")[0] == "published"
    assert arch.scales["paper"]["hidden_dim"] == 4 * arch.scales["paper"]["dim"]
    src = _text(arch.meta["config_source"])
    assert "4 × d_model" in src and "94.15 %" in src and "32,000" not in src
    assert not [a for a in arch.meta["assumptions"] if "lists only width" in a]
    figs = P.figures(arch, "paper")
    assert figs["params_total"].provenance == "computed-from-assumptions" and "vocab_size" in figs["params_total"].note
    assert figs["kv_cache_bytes_per_token"].provenance == "computed"  # the vocabulary does not touch the cache


def test_chinchilla_names_the_papers_own_compute_figure_beside_the_rule():
    # Hoffmann et al. 2022 quote Gopher's (and so Chinchilla's) budget as 5.76 × 10^23 FLOPs; 6·N·D is 5.88e23
    s = raw_preset("2022-03-chinchilla")["training"]["settings"]
    assert s["compute_flops"] == 5.88e23 and "5.76e23" in s["gopher_comparison"]
    assert "Table 1" in _meta("2022-03-chinchilla")["published"]["source"]  # 1.4T tokens is Table 1, not Table 4


def test_transformer_layernorm_eps_is_tensor2tensors_and_gpt1_keeps_its_own():
    # tensor2tensor (the Transformer paper's reference code): common_hparams norm_epsilon=1e-6 and
    # common_layers.layer_norm(epsilon=1e-6); openai/finetune-transformer-lm train.py: _norm(..., e=1e-5)
    from studio.core.model.resolve import resolve
    t2017, gpt1, gshard = (load_preset(p) for p in ("2017-06-transformer", "2018-06-gpt-1", "2020-06-gshard"))
    assert resolve(t2017, "paper").config_of("attention_norm")[0].eps == 1e-6
    prov, src, _ = P.dim_provenance(t2017, "paper", "eps")
    assert prov == "published" and "tensor2tensor" in src and "1e-6" in src
    assert resolve(gpt1, "paper").config_of("attention_norm")[0].eps == 1e-5
    assert "e=1e-5" in gpt1.meta["config_source"] and "eps" not in gpt1.scales["paper"]
    assert resolve(gshard, "paper").config_of("attention_norm")[0].eps == 1e-6  # inherited, and labelled so
    assert P.dim_provenance(gshard, "paper", "eps")[0] == "inferred"
    assert P.figures(gshard, "paper")["params_total"].provenance == "computed"  # ε changes no count


def test_chatgpts_hundred_million_users_is_attributed_to_its_reporter():
    # openai.com/blog/chatgpt (30 Nov 2022) states no user count; the "100 million users in two months"
    # figure is a UBS estimate that Reuters reported on 1 Feb 2023
    text = _text(_meta("2022-11-chatgpt")["explanation"])
    assert "hundred million" in text and "UBS" in text and "Reuters" in text and "not an OpenAI figure" in text


def test_gpt4_context_is_openais_own_figure_not_the_leaks():
    # OpenAI, "GPT-4" (14 March 2023, openai.com/index/gpt-4-research): "gpt-4 has a context length of
    # 8,192 tokens", with limited access to a 32,768-token gpt-4-32k
    arch = load_preset("2023-03-gpt-4")
    ctx = P.figures(arch, "paper")["context"]
    assert (ctx.value, ctx.provenance) == (8192, "published") and "8,192" in ctx.source and "OpenAI" in ctx.source
    assert "8K/32K context" not in _text(arch.meta["reported_note"])
    assert P.dim_provenance(arch, "paper", "n_layers")[0] == "reported"  # ~120 layers stays the leak's
