"""RoPE frequency scaling leaves the app exactly: Llama 3.1's rule as transformers' rope_type "llama3" and
llama.cpp's rope_freqs tensor, YaRN as rope_type "yarn" (DeepSeek-V3's MLA and a LLaMA-family graph) and
llama.cpp's rope.scaling.* metadata. Each run trains with the scaling on, at an original context short
enough that the scaled rotations change the logits of the prompt; the negative controls show that a file
without the scaling (or with a YaRN attention temperature this app does not have) is measurably off, so
the equalities below would catch a scaling dropped or written wrong."""
import json

import pytest
import torch
from export_runs import PROMPT, SCALED_ROPE, scaled_run, trained_run
from llama_cpp_client import compare_greedy

from studio.core.formats.decoder import plan_decoder
from studio.core.formats.gguf import export as gguf_export
from studio.core.formats.gguf.export import export_gguf
from studio.core.formats.hf.export import export_hf
from studio.core.runs.rundir import RunDir

transformers = pytest.importorskip("transformers", reason="the 'export' extra is part of the test extra")
gguf = pytest.importorskip("gguf", reason="the 'export' extra is part of the test extra")
pytest.importorskip("xllamacpp", reason="the 'export' extra is part of the test extra")
TOL_HF, TOL_LLAMA_CPP, N_NEW, TOP = 1e-4, 1e-3, 12, 5
KIMI_BETAS = {"yarn_beta_fast": 1.0, "yarn_beta_slow": 1.0}  # llama.cpp's --yarn-beta-fast 1 --yarn-beta-slow 1


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tiny models: one thread


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return tmp_path_factory.mktemp("rope-runs")


def hf_logits(folder, x, rope_parameters=None):
    if rope_parameters is not None:  # the same checkpoint with another RoPE: a negative control
        cfg = json.loads((folder / "config.json").read_text())
        (folder / "config.json").write_text(json.dumps({**cfg, "rope_parameters": rope_parameters}))
    model, info = transformers.AutoModelForCausalLM.from_pretrained(str(folder), output_loading_info=True,
                                                                    dtype=torch.float32)
    assert not any(info[k] for k in ("missing_keys", "unexpected_keys", "mismatched_keys"))
    with torch.no_grad():
        return model(x).logits, model.generate(x, max_new_tokens=N_NEW, do_sample=False)[0, x.shape[1]:].tolist()


@pytest.mark.parametrize("name", SCALED_ROPE)
def test_transformers_computes_the_same_with_the_scaling(name, root, tmp_path):
    run = scaled_run(name, root)
    rope = SCALED_ROPE[name][1]
    res = export_hf(run, tmp_path / "hf")
    params = json.loads((tmp_path / "hf" / "config.json").read_text())["rope_parameters"]
    if "llama3_factor" in rope:
        assert params["rope_type"] == "llama3" and params["factor"] == 8.0
        assert params["original_max_position_embeddings"] == 8 and params["low_freq_factor"] == 1.0
    else:
        assert params["rope_type"] == "yarn" and params["factor"] == rope["yarn_factor"]
        assert params["original_max_position_embeddings"] == rope["yarn_original_context"]
        assert params["beta_fast"] == rope.get("yarn_beta_fast", 32.0) and params["attention_factor"] == 1.0
        assert params["mscale_all_dim"] == 0.0 and any("no attention temperature" in n for n in res.notes)
    model, tok = RunDir(run).build_model().eval(), RunDir(run).tokenizer()
    x = torch.tensor([tok.encode(PROMPT)])
    logits, greedy = hf_logits(tmp_path / "hf", x)
    with torch.no_grad():
        mine = model(x)[0]
        assert (logits - mine).abs().max().item() < TOL_HF
        assert greedy == model.generate(x, N_NEW, temperature=0)[0, x.shape[1]:].tolist()
    unscaled, _ = hf_logits(tmp_path / "hf", x, {"rope_type": "default", "rope_theta": params["rope_theta"]})
    assert (unscaled - mine).abs().max().item() > 10 * TOL_HF  # the scaling matters at these positions


def test_kimi_k2s_own_attention_temperature_would_be_wrong_here(root, tmp_path):
    """Kimi K2's config.json has mscale = mscale_all_dim = 1, which transformers' DeepSeek-V3 folds into the
    softmax scale as (0.1·ln 32 + 1)²; this app's MLA has no such temperature, so writing it would be off."""
    run = scaled_run("kimi-k2+yarn", root)
    export_hf(run, tmp_path / "hf")
    x = torch.tensor([RunDir(run).tokenizer().encode(PROMPT)])
    params = json.loads((tmp_path / "hf" / "config.json").read_text())["rope_parameters"]
    kimis = {k: v for k, v in params.items() if k not in ("attention_factor", "mscale_all_dim")}
    logits, _ = hf_logits(tmp_path / "hf", x, {**kimis, "mscale": 1.0, "mscale_all_dim": 1.0})
    with torch.no_grad():
        assert (logits - RunDir(run).build_model().eval()(x)[0]).abs().max().item() > 10 * TOL_HF


