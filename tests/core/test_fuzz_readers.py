"""Issue 17: property-based fuzzing of every reader (hypothesis). Each reader, given mutated or
random input, either accepts it or raises a StudioError whose message is one line of bounded
length; nothing else (no TypeError, RecursionError, MemoryError, hang). Bounded for the default
run: derandomized, small example counts (≈ 30 s on two busy cores); bench/fuzz_campaign.py runs
the long campaign."""
from __future__ import annotations

import copy
import json
import os
import struct

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from studio.core import errors as E

FAST = settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "40")), deadline=None, derandomize=True,
                database=None, suppress_health_check=list(HealthCheck))


def one_line(fn, *args):
    """Run a reader; a StudioError must be one line. Returns the result or None."""
    try:
        return fn(*args)
    except E.StudioError as exc:
        msg = str(exc)
        assert "\n" not in msg, msg[:300]
        assert len(msg) < 2000, msg[:300]
        return None


# ----------------------------------------------------------------------------- strategies
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=True),
                    st.text(max_size=12), st.sampled_from(["$dim", "$nope", "0:2", "a -> b", "rmsnorm", ""]))
VALUES = st.recursive(SCALARS, lambda c: st.one_of(st.lists(c, max_size=4),
                                                   st.dictionaries(st.one_of(st.text(max_size=8), st.integers()), c,
                                                                   max_size=4)), max_leaves=12)


def _paths(d, prefix=()):
    """Every key path of a nested mapping/list (where a mutation may land)."""
    out = [prefix]
    if isinstance(d, dict):
        for k, v in d.items():
            out += _paths(v, prefix + (k,))
    elif isinstance(d, list):
        for i, v in enumerate(d[:6]):
            out += _paths(v, prefix + (i,))
    return out


def _set(d, path, value):
    if not path:
        return value
    cur = d
    for k in path[:-1]:
        cur = cur[k]
    cur[path[-1]] = value
    return d


@st.composite
def mutated_data(draw, base: dict):
    """base with 1-3 values replaced by random (often wrong-typed) values, or keys dropped."""
    d = copy.deepcopy(base)
    paths = _paths(d)
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(d) if isinstance(d, dict) else [()]
        path = draw(st.sampled_from(paths))
        if path and draw(st.booleans()) and isinstance(_get(d, path[:-1]), dict):
            _get(d, path[:-1]).pop(path[-1], None)
        else:
            d = _set(d, path, draw(VALUES))
    return d


def _get(d, path):
    for k in path:
        d = d[k]
    return d


@st.composite
def mutated_bytes(draw, base: bytes, max_edits: int = 6):
    b = bytearray(base)
    for _ in range(draw(st.integers(1, max_edits))):
        op = draw(st.sampled_from(["flip", "set", "insert", "delete", "truncate"]))
        i = draw(st.integers(0, max(0, len(b) - 1)))
        if op == "flip" and b:
            b[i] ^= 1 << draw(st.integers(0, 7))
        elif op == "set" and b:
            b[i] = draw(st.integers(0, 255))
        elif op == "insert":
            b[i:i] = draw(st.binary(min_size=1, max_size=8))
        elif op == "delete" and b:
            del b[i:i + draw(st.integers(1, 8))]
        elif op == "truncate":
            del b[i:]
    return bytes(b)


# ----------------------------------------------------------------------------- architecture / presets
def _preset_text(pid):
    from importlib import resources
    return resources.files("presets").joinpath(f"{pid}.yaml").read_bytes()


RAW = yaml.safe_load(_preset_text("recipe-microgpt"))


def _use_architecture(arch):
    from studio.core.model.info import model_info
    from studio.core.model.validate import validate
    for sc in list(arch.scales)[:2]:
        one_line(validate, arch, sc)
        one_line(model_info, arch, sc)


@FAST
@given(mutated_data(RAW))
def test_fuzz_architecture_fields(tmp_path_factory, data):
    from studio.core.files.model_spec import load_model
    p = tmp_path_factory.getbasetemp() / "fuzz-arch.yaml"
    p.write_text(yaml.safe_dump(data, allow_unicode=True))
    arch = one_line(load_model, str(p))
    if arch is not None:
        _use_architecture(arch)


@FAST
@given(mutated_bytes(_preset_text("2023-07-llama-2")))
def test_fuzz_architecture_bytes(tmp_path_factory, data):
    from studio.core.files.model_spec import load_model
    p = tmp_path_factory.getbasetemp() / "fuzz-arch-bytes.yaml"
    p.write_bytes(data)
    arch = one_line(load_model, str(p))
    if arch is not None:
        _use_architecture(arch)


# ----------------------------------------------------------------------------- projects / recovery
@pytest.fixture(scope="module")
def project_data():
    from studio.core.files.presets import load_preset
    from studio.core.files.project import Project
    return yaml.safe_load(Project(load_preset("recipe-microgpt"), name="p").dumps(recovery_of=None, saved_at=1.0))


@FAST
@given(st.data())
def test_fuzz_project_and_recovery(tmp_path_factory, project_data, data):
    from studio.core.files.project import loads_project, recoveries
    d = data.draw(mutated_data(project_data))
    text = yaml.safe_dump(d, allow_unicode=True)
    one_line(loads_project, text)
    folder = tmp_path_factory.mktemp("rec")
    (folder / "00000000000000aa.recovery.yaml").write_text(text)
    for r in recoveries(folder):  # never raises; what it offers must open
        assert r.path.is_file()


