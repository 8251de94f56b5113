"""archstudio export --format gguf, checked by the real client: llama.cpp (the xllamacpp CPU wheel)
loads every LLaMA-family and Mixtral-style classroom preset after a few training steps and
continues a prompt greedily with the same token ids as this app, with the same log-probabilities;
the file itself is read back with the gguf package."""
import json

import pytest
import torch
from export_runs import GGUF_PRESETS, PROMPT, trained_run

from studio.core.formats.gguf.export import export_gguf
from studio.core.runs.rundir import RunDir

gguf = pytest.importorskip("gguf", reason="the 'export' extra is part of the test extra")
xlc = pytest.importorskip("xllamacpp", reason="the 'export' extra is part of the test extra")
N_NEW = 12


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return tmp_path_factory.mktemp("export-runs")


def llama_cpp_greedy(path, ids: list[int], n: int) -> list[dict]:
    """llama.cpp's greedy continuation of the token ids: [{id, logprob}] per new token."""
    p = xlc.CommonParams()
    p.model.path = str(path)
    p.n_ctx = 64
    p.n_parallel = 1
    p.warmup = False
    p.cpuparams.n_threads = 1
    p.cpuparams_batch.n_threads = 1
    server = xlc.Server(p)
    out = server.handle_completions({"prompt": ids, "n_predict": n, "temperature": 0, "top_k": 1,
                                     "logprobs": 1, "cache_prompt": False})
    out = json.loads(out) if isinstance(out, str) else out
    return out["choices"][0]["logprobs"]["content"]


@pytest.mark.parametrize("preset", GGUF_PRESETS)
def test_llama_cpp_continues_with_the_same_tokens(preset, root, tmp_path):
    run = trained_run(preset, root)
    res = export_gguf(run, tmp_path / "out")
    model, tok = RunDir(run).build_model().eval(), RunDir(run).tokenizer()
    ids = tok.encode(PROMPT)
    theirs = llama_cpp_greedy(res.path, ids, N_NEW)
    with torch.no_grad():
        seq = model.generate(torch.tensor([ids]), N_NEW, temperature=0)[0].tolist()
        logp = torch.log_softmax(model(torch.tensor([seq]))[0][0], -1)
    mine = seq[len(ids):]
    if tok.eos_id in mine:  # llama.cpp stops at EOS
        mine = mine[: mine.index(tok.eos_id) + 1]
    # compared by id (llama.cpp's text of a token that ends inside a UTF-8 character is hidden, its id is not)
    assert [t["id"] for t in theirs] == mine and len(mine) > 0
    want = [logp[len(ids) - 1 + i, t].item() for i, t in enumerate(mine)]
    assert max(abs(t["logprob"] - w) for t, w in zip(theirs, want)) < 1e-3


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


def test_deepseek_is_refused_in_one_line(root, tmp_path, capsys):
    from studio.entry import main
    run = trained_run("2024-12-deepseek-v3", root)
    capsys.readouterr()
    assert main(["export", str(run), "--format", "gguf", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "attention:" in err and "--format hf" in err
    assert not (tmp_path / "out").exists()
