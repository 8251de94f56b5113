"""Export to and import from llama2.c, checked against an independent numpy re-implementation of run.c."""
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from llama2c_runc import RunC, RunQ
from studio.core.model.compiler import compile_architecture
from studio.core.formats.llama2c import read_model
from studio.core.formats.llama2c.runio import export_run, import_llama2c
from studio.core.files.presets import load_preset
from studio.core.runs.rundir import RunDir
from studio.core.tokenizers.llama2c_bin import Llama2cTokenizer

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get("ARCHSTUDIO_SHARED", ROOT.parent / "shared")) / "data"  # as tests/conftest.py


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "studio", *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT, timeout=300)


def cli(capsys, *args):
    """The CLI in this process (the subprocess tests elsewhere cover start-up): (exit code, stdout, stderr)."""
    from studio.entry import main
    capsys.readouterr()
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


KNOWN = ("Zoo was a little girl named Lily. She loved to play outside in the park. One day, she saw a big, "
         "red ball. She wanted to play with it, but she didn't want to play with")


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tiny models: one thread


@pytest.fixture(scope="module")
def l2c_files():
    d = DATA / "llama2c"
    if not (d / "stories260K.bin").is_file():
        pytest.skip(f"needs ../shared/data/llama2c (not found at {d})")
    return d


@pytest.fixture(scope="module")
def imported(l2c_files, tmp_path_factory):
    out, warnings = import_llama2c(l2c_files / "stories260K.bin", l2c_files / "tok512.bin",
                                   tmp_path_factory.mktemp("imp") / "run")
    assert warnings == []
    return out


def test_known_answer_zoo(imported):
    """Proves the v0 reader, the tied classifier, RoPE pairs, GQA mapping and the run.c encoder at once."""
    run = RunDir(imported)
    arch = run.architecture()
    assert arch.graph.node("output").config["tie_to"] == "tok_embeddings"
    assert arch.dims("classroom")["n_kv_heads"] == 4 and arch.dims("classroom")["context"] == 512
    model, tok = run.build_model(), run.tokenizer()
    ids = tok.encode("Zoo")
    assert ids == [1, 410, 469, 347]  # BOS, the dummy-prefix " ", "Z", "oo"
    out = model.generate(torch.tensor([ids]), 60, temperature=0, stop_token=1)
    assert tok.decode(out[0].tolist()).startswith(KNOWN)


def test_cli_generate_prints_what_run_c_prints(imported, l2c_files, capsys):
    ref = RunC((l2c_files / "stories260K.bin").read_bytes(), (l2c_files / "tok512.bin").read_bytes())
    n_new = 40
    # run's -n counts the positions it feeds: BOS, " ", "Z", "oo" and then all new tokens but the last
    want = ref.generate("Zoo", 4 + n_new - 1)
    assert want.decode().startswith(KNOWN[:100])
    code, out, err = cli(capsys, "generate", imported, "--prompt", "Zoo", "--temperature", "0", "--max-new-tokens", n_new)
    if "not available in this build" in err:
        pytest.skip("archstudio generate has not landed yet")
    assert code == 0, err
    assert out.encode() == want


def test_imported_run_is_inspectable(imported, tmp_path, capsys):
    import json
    code, _, err = cli(capsys, "inspect", imported, "--prompt", "Zoo was", "--out", tmp_path)
    assert code == 0, err
    data = json.loads((tmp_path / "inspect.json").read_text())
    assert data["tokens"] == ["<s>", " ", "Z", "oo", " was"]  # run.c's split, shown with its pieces
    assert len(data["attention"]) == 5 and len(data["attention"][0]) == 8  # 5 layers × 8 query heads


def test_import_then_export_is_byte_identical(imported, l2c_files, tmp_path):
    r = run_cli("export", str(imported), "--format", "llama2c", "--out", str(tmp_path / "x"), "--prompt", "Zoo",
                "--max-new-tokens", "40")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "x" / "model.bin").read_bytes() == (l2c_files / "stories260K.bin").read_bytes()
    assert (tmp_path / "x" / "tokenizer.bin").read_bytes() == (l2c_files / "tok512.bin").read_bytes()
    assert f"./run {tmp_path / 'x' / 'model.bin'} -z {tmp_path / 'x' / 'tokenizer.bin'} -t 0 -n 43 -i Zoo" in r.stdout
    assert "--max-new-tokens 40" in r.stdout


