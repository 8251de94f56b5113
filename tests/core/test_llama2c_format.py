"""model.bin writers and the validating reader: exact sizes, round trips, Q8_0 rules, malformed files."""
import struct

import numpy as np
import pytest

from studio.core import errors as E
from studio.core.formats.llama2c import (
    MAGIC, Header, encode_v0, encode_v1, encode_v2, freq_cis_tables, pick_group_size, quantize_q80, read_model,
)
from studio.core.formats.llama2c.format import expected_shapes


def random_model(h: Header, seed=0):
    rng = np.random.default_rng(seed)
    return {k: rng.standard_normal(s).astype(np.float32) * 0.1 for k, s in expected_shapes(h).items()}


def v0_size(d, hd, L, nh, nkv, V, S, tied):
    hs = d // nh
    kvd = nkv * hs
    return 28 + 4 * (V * d + 2 * L * d + 2 * L * d * d + 2 * L * kvd * d + 3 * L * hd * d + d + S * hs + (0 if tied else V * d))


def test_size_formula_matches_the_notes_examples():
    assert v0_size(288, 768, 6, 6, 6, 32000, 256, True) == 60_816_028  # stories15M
    assert v0_size(64, 192, 2, 4, 2, 425, 64, True) == 507_420  # llama2.c's self-test model


@pytest.mark.parametrize("tied", [True, False])
def test_v0_header_size_and_round_trip(tmp_path, tied):
    h = Header(64, 172, 2, 8, 4, 300, 32, shared_classifier=tied)
    t = random_model(h)
    data = encode_v0(h, t)
    assert len(data) == v0_size(64, 172, 2, 8, 4, 300, 32, tied)
    assert struct.unpack("<7i", data[:28]) == (64, 172, 2, 8, 4, 300 if tied else -300, 32)
    m = read_model(tmp_path / "m.bin", data)
    assert m.header.shared_classifier is tied and m.header.version == 0
    assert set(m.tensors) == set(t)
    for k in t:
        np.testing.assert_array_equal(m.tensors[k], t[k])
    cos, sin = freq_cis_tables(8, 32)
    assert m.freq_cis == (cos.tobytes(), sin.tobytes())
    # the layout is grouped by kind: wq of layer 1 follows wq of layer 0 directly
    off = 28 + 4 * (300 * 64 + 2 * 64)
    np.testing.assert_array_equal(np.frombuffer(data, "<f4", 64 * 64, off + 4 * 64 * 64).reshape(64, 64),
                                  t["layers.1.attention.wq.weight"])


