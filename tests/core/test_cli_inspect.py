"""archstudio inspect RUN_DIR --prompt TEXT --out DIR (CLI.md contract)."""
import json
import struct
import zlib

import numpy as np
import pytest

from studio.core.model.compiler import compile_architecture
from studio.core.runs.rundir import RunDir
from studio.core.tokenizers.byte_level import ByteTokenizer
from conftest import run_cli
from tests.core.test_inspection import arch_of, moe_mla_arch

PROMPT = "The cat sat."
ONE_THREAD = {"OMP_NUM_THREADS": "1"}  # tiny models: extra threads only contend on the shared box


def make_run(tmp_path, arch, name="run"):
    run = RunDir(tmp_path / name)
    run.initialize(arch, arch.id, ByteTokenizer(), {})
    run.save_checkpoint({"model": compile_architecture(arch).state_dict()}, step=0)
    return run


def png_size(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    w, h = struct.unpack(">II", data[16:24])
    return w, h


def test_inspect_llama2_writes_json_and_attention_png(tmp_path):
    run = make_run(tmp_path, arch_of())
    out = tmp_path / "out"
    r = run_cli("inspect", str(run.path), "--prompt", PROMPT, "--out", str(out), env=ONE_THREAD)
    assert r.returncode == 0, r.stderr
    d = json.loads((out / "inspect.json").read_text(encoding="utf-8"))
    T = len(PROMPT) + 1  # byte tokens + BOS
    assert d["tokens"][:4] == ["<s>", "T", "h", "e"] and len(d["tokens"]) == T
    assert len(d["attention"]) == 4 and all(len(layer) == 8 for layer in d["attention"])
    for layer in d["attention"]:
        for head in layer:
            a = np.array(head)
            assert a.shape == (T, T)
            np.testing.assert_allclose(a.sum(1), 1.0, atol=1e-4)
            assert np.triu(a, 1).max() == 0
    assert d["routing"] == [] and d["expert_counts"] == []
    assert d["attention_layers"][0]["groups"] == [[0, 1, 2, 3], [4, 5, 6, 7]]
    w, h = png_size(out / "attention.png")
    assert w > 800 and h > 600
    assert not (out / "routing.png").exists()
    assert str(out / "attention.png") in r.stdout


def test_inspect_moe_mla_writes_routing(tmp_path):
    run = make_run(tmp_path, moe_mla_arch())
    out = tmp_path / "out"
    r = run_cli("inspect", str(run.path), "--prompt", PROMPT, "--out", str(out), "--theme", "dark", env=ONE_THREAD)
    assert r.returncode == 0, r.stderr
    d = json.loads((out / "inspect.json").read_text(encoding="utf-8"))
    T = len(d["tokens"])
    assert len(d["routing"]) == 3 and all(len(layer) == T for layer in d["routing"])
    for layer, counts in zip(d["routing"], d["expert_counts"]):
        assert sum(counts) == 2 * T and len(counts) == 8
        chosen = np.bincount([e for tok in layer for e, _ in tok], minlength=8)
        assert chosen.tolist() == counts
    assert [len(x) for x in d["attention"]] == [4, 4, 8, 8]  # MLA layers 0-1, GQA layers 2-3
    assert png_size(out / "routing.png")[0] > 800


def test_inspect_encoder_decoder_with_source(tmp_path):
    run = make_run(tmp_path, arch_of("2017-06-transformer"))
    out = tmp_path / "out"
    r = run_cli("inspect", str(run.path), "--prompt", PROMPT, "--source", "Die Katze.", "--out", str(out),
                env=ONE_THREAD)
    assert r.returncode == 0, r.stderr
    d = json.loads((out / "inspect.json").read_text(encoding="utf-8"))
    T, S = len(PROMPT) + 1, len("Die Katze.") + 1
    shapes = [(x["kind"], x["queries"], x["keys"], np.array(a).shape) for x, a in zip(d["attention_layers"], d["attention"])]
    assert ("attention", "source", "source", (4, S, S)) in shapes
    assert ("cross_attention", "tokens", "source", (4, T, S)) in shapes
    assert ("attention", "tokens", "tokens", (4, T, T)) in shapes


def test_inspect_bad_input_is_one_line(tmp_path):
    r = run_cli("inspect", str(tmp_path / "nope"), "--prompt", "x", "--out", str(tmp_path / "o"), env=ONE_THREAD)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "no such run folder" in r.stderr
    run = make_run(tmp_path, arch_of())
    r = run_cli("inspect", str(run.path), "--prompt", "x" * 300, "--out", str(tmp_path / "o"), env=ONE_THREAD)
    assert r.returncode == 2 and "at most 256" in r.stderr and not (tmp_path / "o" / "inspect.json").exists()
    r = run_cli("inspect", str(run.path), "--prompt", "x", "--source", "y", "--out", str(tmp_path / "o"), env=ONE_THREAD)
    assert r.returncode == 2 and "encoder-decoder" in r.stderr


def test_without_qt_plain_heatmaps_are_written(tmp_path):
    fake = tmp_path / "fake"
    (fake / "PySide6").mkdir(parents=True)
    (fake / "PySide6" / "__init__.py").write_text("raise ImportError('libGL.so.1: cannot open shared object file')\n")
    run = make_run(tmp_path, moe_mla_arch())
    out = tmp_path / "out"
    r = run_cli("inspect", str(run.path), "--prompt", PROMPT, "--out", str(out), env={"PYTHONPATH": str(fake), **ONE_THREAD})
    assert r.returncode == 0, r.stderr
    assert "Qt cannot start" in r.stderr and "without labels" in r.stderr
    for name in ("attention.png", "routing.png"):
        data = (out / name).read_bytes()
        w, h = png_size(out / name)
        idat = data[data.index(b"IDAT") + 4:data.index(b"IEND") - 8]
        raw = zlib.decompress(idat)
        assert len(raw) == h * (1 + 3 * w)  # every row: filter byte + RGB
    assert json.loads((out / "inspect.json").read_text())["expert_counts"]


@pytest.mark.parametrize("gamma", [1.0, 0.5])
def test_colour_table_is_perceptually_ordered(gamma):
    from studio.core.inspect.inspect_render import _srgb_to_lab, colorize, viridis_table
    t = viridis_table()
    L = _srgb_to_lab(t.astype(float))[:, 0]
    assert L[-1] - L[0] > 60 and np.all(np.diff(L) > -0.5)  # lightness rises: readable in greyscale
    assert tuple(t[0]) == (68, 1, 84) and tuple(t[-1]) == (253, 231, 37)
    rgb = colorize(np.array([0.0, np.nan, 1.0]), gamma=gamma, nan_rgb=(1, 2, 3))
    assert rgb[1].tolist() == [1, 2, 3] and rgb[2].tolist() == [253, 231, 37]


def test_inspect_imported_llama2c_stories260k(tmp_path, shared_data):
    try:
        from studio.cli.export import cmd_import  # noqa: F401  (lands with the export/import issue)
    except ImportError:
        pytest.skip("import-llama2c is not available in this build")
    model_bin = shared_data / "llama2c" / "stories260K.bin"
    tok_bin = shared_data / "llama2c" / "tok512.bin"
    if not (model_bin.is_file() and tok_bin.is_file()):
        pytest.skip(f"needs {model_bin} and {tok_bin}")
    r = run_cli("import-llama2c", str(model_bin), "--tokenizer", str(tok_bin), "--out", str(tmp_path / "run"))
    assert r.returncode == 0, r.stderr
    out = tmp_path / "out"
    r = run_cli("inspect", str(tmp_path / "run"), "--prompt", "Once upon a time, there was a little girl named Lily.",
                "--out", str(out), env=ONE_THREAD)
    assert r.returncode == 0, r.stderr
    d = json.loads((out / "inspect.json").read_text(encoding="utf-8"))
    assert d["tokens"][0] == "<s>" and any("Lily" in t for t in d["tokens"])  # real BPE pieces, not bytes
    assert len(d["attention"]) == 5 and all(len(layer) == 8 for layer in d["attention"])
    assert d["attention_layers"][0]["groups"] == [[0, 1], [2, 3], [4, 5], [6, 7]]  # 8 heads, 4 kv heads
    w = np.array(d["attention"])
    np.testing.assert_allclose(w.sum(-1), 1.0, atol=1e-4)
    # a trained model has sharp heads (fresh weights give ~log2(T) bits everywhere)
    assert min(min(x["entropy_bits"]) for x in d["attention_layers"]) < 1.0
    assert png_size(out / "attention.png")[1] > 600