# ----------------------------------------------------------------------------- llama2.c files
def _v1_file() -> bytes:
    from studio.core.formats.llama2c.format import Header, encode_v1, expected_shapes
    h = Header(16, 32, 2, 2, 2, 300, 8, True, 1)
    rng = np.random.default_rng(0)
    return encode_v1(h, {k: rng.standard_normal(s).astype(np.float32) * 0.1 for k, s in expected_shapes(h).items()})


V1 = _v1_file()


@FAST
@given(st.one_of(mutated_bytes(V1), mutated_bytes(V1[:256] + b"\0" * 64, 3), st.binary(max_size=300)))
def test_fuzz_llama2c_model_bin(data):
    from studio.core.formats.llama2c.reader import read_model
    one_line(read_model, "model.bin", data)


@FAST
@given(st.data())
def test_fuzz_llama2c_header_fields(tmp_path_factory, data):
    from studio.core.formats.llama2c.reader import read_model
    vals = [data.draw(st.integers(-(2**31), 2**31 - 1)) if data.draw(st.booleans()) else v
            for v in (16, 32, 2, 2, 2, 300, 8)]
    head = struct.pack("<Ii7iB", 0x616B3432, data.draw(st.sampled_from([1, 2])), *vals, 1) + struct.pack("<i", 16)
    p = tmp_path_factory.getbasetemp() / "fuzz-model.bin"
    p.write_bytes(head + V1[len(head):])
    one_line(read_model, p)


def _tok_bin() -> bytes:
    out = [struct.pack("<I", 6)]
    for i, piece in enumerate([b"<unk>", b"\n<s>\n", b"\n</s>\n", b" ", b"a", b"ab"]):
        out.append(struct.pack("<fi", float(-i), len(piece)) + piece)
    return b"".join(out)


@FAST
@given(st.one_of(mutated_bytes(_tok_bin()), st.binary(max_size=200)))
def test_fuzz_tokenizer_bin(data):
    from studio.core.tokenizers.llama2c_bin import Llama2cTokenizer
    tok = one_line(Llama2cTokenizer.from_bytes, data, "tokenizer.bin")
    if tok is not None and b" " in tok._lookup:
        one_line(tok.encode, "ab a")


# ----------------------------------------------------------------------------- run folders
@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    import torch

    from studio.core.model.compiler import compile_architecture
    from studio.core.files.presets import load_preset
    from studio.core.runs.rundir import RunDir
    from studio.core.tokenizers.byte_level import ByteTokenizer
    arch = load_preset("recipe-microgpt")
    arch.scales["classroom"].update(dim=16, n_layers=1, n_heads=2, hidden_dim=32, context=16)
    run = RunDir(tmp_path_factory.mktemp("fuzzrun") / "run")
    run.initialize(arch, "recipe-microgpt", ByteTokenizer(), {"steps": 4, "lr": 0.003, "seed": 1})
    torch.manual_seed(0)
    run.save_checkpoint({"model": compile_architecture(arch).state_dict(), "optimizer": None}, step=4)
    return run


@FAST
@given(st.data())
def test_fuzz_run_yaml(run_folder, data):
    from studio.core.runs.rundir import RunDir
    base = yaml.safe_load(run_folder.config_path.read_text())
    d = data.draw(mutated_data(base))
    folder = run_folder.path.parent / "mut"
    folder.mkdir(exist_ok=True)
    for sub in ("tokenizer", "checkpoints"):
        if not (folder / sub).exists():
            os.symlink(run_folder.path / sub, folder / sub)
    (folder / "run.yaml").write_text(yaml.safe_dump(d, allow_unicode=True))
    r = RunDir(folder)
    one_line(r.tokenizer)
    one_line(r.build_model)


@FAST
@given(st.data())
def test_fuzz_checkpoint_bytes(run_folder, tmp_path_factory, data):
    from studio.core.runs.checkpoints import read_checkpoint
    raw = run_folder.checkpoint_path(None).read_bytes()
    p = tmp_path_factory.getbasetemp() / "fuzz.pt"
    p.write_bytes(data.draw(mutated_bytes(raw, 3)))
    one_line(read_checkpoint, p)


@FAST
@given(st.lists(st.one_of(st.binary(max_size=40), VALUES.map(lambda v: json.dumps(v, default=str).encode())),
                max_size=8))
def test_fuzz_metrics_jsonl(tmp_path_factory, lines):
    from studio.core.runs.metrics import read_metrics, truncate_metrics
    from studio.core.training.history import MetricsHistory
    p = tmp_path_factory.getbasetemp() / "metrics.jsonl"
    p.write_bytes(b"\n".join(lines))
    h = MetricsHistory(64)
    for rec in read_metrics(p).curve:  # what the GUI's overlay does with them
        h.add_record(rec)
    truncate_metrics(p, 3)


@FAST
@given(st.one_of(VALUES.map(lambda v: json.dumps(v, default=str).encode()), st.binary(max_size=80)),
       st.sampled_from([".json", ".jsonl", ".txt"]))
def test_fuzz_training_data(tmp_path_factory, data, suffix):
    from studio.core.data.sources import read_stories
    p = tmp_path_factory.getbasetemp() / f"stories{suffix}"
    p.write_bytes(data)
    one_line(read_stories, p)


@FAST
@given(VALUES)
def test_fuzz_yaml_and_json_text(value):
    from studio.core.files.schema import load_json
    from studio.core.files.yamlio import parse_yaml_text
    text = json.dumps(value, default=str)
    one_line(load_json, text, "x.json")
    one_line(parse_yaml_text, text, "x.yaml")
    one_line(parse_yaml_text, text[: len(text) // 2] + "\0" * (len(text) % 2), "x.yaml")

