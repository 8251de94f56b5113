"""archstudio export --format hf, checked by the real client: transformers loads every exportable
classroom preset (after a few training steps) with no missing or unexpected keys, computes the
same fp32 logits (within 1e-4), continues a prompt greedily with the same tokens, and its
tokenizer gives the same ids as the run's SentencePiece model."""
import json
import sys

import pytest
import torch
from export_runs import HF_PRESETS, PROMPT, QWEN_CONFIGS, config_run, stories, tokenizer, trained_run

from studio.core.files.presets import load_preset
from studio.core.formats.decoder import plan_decoder
from studio.core.formats.hf.export import export_hf
from studio.core.formats.hf.tensors import rope_halves
from studio.core.runs.rundir import RunDir

transformers = pytest.importorskip("transformers", reason="the 'export' extra is part of the test extra")

FAMILY = {"llama": "LlamaForCausalLM", "mixtral": "MixtralForCausalLM", "deepseek_v3": "DeepseekV3ForCausalLM"}
TRICKY = ["a  b", "  leading spaces", "trailing  ", "x \n y", "Tom said: \"Hi!\"\n\nThe end.", "", "é ü 日本 🐸",
          "\ttab", "   "]


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tiny models: one thread


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return tmp_path_factory.mktemp("export-runs")


def cli(capsys, *args):
    from studio.entry import main
    capsys.readouterr()
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_exportable_presets_include_these():
    """Every LLaMA-family, Mixtral-style and DeepSeek-V3-style classroom preset is exportable (and tested below);
    the rest are refused by the planner."""
    from export_runs import KNOWN_EXPORTABLE
    assert set(KNOWN_EXPORTABLE) <= set(HF_PRESETS)
    assert {"2019-02-gpt-2", "2024-05-deepseek-v2", "2026-04-kimi-k2.6"}.isdisjoint(HF_PRESETS)


@pytest.mark.parametrize("preset", HF_PRESETS)
def test_transformers_loads_the_export_and_computes_the_same(preset, root, tmp_path):
    run = trained_run(preset, root)
    res = export_hf(run, tmp_path / "hf")
    cfg = json.loads((tmp_path / "hf" / "config.json").read_text())
    assert cfg["architectures"] == [res.architecture]
    model, info = transformers.AutoModelForCausalLM.from_pretrained(str(tmp_path / "hf"), output_loading_info=True,
                                                                    dtype=torch.float32)
    assert type(model).__name__ == res.architecture
    assert not info["missing_keys"] and not info["unexpected_keys"] and not info["mismatched_keys"], info
    ours, tok = RunDir(run).build_model().eval(), RunDir(run).tokenizer()
    ids = tok.encode(PROMPT)
    x = torch.tensor([ids])
    with torch.no_grad():
        want = ours(x)[0]
        got = model.eval()(x).logits
        assert (got - want).abs().max().item() < 1e-4
        n = 16
        mine = ours.generate(x, n, temperature=0)[0, len(ids):].tolist()
        theirs = model.generate(x, max_new_tokens=n, do_sample=False, pad_token_id=0)[0, len(ids):].tolist()
    if tok.eos_id in mine:  # transformers stops at EOS; this app's generate does not
        mine = mine[: mine.index(tok.eos_id) + 1]
    assert theirs[: len(mine)] == mine and len(mine) > 0
    assert ("mtp" in load_preset(preset).graph.nodes) == any("multi-token" in note for note in res.notes)
    if res.architecture == "DeepseekV3ForCausalLM":  # the trained selection bias is the router's buffer
        bias = dict(model.named_buffers())["model.layers.3.mlp.gate.e_score_correction_bias"]
        assert torch.equal(bias, RunDir(run).load_checkpoint()["model"]["layers.3.feed_forward.expert_bias"])
        assert bias.abs().sum() > 0 and cfg["n_group"] == 1 and cfg["topk_group"] == 1


def test_tokenizer_ids_equal_on_story_text(root, tmp_path):
    run = trained_run("recipe-llama2c-stories260k", root)
    export_hf(run, tmp_path / "hf")
    hf = transformers.AutoTokenizer.from_pretrained(str(tmp_path / "hf"))
    tok = tokenizer(root)
    texts = list(stories(120)) + TRICKY
    assert [hf(t)["input_ids"] for t in texts] == [tok.encode(t) for t in texts]
    story = stories(1)[0]
    assert hf.decode(hf(story)["input_ids"], skip_special_tokens=True) == story