def test_q8_0_export_of_stories260k(imported, l2c_files, tmp_path):
    res = export_run(imported, tmp_path, quantize="q8_0")
    assert res.group_size == 4 and res.command.startswith("./runq ")
    q = read_model(res.model_path)
    ref = read_model(l2c_files / "stories260K.bin")
    for k, w in ref.tensors.items():
        g = np.abs(w.reshape(-1, 4)).max(axis=1, keepdims=True)
        assert (np.abs(q.tensors[k] - w).reshape(-1, 4) <= g / 254 * 1.0001 + 1e-9).all(), k
    # runq (independent re-implementation, activations quantized too) still writes the known text
    runq = RunQ(res.model_path.read_bytes(), res.tokenizer_path.read_bytes())
    assert runq.generate("Zoo", 60).decode().startswith(KNOWN)
    runc = RunC((l2c_files / "stories260K.bin").read_bytes(), (l2c_files / "tok512.bin").read_bytes())
    runq.reset()
    runc.reset()
    toks = [1, 410, 469, 347, 286, 261, 376]
    a = np.stack([runc.forward(t, p) for p, t in enumerate(toks)])
    b = np.stack([runq.forward(t, p) for p, t in enumerate(toks)])
    assert np.abs(a - b).max() < 0.02 * np.abs(a).max() and (a.argmax(1) == b.argmax(1)).all()
    with pytest.raises(Exception, match="group size 64 must divide both dim 64 and hidden_dim 172"):
        export_run(imported, tmp_path / "bad", quantize="q8_0", group_size=64)
    assert not (tmp_path / "bad").exists()


# ------------------------------------------------------------------ models built here
def make_run(tmp_path, l2c_files, tied: bool, name="run"):
    """A LLaMA-2 graph (GQA 8/2, untied or tied) with random weights and tok512, saved as a run."""
    arch = load_preset("2023-07-llama-2")
    arch.scales["classroom"].update(vocab_size=512, dim=64, hidden_dim=160, n_layers=2, context=64)
    if tied:
        arch.graph.set_config("output", "tie_to", "tok_embeddings")
    torch.manual_seed(0)
    model = compile_architecture(arch).eval()
    with torch.no_grad():
        for n, p in model.named_parameters():
            if n.endswith("norm.weight"):
                p.add_(torch.randn_like(p) * 0.3)  # not all ones: proves each gain lands in its place
            else:
                p.mul_(5)  # larger weights: logits far from uniform
    run = RunDir(tmp_path / name)
    run.initialize(arch, "2023-07-llama-2", Llama2cTokenizer.from_file(l2c_files / "tok512.bin"))
    run.save_checkpoint({"model": model.state_dict()}, step=1)
    return run, model


@pytest.mark.parametrize("tied", [False, True])
def test_export_reads_back_and_run_c_computes_the_same_logits(tmp_path, l2c_files, tied):
    run, model = make_run(tmp_path, l2c_files, tied)
    res = export_run(run.path, tmp_path / "out")
    m = read_model(res.model_path)
    assert m.header.shared_classifier is tied and m.header.n_kv_heads == 2 and m.header.seq_len == 64
    sd = model.state_dict()
    for k, t in m.tensors.items():
        np.testing.assert_array_equal(t, sd[k].numpy(), err_msg=k)
    ref = RunC(res.model_path.read_bytes(), res.tokenizer_path.read_bytes())
    ref.reset()
    toks = [1, 410, 469, 347, 300, 260, 5, 511, 400, 1, 42]
    ours = model(torch.tensor([toks]))[0][0].detach().numpy()
    theirs = np.stack([ref.forward(t, pos) for pos, t in enumerate(toks)])
    np.testing.assert_allclose(theirs, ours, atol=2e-4, rtol=1e-4)
    assert np.abs(ours).max() > 1  # the comparison is not between near-zero logits


