"""archstudio export --format gguf, checked by the real client: llama.cpp (the xllamacpp CPU wheel)
loads every exportable classroom preset after a few training steps (LLaMA family and Mixtral-style
MoE as arch llama, DeepSeek-V3/R1 and Kimi K2 as deepseek2) and the runs real Qwen config.json files
build (qwen2, qwen3, qwen3moe, qwen2moe), and continues a prompt greedily with the same token ids as this app,
with the same log-probabilities for its five most likely tokens at every step; the file itself is
read back with the gguf package."""
import pytest
import torch
from export_runs import GGUF_PRESETS, PROMPT, QWEN_CONFIGS, config_arch, config_run, trained_run
from llama_cpp_client import compare_greedy, llama_cpp_greedy, visible_positions

from studio.core.files.presets import load_preset
from studio.core.formats.gguf.export import export_gguf
from studio.core.formats.hf.tensors import rope_halves
from studio.core.runs.rundir import RunDir

gguf = pytest.importorskip("gguf", reason="the 'export' extra is part of the test extra")
xlc = pytest.importorskip("xllamacpp", reason="the 'export' extra is part of the test extra")
N_NEW, TOP = 12, 5
QWEN_ARCH = {"Qwen2.5-3B": "qwen2", "Qwen3-4B": "qwen3", "Qwen3-30B-A3B": "qwen3moe", "Qwen2MoeConfig": "qwen2moe"}
RUNS = ([pytest.param(trained_run, p, id=p) for p in GGUF_PRESETS]
        + [pytest.param(config_run, c, id=c) for c in QWEN_CONFIGS])


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tiny models: one thread


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return tmp_path_factory.mktemp("export-runs")


@pytest.mark.parametrize("make, name", RUNS)
def test_llama_cpp_continues_with_the_same_tokens(make, name, root, tmp_path):
    run = make(name, root)
    res = export_gguf(run, tmp_path / "out")
    assert res.arch == QWEN_ARCH.get(name, res.arch)
    c = compare_greedy(run, res.path, PROMPT, N_NEW, TOP)
    assert c.theirs == c.mine and len(c.mine) > 0
    assert c.n_candidates == TOP * len(c.mine) and c.max_logprob_diff < 1e-3


def test_tokens_that_end_inside_a_utf8_character_are_not_compared(root, tmp_path):
    """llama.cpp's server lists no token whose text ends inside a UTF-8 character (the next one completes it):
    “ is <0xE2><0x80><0x9C>, so only its last byte piece is listed; a lead byte before ASCII is listed."""
    res = export_gguf(trained_run("2023-07-llama-2", root), tmp_path / "l.gguf")
    tok = RunDir(trained_run("2023-07-llama-2", root)).tokenizer()
    byte = {b: tok.sp.piece_to_id(f"<0x{b:02X}>") for b in (0xE2, 0x80, 0x9C)}
    word = tok.encode("the")[-1]
    assert visible_positions(res.path, [word, byte[0xE2], byte[0x80], byte[0x9C], word]) == [0, 3, 4]
    assert visible_positions(res.path, [byte[0xE2], word, tok.eos_id]) == [1, 2]


def test_the_file_holds_the_vocabulary_and_unpermuted_weights(root, tmp_path):
    run = trained_run("2023-12-mixtral", root)
    res = export_gguf(run, tmp_path / "mixtral.gguf")
    assert res.path == tmp_path / "mixtral.gguf" and res.arch == "llama"
    r = gguf.GGUFReader(str(res.path))
    field = {f.name: f for f in r.fields.values()}

    def value(name):
        return field[name].contents()

    tok = RunDir(run).tokenizer()
    assert value("general.architecture") == "llama"
    assert value("llama.expert_count") == 8 and value("llama.expert_used_count") == 2
    pieces, types = value("tokenizer.ggml.tokens"), value("tokenizer.ggml.token_type")
    assert len(pieces) == tok.vocab_size and value("tokenizer.ggml.model") == "llama"
    assert [t for p, t in zip(pieces, types) if p.startswith("<0x")] == [gguf.TokenType.BYTE] * 256
    assert types[:3] == [gguf.TokenType.UNKNOWN, gguf.TokenType.CONTROL, gguf.TokenType.CONTROL]
    sd = RunDir(run).load_checkpoint()["model"]
    tensors = {t.name: torch.from_numpy(t.data.copy()) for t in r.tensors}
    assert torch.equal(tensors["blk.1.attn_q.weight"], sd["layers.1.attention.wq.weight"])  # as trained
    assert torch.equal(tensors["blk.1.ffn_up_exps.weight"][5], sd["layers.1.feed_forward.experts.5.w3.weight"])


