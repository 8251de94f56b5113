"""check_llama2c: every reason an architecture cannot run in llama2.c, each naming its block."""
import pytest

from studio.core import errors as E
from studio.core.formats.llama2c import check_llama2c, match_llama2c
from studio.core.files.presets import load_preset
from studio.core.tokenizers.byte_level import ByteTokenizer


def msgs(arch, **kw):
    return [str(i) for i in check_llama2c(arch, **kw)]


def has(issues, node, fragment):
    return any(i.startswith(f"{node}: ") and fragment in i for i in issues)


def test_llama_presets_are_compatible():
    for pid in ("2023-02-llama-1", "2023-07-llama-2"):
        assert check_llama2c(load_preset(pid)) == []
    a = load_preset("2023-07-llama-2")
    d = a.dims("classroom")
    m = match_llama2c(a)
    assert m.dims == {"dim": d["dim"], "hidden_dim": d["hidden_dim"], "n_layers": d["n_layers"], "n_heads": d["n_heads"],
                      "n_kv_heads": d["n_kv_heads"], "vocab_size": d["vocab_size"], "seq_len": d["context"]}
    assert not m.tied and m.key_of("layers.2.attention.wq.weight") == "layers.2.attention.wq.weight"


def test_gpt2_lists_every_reason():
    out = msgs(load_preset("2019-02-gpt-2"))
    assert has(out, "positions", "no position table")
    assert has(out, "attention", "biases")
    for n in ("attention_norm", "ffn_norm", "norm"):
        assert has(out, n, "RMSNorm")
    assert has(out, "feed_forward", "SwiGLU")
    assert has(out, "model", "RoPE")


def test_post_norm_and_encoder_decoder_are_named():
    assert has(msgs(load_preset("2018-06-gpt-1")), "attention", "pre-norm")
    out = msgs(load_preset("2017-06-transformer"))
    assert has(out, "encoder", "decoder-only") and has(out, "tok_embeddings", "√dim")
    assert has(out, "cross_attention", "decoder-only")


def llama():
    return load_preset("2023-07-llama-2")


@pytest.mark.parametrize("node,key,value,fragment", [
    ("attention_norm", "eps", 1e-6, "eps 1e-06: run.c hard-codes 1e-5"),
    ("rope", "theta", 500000.0, "θ 500000"),
    ("attention", "qk_norm", True, "QK-norm"),
    ("attention", "bias", True, "biases"),
    ("attention", "window", 64, "sliding window 64"),
    ("attention", "head_dim", 32, "head_dim 32 × n_heads 8 ≠ dim 128"),
    ("output", "softcap", 30.0, "soft-capping"),
    ("output", "pad_vocab_to", 64, "padded"),
    ("feed_forward", "bias", True, "biases"),
    ("tok_embeddings", "scale", True, "√dim"),
])
def test_single_setting_changes_are_reported(node, key, value, fragment):
    a = llama()
    a.graph.set_config(node, key, value)
    if key == "head_dim":
        a.graph.set_config("rope", "head_dim", 32)
    out = msgs(a)
    assert has(out, node, fragment), out


def test_per_layer_variants_are_reported_with_their_layers():
    out = msgs(load_preset("2020-05-gpt-3"))
    assert any("sliding window 64" in i and "(layers 1, 3)" in i for i in out)


def test_moe_and_renamed_blocks():
    from studio.core.model.graph import Node
    a = llama()
    a.graph.remove_node("feed_forward")
    a.graph.add_node(Node("experts", "moe", "layer"))
    a.graph.connect("ffn_norm", "x", "experts", "x")
    a.graph.connect("experts", "x", "add_ffn", "y")
    assert has(msgs(a), "experts", "mixture of experts")
    # the same llama2.c network under other block ids is fine, and the exporter maps the names
    b = llama()
    b.graph.remove_node("feed_forward")
    b.graph.add_node(Node("mlp_block", "swiglu", "layer"))
    b.graph.connect("ffn_norm", "x", "mlp_block", "x")
    b.graph.connect("mlp_block", "x", "add_ffn", "y")
    m = match_llama2c(b)
    assert m.key_of("layers.0.feed_forward.w2.weight") == "layers.0.mlp_block.w2.weight"


def test_tied_head_and_tokenizer_layout():
    a = llama()
    a.graph.set_config("output", "tie_to", "tok_embeddings")
    m = match_llama2c(a)
    assert m.tied and m.key_of("output.weight") == "tok_embeddings.weight"
    a.scales["classroom"]["vocab_size"] = 259
    out = msgs(a, tokenizer=ByteTokenizer())
    assert has(out, "tokenizer", 'no piece is a single space " "')
    a.scales["classroom"]["vocab_size"] = 300
    assert has(msgs(a, tokenizer=ByteTokenizer()), "tokenizer", "259 tokens but the model's vocab_size is 300")
    with pytest.raises(E.StudioError, match="not exportable to llama2.c"):
        match_llama2c(a, tokenizer=ByteTokenizer())


def test_invalid_graph_is_reported_not_crashed():
    a = llama()
    a.graph.set_config("attention", "n_heads", 7)
    out = msgs(a)
    assert out and all("fix the model first" in i for i in out)