def test_q8_0_logits_stay_close(tmp_path, l2c_files):
    run, model = make_run(tmp_path, l2c_files, tied=False)
    res = export_run(run.path, tmp_path / "q", quantize="q8_0")
    m = read_model(res.model_path)
    q = compile_architecture(run.architecture()).eval()
    q.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in m.tensors.items()})
    x = torch.tensor([[1, 410, 469, 347, 300, 260]])
    with torch.no_grad():
        a, b = model(x)[0], q(x)[0]
    assert float((a - b).abs().max()) < 0.05 * float(a.abs().max())


def test_export_refuses_incompatible_runs_listing_every_reason(tmp_path, l2c_files, capsys):
    arch = load_preset("2019-02-gpt-2")
    arch.scales["classroom"].update(vocab_size=512, dim=32, n_layers=1, n_heads=2, hidden_dim=64, context=32)
    run = RunDir(tmp_path / "gpt2")
    run.initialize(arch, "2019-02-gpt-2", Llama2cTokenizer.from_file(l2c_files / "tok512.bin"))
    run.save_checkpoint({"model": compile_architecture(arch).state_dict()}, step=0)
    code, _, err = cli(capsys, "export", run.path, "--out", tmp_path / "out")
    assert code == 2 and "Traceback" not in err
    lines = err.strip().splitlines()
    assert re.search(r"cannot run in llama2.c \(\d+ reasons\)", lines[0])
    assert len(lines) >= 7 and any(li.strip().startswith("feed_forward:") for li in lines)
    assert not (tmp_path / "out").exists()


def test_import_refuses_bad_inputs_with_one_line(tmp_path, l2c_files, imported, capsys):
    model = (l2c_files / "stories260K.bin").read_bytes()
    (tmp_path / "short.bin").write_bytes(model[:-100])
    cases = [
        (tmp_path / "short.bin", l2c_files / "tok512.bin", "truncated"),
        (l2c_files / "stories260K.bin", l2c_files / "tokenizer.bin", "32000 tokens but the model's vocab_size is 512"),
        (tmp_path / "missing.bin", l2c_files / "tok512.bin", "cannot read"),
    ]
    for mb, tb, pattern in cases:
        code, _, err = cli(capsys, "import-llama2c", mb, "--tokenizer", tb, "--out", tmp_path / "r")
        assert code == 2 and pattern in err, err
        assert len(err.strip().splitlines()) == 1 and not (tmp_path / "r").exists()
    (tmp_path / "afile").write_text("x")
    code, _, err = cli(capsys, "import-llama2c", l2c_files / "stories260K.bin", "--tokenizer", l2c_files / "tok512.bin",
                       "--out", tmp_path / "afile")
    assert code == 2 and "is a file" in err
    code, _, err = cli(capsys, "export", imported, "--out", tmp_path / "afile")
    assert code == 2 and "is a file" in err and (tmp_path / "afile").read_text() == "x"
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    code, _, err = cli(capsys, "import-llama2c", l2c_files / "stories260K.bin", "--tokenizer", l2c_files / "tok512.bin",
                       "--out", tmp_path / "full")
    assert code == 2 and "not empty" in err


def test_cli_import_prints_the_model(tmp_path, l2c_files, capsys):
    (tmp_path / "r").mkdir()  # an existing empty folder is fine
    code, out, err = cli(capsys, "import-llama2c", l2c_files / "stories260K.bin", "--tokenizer",
                         l2c_files / "tok512.bin", "--out", tmp_path / "r")
    assert code == 0, err
    assert "dim 64, hidden 172, 5 layers, 8 heads (4 kv), vocab 512, seq_len 512, tied classifier" in out
    assert RunDir(tmp_path / "r").read_config()["tokenizer"] == {"kind": "llama2c", "vocab_size": 512}
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp folder left behind