def test_deepseek_is_written_as_deepseek2_the_way_llama_cpp_decompresses_mla(root, tmp_path):
    run = trained_run("2024-12-deepseek-v3", root)
    res = export_gguf(run, tmp_path / "ds.gguf")
    r = gguf.GGUFReader(str(res.path))
    field = {f.name: f.contents() for f in r.fields.values() if f.name.startswith("deepseek2.")}
    assert res.arch == "deepseek2" and field["deepseek2.leading_dense_block_count"] == 2
    assert field["deepseek2.attention.head_count_kv"] == 1 and field["deepseek2.expert_gating_func"] == 2
    t = {x.name: torch.from_numpy(x.data.copy()) for x in r.tensors}
    sd = RunDir(run).load_checkpoint()["model"]
    kv_b = sd["layers.3.attention.wkv_b.weight"].view(4, 64, 32)  # heads, nope 32 + v 32, kv_lora_rank 32
    assert torch.equal(t["blk.3.attn_k_b.weight"], kv_b[:, :32].transpose(1, 2))
    assert torch.equal(t["blk.3.attn_v_b.weight"], kv_b[:, 32:])
    assert torch.equal(t["blk.3.exp_probs_b.bias"], sd["layers.3.feed_forward.expert_bias"])
    assert not any(k.startswith("blk.4") for k in t)  # the MTP layer is not written