def test_rope_halves_turns_adjacent_pairs_into_halves():
    """Rotating pairs (2j, 2j+1) with the old rows = rotating (j, j + hd/2) with the permuted rows
    (transformers' rotate_half), the head's dims reordered pairs-first: q·k is unchanged."""
    from blocks.nn.rope import apply_rope, rope_tables
    hd, nh, d, T = 8, 2, 5, 3
    w, x = torch.randn(nh * hd, d), torch.randn(1, T, d)
    cos, sin = rope_tables(hd, T)
    pairs = apply_rope((x @ w.T).view(1, T, nh, hd), cos, sin)
    q = (x @ rope_halves(w, nh).T).view(1, T, nh, hd)
    c, s = torch.cat([cos, cos], -1)[None, :, None], torch.cat([sin, sin], -1)[None, :, None]
    halves = q * c + torch.cat([-q[..., hd // 2:], q[..., : hd // 2]], -1) * s
    order = list(range(0, hd, 2)) + list(range(1, hd, 2))
    assert torch.allclose(halves, pairs[..., order], atol=1e-6)


def test_cli_export_hf(root, tmp_path, capsys):
    run = trained_run("2023-12-mixtral", root)
    code, out, err = cli(capsys, "export", run, "--format", "hf", "--out", tmp_path / "hf")
    assert code == 0, err
    assert "MixtralForCausalLM" in out and "model.safetensors" in out and "AutoModelForCausalLM" in out
    assert sorted(p.name for p in (tmp_path / "hf").iterdir()) == ["config.json", "model.safetensors",
                                                                    "tokenizer.json", "tokenizer_config.json"]


def test_cli_refuses_an_inexpressible_model_in_one_line_naming_the_block(root, tmp_path, capsys):
    from studio.core.model.compiler import compile_architecture
    tok = tokenizer(root)
    for preset, block in (("2019-02-gpt-2", "tok_embeddings"), ("2024-05-deepseek-v2", "feed_forward")):
        from studio.core.training.setup import classroom_arch
        arch = classroom_arch(load_preset(preset), tok.vocab_size, 32)
        run = RunDir(tmp_path / preset)
        run.initialize(arch, preset, tok)
        run.save_checkpoint({"model": compile_architecture(arch).state_dict()}, step=0)
        code, out, err = cli(capsys, "export", run.path, "--format", "hf", "--out", tmp_path / "out")
        assert code == 2 and out == "" and len(err.strip().splitlines()) == 1, err
        assert f"{block}:" in err and "Hugging Face" in err
    assert not (tmp_path / "out").exists()  # nothing half-written


def test_edits_no_class_has_are_refused_naming_the_block(root, tmp_path, capsys):
    run = RunDir(trained_run("2023-07-llama-2", root))
    arch = run.architecture()
    arch.graph.set_config("attention", "window", 16)
    assert "attention: sliding window 16" in str(plan_decoder(arch, "classroom", "Hugging Face")[1][0])
    arch = run.architecture()
    arch.graph.set_config("attention", "qk_norm", True)  # QK-norm: LLaMA becomes Qwen3, whose eps is one
    arch.graph.set_config("attention", "qk_norm_eps", 1e-6)
    assert "QK-norm eps 1e-06 differs" in str(plan_decoder(arch, "classroom", "Hugging Face")[1][0])
    arch = run.architecture()
    arch.graph.set_config("rope", "llama3_factor", 8.0)  # scaled rotations: written (test_export_rope_scaling.py) ...
    assert plan_decoder(arch, "classroom", "Hugging Face")[1] == []
    arch.graph.set_config("rope", "yarn_factor", 4.0)  # ... but not two at once
    assert str(plan_decoder(arch, "classroom", "Hugging Face")[1][0]).startswith("rope: YaRN (×4) and Llama 3")


def test_missing_package_names_the_extra(root, tmp_path, capsys, monkeypatch):
    run = trained_run("2023-07-llama-2", root)
    monkeypatch.setitem(sys.modules, "safetensors.torch", None)  # import fails as if not installed
    code, _, err = cli(capsys, "export", run, "--format", "hf", "--out", tmp_path / "hf")
    assert code == 2 and "safetensors" in err and "[export]" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "hf").exists()


def test_biases_and_untied_gqa_edits_round_trip(root, tmp_path):
    """LLaMA's attention_bias (q/k biases permuted with their rows) and mlp_bias, MQA (1 KV head), untied head."""
    from studio.core.model.compiler import compile_architecture
    from studio.core.training.setup import classroom_arch
    tok = tokenizer(root)
    arch = classroom_arch(load_preset("2023-07-llama-2"), tok.vocab_size, 32)
    arch.scales["classroom"]["n_kv_heads"] = 1
    arch.graph.set_config("attention", "bias", True)
    arch.graph.set_config("feed_forward", "bias", True)
    torch.manual_seed(1)
    model = compile_architecture(arch)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)  # biases and gains away from their zero/one start
    run = RunDir(tmp_path / "run")
    run.initialize(arch, "2023-07-llama-2", tok)
    run.save_checkpoint({"model": model.state_dict()}, step=1)
    res = export_hf(run.path, tmp_path / "hf")
    cfg = json.loads((tmp_path / "hf" / "config.json").read_text())
    assert cfg["attention_bias"] and cfg["mlp_bias"] and cfg["num_key_value_heads"] == 1
    hf, info = transformers.AutoModelForCausalLM.from_pretrained(str(tmp_path / "hf"), output_loading_info=True,
                                                                 dtype=torch.float32)
    assert res.architecture == "LlamaForCausalLM" and not any(info[k] for k in ("missing_keys", "unexpected_keys"))
    x = torch.tensor([tok.encode(PROMPT)])
    with torch.no_grad():
        assert (hf(x).logits - model.eval()(x)[0]).abs().max().item() < 1e-4


def test_tokenizer_ids_equal_on_tinystories(root, tmp_path, shared_data):
    """The real stories (validation head, its upstream mojibake included), not only the starter corpus."""
    run = trained_run("recipe-llama2c-stories260k", root)
    export_hf(run, tmp_path / "hf")
    hf = transformers.AutoTokenizer.from_pretrained(str(tmp_path / "hf"))
    tok = tokenizer(root)
    texts = (shared_data / "tinystories" / "validation-head.txt").read_text(encoding="utf-8").split("\n\n")[:400]
    assert [hf(t)["input_ids"] for t in texts] == [tok.encode(t) for t in texts]


@pytest.mark.parametrize("name", QWEN_CONFIGS)
def test_config_json_in_then_hf_out(name, root, tmp_path):
    """A Qwen config.json in (q/k/v biases and tied head; QK-norm; QK-norm + MoE; q/k/v biases + MoE with a
    gated shared expert) → a few training steps → the same transformers class out, with the same logits
    (llama.cpp: test_export_gguf.py)."""
    run = config_run(name, root)
    res = export_hf(run, tmp_path / "hf")
    hf, info = transformers.AutoModelForCausalLM.from_pretrained(str(tmp_path / "hf"), output_loading_info=True,
                                                                 dtype=torch.float32)
    assert res.architecture == type(hf).__name__ == QWEN_CONFIGS[name]
    assert not any(info[k] for k in ("missing_keys", "unexpected_keys", "mismatched_keys"))
    x = torch.tensor([RunDir(run).tokenizer().encode(PROMPT)])
    with torch.no_grad():
        assert (hf(x).logits - RunDir(run).build_model().eval()(x)[0]).abs().max().item() < 1e-4


KNOWN = ("Zoo was a little girl named Lily. She loved to play outside in the park. One day, she saw a big, "
         "red ball.")


def test_the_real_stories260k_leaves_with_its_own_vocabulary(shared_data, tmp_path):
    """llama2.c's stories260K (model.bin + tok512.bin) imported, exported: transformers writes what run.c writes."""
    from studio.core.formats.llama2c.runio import import_llama2c
    run, _ = import_llama2c(shared_data / "llama2c" / "stories260K.bin", shared_data / "llama2c" / "tok512.bin",
                            tmp_path / "run")
    export_hf(run, tmp_path / "hf")
    hf = transformers.AutoModelForCausalLM.from_pretrained(str(tmp_path / "hf"), dtype=torch.float32)
    tok = transformers.AutoTokenizer.from_pretrained(str(tmp_path / "hf"))
    ids = tok("Zoo", return_tensors="pt")
    assert ids["input_ids"].tolist() == [[1, 410, 469, 347]]  # BOS, the dummy-prefix " ", "Z", "oo", as run.c
    with torch.no_grad():
        out = hf.generate(**ids, max_new_tokens=45, do_sample=False)
    assert tok.decode(out[0], skip_special_tokens=True).startswith(KNOWN)
    texts = (shared_data / "tinystories" / "validation-head.txt").read_text(encoding="utf-8").split("\n\n")[:200]
    mine = RunDir(run).tokenizer()
    assert [tok(t)["input_ids"] for t in texts] == [mine.encode(t) for t in texts]


def test_a_tokenizer_bin_that_cannot_be_sentencepiece_is_one_line():
    from studio.core import errors as E
    from studio.core.formats.hf.llama2c_vocab import sentencepiece_from_llama2c
    from studio.core.tokenizers.llama2c_bin import Llama2cTokenizer
    base = [b"<unk>", b"\n<s>\n", b"\n</s>\n"] + [f"<0x{i:02X}>".encode() for i in range(256)] + [b" ", b" the"]
    ok = sentencepiece_from_llama2c(Llama2cTokenizer(base, [0.0] * 259 + [-1.0, -2.0]))
    assert ok.encode("the the") == Llama2cTokenizer(base, [0.0] * 259 + [-1.0, -2.0]).encode("the the")
    with pytest.raises(E.StudioError, match="piece 261 of tokenizer.bin is not UTF-8"):
        sentencepiece_from_llama2c(Llama2cTokenizer(base + [b"\xff\xfe"], [0.0] * 259 + [-1.0, -2.0, -3.0]))
