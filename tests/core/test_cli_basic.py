import json

import pytest

from conftest import run_cli
from studio.core.files.presets import preset_ids


def test_presets_json_lists_milestones_then_recipes():
    r = run_cli("presets", "--json")
    assert r.returncode == 0, r.stderr
    items = json.loads(r.stdout)
    assert [i["id"] for i in items] == preset_ids()
    dates = [i["date"] for i in items if i["group"] == "milestone"]
    assert dates == sorted(dates)
    assert all(set(i) >= {"id", "date", "title", "group"} for i in items)


def test_info_json_keys_and_exact_count():
    r = run_cli("info", "2023-07-llama-2", "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    for k in ("id", "title", "date", "scale", "params_total", "params_active", "params_embedding", "params_mtp",
              "kv_cache_bytes_per_token", "flops_per_token", "published", "provenance"):
        assert k in d
    assert d["params_total"] == 68_976_648_192 and d["kv_cache_bytes_per_token"] == 320 * 1024


def test_info_accepts_yaml_file(tmp_path):
    from studio.core.files.presets import load_preset
    from studio.core.files.yamlio import dump_architecture
    p = tmp_path / "m.yaml"
    p.write_text(dump_architecture(load_preset("2019-02-gpt-2")))
    d = json.loads(run_cli("info", str(p), "--json", "--scale", "paper").stdout)
    assert d["params_total"] == 1_557_611_200


@pytest.mark.parametrize("args", [("info", "no-such-model"), ("info",), ("validate", "/nonexistent.yaml"), ("frobnicate",)])
def test_bad_input_exits_2_with_one_line(args):
    r = run_cli(*args)
    assert r.returncode == 2
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr


def test_validate_exit_codes(tmp_path):
    assert run_cli("validate", "2023-07-llama-2").returncode == 0
    p = tmp_path / "bad.yaml"
    p.write_text("scales: {classroom: {dim: 30, n_heads: 4, n_layers: 1, vocab_size: 10, context: 8}}\n"
                 "nodes: {tokens: {kind: input, region: stem}, emb: {kind: token_embedding, region: stem},"
                 " attn: {kind: attention, region: layer}, output: {kind: lm_head, region: head}}\n"
                 "edges: [tokens -> emb, emb -> attn, attn -> output]\n")
    r = run_cli("validate", str(p))
    assert r.returncode == 1 and "attn: dim 30 is not divisible by n_heads 4" in r.stdout
    p.write_text(": : :")
    assert run_cli("validate", str(p)).returncode == 2


def test_version():
    r = run_cli("--version")
    assert r.returncode == 0 and r.stdout.startswith("archstudio ")