def test_biases_are_refused_in_one_line(root, tmp_path, capsys):
    from export_runs import tokenizer

    from studio.core.model.compiler import compile_architecture
    from studio.core.training.setup import classroom_arch
    from studio.entry import main
    tok = tokenizer(root)
    arch = classroom_arch(load_preset("2023-07-llama-2"), tok.vocab_size, 32)
    arch.graph.set_config("attention", "bias", True)
    run = RunDir(tmp_path / "run")
    run.initialize(arch, "2023-07-llama-2", tok)
    run.save_checkpoint({"model": compile_architecture(arch).state_dict()}, step=0)
    capsys.readouterr()
    assert main(["export", str(run.path), "--format", "gguf", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "attention: has biases" in err
    assert not (tmp_path / "out").exists()


def test_the_real_stories260k_in_llama_cpp(shared_data, tmp_path):
    from studio.core.formats.llama2c.runio import import_llama2c
    run, _ = import_llama2c(shared_data / "llama2c" / "stories260K.bin", shared_data / "llama2c" / "tok512.bin",
                            tmp_path / "run")
    res = export_gguf(run, tmp_path / "s.gguf")
    model, tok = RunDir(run).build_model().eval(), RunDir(run).tokenizer()
    ids = tok.encode("Zoo")
    theirs = [t["id"] for t in llama_cpp_greedy(res.path, ids, 30)]
    with torch.no_grad():
        mine = model.generate(torch.tensor([ids]), 30, temperature=0)[0, len(ids):].tolist()
    assert theirs == mine
    assert tok.decode(ids + mine).startswith("Zoo was a little girl named Lily.")


def test_qwen_is_written_in_the_half_split_order_llama_cpp_rotates(root, tmp_path):
    """llama.cpp's qwen2/qwen3/qwen3moe rotate pairs (i, i + head_dim/2): q and k rows, Qwen2's q/k biases
    and Qwen3's QK-norm gains are permuted within each head as for Hugging Face; the rest as trained."""
    t, field, sd = {}, {}, {}
    for name in ("Qwen2.5-3B", "Qwen3-30B-A3B"):
        run = config_run(name, root)
        r = gguf.GGUFReader(str(export_gguf(run, tmp_path / f"{name}.gguf").path))
        t[name] = {x.name: torch.from_numpy(x.data.copy()) for x in r.tensors}
        field[name] = {f.name: f.contents() for f in r.fields.values()}
        sd[name] = RunDir(run).load_checkpoint()["model"]
    q2, q3 = t["Qwen2.5-3B"], t["Qwen3-30B-A3B"]
    a2, a3 = sd["Qwen2.5-3B"], sd["Qwen3-30B-A3B"]
    assert field["Qwen2.5-3B"]["qwen2.attention.head_count_kv"] == 1 and "output.weight" not in q2  # tied head
    assert torch.equal(q2["blk.1.attn_q.bias"], rope_halves(a2["layers.1.attention.wq.bias"], 8))
    assert torch.equal(q2["blk.1.attn_k.weight"], rope_halves(a2["layers.1.attention.wk.weight"], 1))
    assert not torch.equal(q2["blk.1.attn_k.weight"], a2["layers.1.attention.wk.weight"])
    assert torch.equal(q2["blk.1.attn_v.bias"], a2["layers.1.attention.wv.bias"])
    assert field["Qwen3-30B-A3B"]["qwen3moe.expert_feed_forward_length"] == 344
    assert torch.equal(q3["blk.0.attn_q.weight"], rope_halves(a3["layers.0.attention.wq.weight"], 8))
    assert torch.equal(q3["blk.0.attn_k_norm.weight"], rope_halves(a3["layers.0.attention.k_norm.weight"], 1))
    assert torch.equal(q3["blk.0.ffn_up_exps.weight"][5], a3["layers.0.feed_forward.experts.5.w3.weight"])
    assert torch.equal(q3["output.weight"], a3["output.weight"])
    run = config_run("Qwen2MoeConfig", root)  # the shared expert and its sigmoid gate, as llama.cpp's qwen2moe has them
    r = gguf.GGUFReader(str(export_gguf(run, tmp_path / "q2moe.gguf").path))
    q, a = {x.name: torch.from_numpy(x.data.copy()) for x in r.tensors}, RunDir(run).load_checkpoint()["model"]
    assert torch.equal(q["blk.1.ffn_gate_inp_shexp.weight"], a["layers.1.feed_forward.shared_expert_gate.weight"])
    assert torch.equal(q["blk.1.ffn_down_shexp.weight"], a["layers.1.feed_forward.shared_experts.w2.weight"])
    shared = {f.name: f.contents() for f in r.fields.values()}["qwen2moe.expert_shared_feed_forward_length"]
    assert shared == a["layers.1.feed_forward.shared_experts.w2.weight"].shape[1]


@pytest.mark.parametrize("name, norm_topk, says", [
    ("Qwen3-30B-A3B", False, "qwen3moe always renormalises the top-k"),
    ("Qwen2MoeConfig", True, "qwen2moe never renormalises the top-k"),
])
def test_a_qwen_moe_llama_cpp_routes_otherwise_is_refused_in_one_line(name, norm_topk, says, root, tmp_path, capsys):
    """llama.cpp hard-codes what Hugging Face leaves to norm_topk_prob (qwen3moe renormalises the top-k gate
    weights, qwen2moe does not): the other setting cannot be written; the dialog's check says so too, and
    a Qwen run that can be written is named by its arch."""
    from export_runs import tokenizer

    from studio.core.formats.outside import export_problems
    from studio.core.model.compiler import compile_architecture
    from studio.entry import main
    arch = config_arch(name, root)
    arch.graph.set_config("feed_forward", "norm_topk", norm_topk)
    run = RunDir(tmp_path / "run")
    run.initialize(arch, name, tokenizer(root))
    run.save_checkpoint({"model": compile_architecture(arch).state_dict()}, step=0)
    capsys.readouterr()
    assert main(["export", str(run.path), "--format", "gguf", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and says in err and "--format hf" in err
    assert not (tmp_path / "out").exists()
    assert any("norm_topk" in p for p in export_problems(run.path, "gguf")[1])
    assert export_problems(run.path, "hf")[0] == QWEN_CONFIGS[name]
    assert export_problems(config_run("Qwen3-4B", root), "gguf") == ("GGUF arch qwen3 (qwen3)", [])