@pytest.mark.skipif(not os.environ.get("LLAMA2C_RUN"), reason="set LLAMA2C_RUN to a compiled llama2.c run binary")
def test_real_run_binary_prints_the_same_text(imported, tmp_path):
    res = export_run(imported, tmp_path, prompt="Zoo", max_new_tokens=40)
    argv = [os.environ["LLAMA2C_RUN"], str(res.model_path), "-z", str(res.tokenizer_path), "-t", "0",
            "-n", str(res.steps), "-i", "Zoo"]
    real = subprocess.run(argv, capture_output=True, timeout=120)
    assert real.returncode == 0, real.stderr
    ours = run_cli("generate", str(imported), "--prompt", "Zoo", "--temperature", "0", "--max-new-tokens", "40")
    assert real.stdout == ours.stdout.encode()


@pytest.mark.slow
def test_a_run_trained_here_prints_the_same_text_in_run_c(tmp_path, capsys):
    """archstudio train recipe-llama2c-stories260k → export → (independent run.c) == archstudio generate."""
    run = tmp_path / "run"
    code, _, err = cli(capsys, "train", "recipe-llama2c-stories260k", "--data", "starter", "--steps", "8",
                       "--batch-size", "4", "--context", "64", "--threads", "1", "--out", run)
    assert code == 0, err
    prompt, n_new = "Once upon a time", 20
    res = export_run(run, tmp_path / "out", prompt=prompt, max_new_tokens=n_new)
    assert res.new_tokens == n_new and res.steps == len(res.prompt_tokens) + n_new - 1
    capped = export_run(run, tmp_path / "capped", prompt=prompt, max_new_tokens=500)
    assert capped.steps == 64 and any("capped" in n for n in capped.notes)  # trained with --context 64
    from studio.core.tokenizers.llama2c_bin import layout_problems
    exported = Llama2cTokenizer.from_file(res.tokenizer_path, 512)  # parses: lengths, max_token_length, count
    assert layout_problems(exported.pieces) == []  # §6: ids 0/1/2, bytes at 3..258, " ", no empty/duplicate pieces
    assert exported.pieces[1] == b"\n<s>\n" and exported.pieces[2] == b"\n</s>\n"  # as llama2.c's tokenizer.py
    ref = RunC(res.model_path.read_bytes(), res.tokenizer_path.read_bytes())
    code, out, err = cli(capsys, "generate", run, "--prompt", prompt, "--temperature", "0", "--max-new-tokens", n_new)
    assert code == 0, err
    assert out.encode() == ref.generate(prompt, res.steps)
    # the same weights give the same logits (run.c's tied classifier included)
    model = RunDir(run).build_model()
    toks = res.prompt_tokens + [5, 300, 42]
    ours = model(torch.tensor([toks]))[0][0].detach().numpy()
    ref.reset()
    np.testing.assert_allclose(np.stack([ref.forward(t, p) for p, t in enumerate(toks)]), ours, atol=2e-4, rtol=1e-4)
    # where the run's SentencePiece tokenizer and run.c's encoder split a prompt differently, export says so
    tok = RunDir(run).tokenizer()
    for p in ("a  b", "Lily was happy."):
        r = export_run(run, tmp_path / "out", prompt=p, max_new_tokens=n_new)
        differs = tok.encode(p) != Llama2cTokenizer.from_file(res.tokenizer_path).encode(p)
        assert bool(r.notes) == differs and all("split" in n for n in r.notes)


@pytest.mark.skipif(not os.environ.get("LLAMA2C_RUNQ"), reason="set LLAMA2C_RUNQ to a compiled llama2.c runq binary")
def test_real_runq_binary_matches_the_reimplementation(imported, tmp_path):
    res = export_run(imported, tmp_path, quantize="q8_0", prompt="Zoo", max_new_tokens=40)
    argv = [os.environ["LLAMA2C_RUNQ"], str(res.model_path), "-z", str(res.tokenizer_path), "-t", "0",
            "-n", str(res.steps), "-i", "Zoo"]
    real = subprocess.run(argv, capture_output=True, timeout=120)
    assert real.returncode == 0, real.stderr
    assert real.stdout == RunQ(res.model_path.read_bytes(), res.tokenizer_path.read_bytes()).generate("Zoo", res.steps)