def test_v0_keeps_given_freq_table_bytes():
    h = Header(16, 32, 1, 2, 2, 260, 8)
    n = 8 * 4
    freq = (bytes(range(4 * n // 2)) * 2, bytes(4 * n))
    freq = (freq[0][: 4 * n], freq[1][: 4 * n])
    data = encode_v0(h, random_model(h), freq)
    assert freq[0] + freq[1] in data


@pytest.mark.parametrize("tied", [True, False])
def test_v1_round_trip(tmp_path, tied):
    h = Header(32, 64, 2, 4, 2, 270, 16, shared_classifier=tied)
    t = random_model(h)
    data = encode_v1(h, t)
    assert struct.unpack_from("<Ii", data) == (MAGIC, 1) and data[36] == int(tied)
    assert len(data) == 256 + 4 * sum(int(np.prod(s)) for s in expected_shapes(h).values())
    m = read_model(tmp_path / "m.bin", data)
    assert m.header.version == 1 and m.freq_cis is None
    for k in t:
        np.testing.assert_array_equal(m.tensors[k], t[k])


@pytest.mark.parametrize("tied", [True, False])
def test_v2_q8_0_within_bounds(tmp_path, tied):
    h = Header(64, 172, 2, 8, 4, 300, 32, shared_classifier=tied)
    t = random_model(h)
    data, worst = encode_v2(h, t)
    assert h.group_size == 4  # gcd(64, 172) = 4: llama2.c's export.py would write 64 here
    assert struct.unpack_from("<Ii7iBi", data) == (MAGIC, 2, 64, 172, 2, 8, 4, 300, 32, int(tied), 4)
    m = read_model(tmp_path / "q.bin", data)
    assert m.header.group_size == 4
    for k, w in t.items():
        d = m.tensors[k]
        if k.endswith("norm.weight"):
            np.testing.assert_array_equal(d, w)  # norms stay fp32
            continue
        g = np.abs(w.reshape(-1, 4)).max(axis=1, keepdims=True)
        assert (np.abs(d - w).reshape(-1, 4) <= g / 254 * 1.0001 + 1e-9).all(), k  # half a step of max/127
        q, s = m.quantized[k]
        assert q.dtype == np.int8 and np.abs(q.astype(int)).max() == 127 and s.size == w.size // 4
    assert 0 < worst < 0.01


def test_group_size_rules():
    assert pick_group_size(288, 768) == 48  # gcd 96: its largest divisor ≤ 64
    assert pick_group_size(64, 172) == 4
    assert pick_group_size(4096, 11008) == 64
    with pytest.raises(E.StudioError, match="group size 64 must divide both dim 64 and hidden_dim 172"):
        pick_group_size(64, 172, 64)
    with pytest.raises(E.StudioError, match="no Q8_0 group size > 1"):
        pick_group_size(63, 64)


def test_quantize_all_zero_group_and_extremes():
    w = np.array([0, 0, 0, 0, 1, -2, 0.5, 2], np.float32)
    q, s, err = quantize_q80(w, 4)
    assert list(s) == [0.0, pytest.approx(2 / 127)] and list(q[:4]) == [0, 0, 0, 0]
    assert q[5] == -127 and q[7] == 127 and err <= 1 / 127


# ------------------------------------------------------------------ malformed files
@pytest.fixture
def good():
    h = Header(32, 64, 2, 4, 2, 270, 16)
    return h, random_model(h)


def patch_int(data, off, value):
    b = bytearray(data)
    b[off:off + 4] = struct.pack("<i", value)
    return bytes(b)


def expect(tmp_path, data, pattern):
    with pytest.raises(E.LoadError, match=pattern) as ei:
        read_model(tmp_path / "x.bin", data)
    msg = str(ei.value)
    assert "\n" not in msg and msg.startswith(str(tmp_path / "x.bin"))
    return msg


def test_malformed_files_give_one_clear_line(tmp_path, good):
    h, t = good
    v0 = encode_v0(h, t)
    expect(tmp_path, v0[:10], "too short for a llama2.c header")
    expect(tmp_path, v0[:-4], "truncated: .* needs")
    expect(tmp_path, v0 + b"\0" * 8, "too long")
    expect(tmp_path, patch_int(v0, 8, 0), "non-positive n_layers 0")
    expect(tmp_path, patch_int(v0, 0, -64), "non-positive dim -64")
    expect(tmp_path, patch_int(v0, 20, 0), "vocab_size 0")
    expect(tmp_path, patch_int(v0, 16, 3), "n_heads 4 is not a multiple of n_kv_heads 3")
    expect(tmp_path, patch_int(v0, 12, 5), "dim 32 is not divisible by n_heads 5")
    expect(tmp_path, patch_int(v0, 20, -270), "sign of vocab_size is wrong")
    expect(tmp_path, b"24kb" + v0[4:], "neither the llama2.c magic")
    v2, _ = encode_v2(Header(32, 64, 2, 4, 2, 270, 16), t)
    expect(tmp_path, patch_int(v2, 4, 3), "magic but version 3")
    expect(tmp_path, patch_int(v2, 37, 5), "group size 5 does not divide")
    expect(tmp_path, v2[:200], "shorter than the 256-byte")
    expect(tmp_path, v2[:-1], "truncated")
    bad = bytearray(v2)
    bad[36] = 7
    expect(tmp_path, bytes(bad), "shared_classifier byte is 7")
    nan = bytearray(v0)
    nan[28:32] = struct.pack("<f", float("nan"))
    expect(tmp_path, bytes(nan), "tok_embeddings.weight contains NaN")


def test_misplaced_freq_tables_are_detected(tmp_path, good):
    """Bytes at the tables' offset that are not cos/sin (what a shifted tensor leaves there) are reported."""
    h, t = good
    data = encode_v0(h, t)
    b = bytearray(data)
    cos_off = len(data) - 2 * 4 * (16 * 8 // 2)  # tied: the two S × hs/2 tables end the file
    b[cos_off:cos_off + 8] = struct.pack("<ff", 0.25, 0.5)
    expect(tmp_path, bytes(b), "not the RoPE cos/sin tables")


def test_export_py_style_group_size_is_refused_by_the_reader(tmp_path):
    """llama2.c's export.py only checks dim: for stories260K's shape it writes GS 64, which runq misreads."""
    from studio.core.formats.llama2c.format import MATRIX_KINDS, _header_v12
    h = Header(64, 172, 1, 8, 4, 260, 16, group_size=64)
    t = random_model(h)
    parts = [_header_v12(h, 2), t["layers.0.attention_norm.weight"].tobytes(), t["layers.0.ffn_norm.weight"].tobytes(),
             t["norm.weight"].tobytes()]
    for name in ["tok_embeddings.weight"] + [f"layers.0.{n}" for n, _ in MATRIX_KINDS]:
        q, sc, _ = quantize_q80(t[name], 64)  # every tensor's size is a multiple of 64, so nothing looks wrong
        parts += [q.tobytes(), sc.tobytes()]
    expect(tmp_path, b"".join(parts), "group size 64 does not divide both dim 64 and hidden_dim 172")