@pytest.mark.parametrize("name", SCALED_ROPE)
def test_llama_cpp_continues_with_the_same_tokens_with_the_scaling(name, root, tmp_path, monkeypatch, capsys):
    run = scaled_run(name, root)
    res = export_gguf(run, tmp_path / "m.gguf")
    fields = {f.name: f.contents() for f in gguf.GGUFReader(str(res.path)).fields.values()}
    tensors = {t.name for t in gguf.GGUFReader(str(res.path)).tensors}
    llama3 = "llama3_factor" in SCALED_ROPE[name][1]
    assert ("rope_freqs.weight" in tensors) == llama3
    assert (f"{res.arch}.rope.scaling.type" in fields) == (not llama3)
    flags = KIMI_BETAS if name == "kimi-k2+yarn" else None
    assert bool(flags) == any("--yarn-beta-fast 1 --yarn-beta-slow 1" in n for n in res.notes)
    assert res.flags == (["--yarn-beta-fast", "1", "--yarn-beta-slow", "1"] if flags else [])
    if flags:  # the command the CLI suggests carries them
        from studio.entry import main
        capsys.readouterr()
        assert main(["export", str(run), "--format", "gguf", "--out", str(tmp_path / "cli.gguf")]) == 0
        try_line = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("try: llama-cli")]
        assert try_line and try_line[0].endswith("--temp 0 --yarn-beta-fast 1 --yarn-beta-slow 1"), try_line
    c = compare_greedy(run, res.path, PROMPT, N_NEW, TOP, flags)
    assert c.theirs == c.mine and len(c.mine) > 0 and c.max_logprob_diff < TOL_LLAMA_CPP
    if flags:  # without the flags llama.cpp uses β 32 / 1: what the note is for
        assert compare_greedy(run, res.path, PROMPT, N_NEW, TOP).max_logprob_diff > 10 * TOL_LLAMA_CPP
    monkeypatch.setattr(gguf_export, "rope_freqs_tensor", lambda plan: {})
    monkeypatch.setattr(gguf_export, "rope_scaling_hparams", lambda plan, g: {})
    bare = export_gguf(run, tmp_path / "unscaled.gguf")
    c = compare_greedy(run, bare.path, PROMPT, N_NEW, TOP, flags)
    assert c.theirs != c.mine or c.max_logprob_diff > 2 * TOL_LLAMA_CPP  # the scaling matters at these positions


def test_both_scalings_at_once_are_refused_in_one_line(root):
    arch = RunDir(trained_run("2023-07-llama-2", root)).architecture()
    arch.graph.set_config("rope", "llama3_factor", 8.0)
    arch.graph.set_config("rope", "yarn_factor", 4.0)
    issues = plan_decoder(arch, "classroom", "Hugging Face")[1]
    assert [str(i) for i in issues] == ["rope: YaRN (×4) and Llama 3 scaling (×8) both on: Hugging Face applies one "
                                        "rope_type; set yarn_factor or llama3_factor to 0"]


def test_llama3_scaling_on_an_architecture_it_was_not_checked_on_is_refused_for_gguf(root, tmp_path, capsys):
    from studio.entry import main
    run = RunDir(trained_run("2024-12-deepseek-v3", root, {"llama3_factor": 8.0, "llama3_original_context": 32}))
    capsys.readouterr()
    assert main(["export", str(run.path), "--format", "gguf", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "rope: Llama 3 frequency scaling (rope_freqs)" in err
    assert "not deepseek2" in err and not (tmp_path / "out").exists()


def test_llama2c_refuses_scaled_rope_instead_of_dropping_it():
    """run.c rotates by θ alone: a YaRN or Llama 3 scaled run written as model.bin would compute otherwise."""
    from studio.core.files.presets import load_preset
    from studio.core.formats.llama2c.check import check_llama2c
    for setting, says in (("yarn_factor", "YaRN ×16"), ("llama3_factor", "Llama 3 frequency scaling ×16")):
        arch = load_preset("2023-07-llama-2")
        assert check_llama2c(arch, "classroom") == []
        arch.graph.set_config("rope", setting, 16.0)
        assert [str(i) for i in check_llama2c(arch, "classroom")] == [
            f"rope: {says}: run.c has plain RoPE; set {setting} to 0"]