def test_import_versions_1_and_2_and_untied_files(tmp_path, l2c_files):
    from studio.core.formats.llama2c import write_model
    src = read_model(l2c_files / "stories260K.bin")
    h = src.header
    write_model(tmp_path / "v1.bin", h, src.tensors, version=1)
    run1, _ = import_llama2c(tmp_path / "v1.bin", l2c_files / "tok512.bin", tmp_path / "r1")
    # v1 has no freq tables: export recomputes them exactly as llama2.c's export.py does
    assert export_run(run1, tmp_path / "e1").model_path.read_bytes() == (l2c_files / "stories260K.bin").read_bytes()
    write_model(tmp_path / "v2.bin", h, src.tensors, version=2)
    run2, _ = import_llama2c(tmp_path / "v2.bin", l2c_files / "tok512.bin", tmp_path / "r2")
    sd = RunDir(run2).load_checkpoint()["model"]
    q = read_model(tmp_path / "v2.bin")
    np.testing.assert_array_equal(sd["layers.4.feed_forward.w2.weight"].numpy(), q.tensors["layers.4.feed_forward.w2.weight"])
    untied = dict(src.tensors, **{"output.weight": src.tensors["tok_embeddings.weight"] * 0.5})
    h.shared_classifier = False
    write_model(tmp_path / "u.bin", h, untied)
    run3, _ = import_llama2c(tmp_path / "u.bin", l2c_files / "tok512.bin", tmp_path / "r3")
    assert "tie_to" not in RunDir(run3).architecture().graph.node("output").config
    assert export_run(run3, tmp_path / "e3").model_path.read_bytes() == (tmp_path / "u.bin").read_bytes()


def test_import_with_the_llama2_32k_tokenizer(tmp_path, l2c_files):
    from studio.core.formats.llama2c import Header, write_model
    from studio.core.formats.llama2c.format import expected_shapes
    h = Header(32, 64, 1, 4, 2, 32000, 16)
    rng = np.random.default_rng(0)
    write_model(tmp_path / "m.bin", h, {k: rng.standard_normal(s).astype(np.float32) * 0.02
                                        for k, s in expected_shapes(h).items()})
    run, warnings = import_llama2c(tmp_path / "m.bin", l2c_files / "tokenizer.bin", tmp_path / "r")
    assert warnings == []
    tok = RunDir(run).tokenizer()
    assert tok.vocab_size == 32000 and tok.encode("Once upon a time") == [1, 9038, 2501, 263, 931]
    assert (RunDir(run).tokenizer_dir / "tokenizer.bin").read_bytes() == (l2c_files / "tokenizer.bin").read_bytes()


def test_imported_model_trains_further_with_resume(shared_data, tmp_path):
    """An imported llama2.c model is trainable: --resume starts a fresh optimizer on new data."""
    import subprocess
    import sys
    from pathlib import Path
    root = Path(__file__).resolve().parents[2]
    run = tmp_path / "imp"
    cli = [sys.executable, "-m", "studio"]
    r = subprocess.run(cli + ["import-llama2c", str(shared_data / "llama2c" / "stories260K.bin"), "--tokenizer",
                              str(shared_data / "llama2c" / "tok512.bin"), "--out", str(run)],
                       capture_output=True, text=True, cwd=root)
    assert r.returncode == 0, r.stderr
    stories = tmp_path / "s.txt"
    stories.write_text("".join(f"Once upon a time a cat named Tom had {i} red balls.\n<|endoftext|>\n" for i in range(200)))
    r = subprocess.run(cli + ["train", "2023-07-llama-2", "--resume", "--out", str(run), "--data", str(stories),
                              "--steps", "3", "--batch-size", "2", "--threads", "1"],
                       capture_output=True, text=True, cwd=root, timeout=300)
    assert r.returncode == 0, r.stderr
    from studio.core.runs.rundir import RunDir
    rd = RunDir(run)
    assert rd.load_checkpoint()["step"] == 3 and rd.load_checkpoint()["optimizer"]
    assert rd.read_config()["data"]["source"] == str(stories.resolve())
