"""resolve(arch, scale): one cached resolution (per-layer Config + exact costs) that every
consumer reads; Architecture.revision; block roles as registry traits."""
from __future__ import annotations

import gc
import re

import pytest

from blocks.registry import GEOMETRIES, LLAMA2C_ROLES, REGISTRY, ROLES
from studio.core import errors as E
from studio.core.model import resolve as R
from studio.core.model.accounting import account
from studio.core.model.architecture import Override
from studio.core.files.presets import load_preset, preset_ids
from studio.core.model.validate import validate
from studio.core.model.resolve import resolve


def _llama():
    return load_preset("2023-02-llama-1").copy()


def test_resolve_is_cached_until_anything_changes():
    a = _llama()
    r = R.resolve(a, "paper")
    assert R.resolve(a, "paper") is r  # a scrub back or a panel refresh: one lookup
    rev = a.revision
    a.graph.set_config("feed_forward", "hidden_dim", 1000)  # a graph event
    r2 = R.resolve(a, "paper")
    assert a.revision > rev and r2 is not r and r2.node("feed_forward").config.hidden_dim == 1000
    a.scales["paper"]["n_layers"] = 2  # a direct write into the dims is noticed too
    assert R.resolve(a, "paper").node("attention").repeats == 2
    rev = a.revision
    a.meta["title"] = "renamed"
    assert a.revision > rev
    rev = a.revision
    a.graph.move_node("attention", (10.0, 20.0))
    assert a.revision > rev
    rev = a.revision
    a.scales["paper"]["dim"] = 512
    assert a.revision > rev and R.resolve(a, "paper").node("attention").config.dim == 512
    assert a.copy().revision != a.revision or a.copy() is not a  # a copy is its own document
    assert R.resolve(a.copy(), "paper") is not R.resolve(a, "paper")


def test_cache_entries_die_with_their_architecture():
    a = _llama()
    R.resolve(a, "classroom")
    key = id(a)
    assert key in R._CACHE
    del a
    gc.collect()
    assert key not in R._CACHE


def test_per_layer_configs_follow_overrides_and_group_identical_layers():
    a = _llama()
    a.overrides.append(Override(layers="0:3", node="feed_forward", kind="moe",
                                config={"n_experts": 4, "top_k": 1, "expert_hidden_dim": 256}))
    rn = R.resolve(a, "paper").node("feed_forward")
    assert rn.layers_differ and len(rn.layers) == rn.repeats == 32
    assert [v.kind for v in rn.layers[:4]] == ["moe", "moe", "moe", "swiglu"]
    groups = rn.variant_groups()
    assert [(g[0][:3], g[1]) for g in groups] == [((0, 1, 2), "moe"), ((3, 4, 5), "swiglu")]
    assert rn.layers[3].config is rn.layers[31].config  # identical layers share one Config
    assert len(rn.variants) == 2 and rn.overridden_layers == (0, 1, 2)
    assert rn.config.hidden_dim == 11008  # the node as drawn (no override)
    assert rn.costs.params == sum(v.costs.params for v in rn.layers)
    assert not R.resolve(a, "paper").node("attention").layers_differ


@pytest.mark.parametrize("pid", preset_ids())
def test_totals_are_the_accounting_and_per_node_costs_add_up(pid):
    arch = load_preset(pid)
    for scale in arch.scales:
        r, acc = R.resolve(arch, scale), account(arch, scale)
        assert (r.params_total, r.params_active, r.params_embedding, r.params_mtp, r.flops_per_token) == (
            acc.params_total, acc.params_active, acc.params_embedding, acc.params_mtp, acc.flops_per_token)
        assert r.kv_elems_per_token * 2 == acc.kv_cache_bytes_per_token
        apart = sum(rn.costs.params for rn in r.nodes.values() if rn.spec.has("aux_head"))
        assert sum(rn.costs.params for rn in r.nodes.values()) - apart == r.params_total
        assert resolve(arch, scale).variants_of("output")[0][2] is r.node("output").layers[0].config


def test_a_bad_setting_is_recorded_on_its_node_and_raised_where_all_are_needed():
    a = _llama()
    a.graph.set_config("attention", "n_heads", "$no_such_dim")
    r = R.resolve(a, "paper")
    bad = r.node("attention")
    assert bad.config is None and "no_such_dim" in bad.error and r.errors == {"attention": bad.error}
    assert r.node("feed_forward").config.hidden_dim == 11008  # the others still resolve
    assert any(i.node == "attention" and "no_such_dim" in i.message for i in validate(a, "paper"))
    with pytest.raises(E.ConfigError, match="no_such_dim"):
        account(a, "paper")
    with pytest.raises(E.ConfigError):
        resolve(a, "paper").config_of("attention")
    with pytest.raises(E.UnknownNodeError):
        r.node("nope")


def test_repeated_reads_resolve_once(monkeypatch):
    a = load_preset("2024-07-llama-3.1").copy()
    calls = []
    real = R._resolve
    monkeypatch.setattr(R, "_resolve", lambda *args: calls.append(args[1:3]) or real(*args))
    for _ in range(100):  # a scrub back and forth, badges and panels refreshing
        R.resolve(a, "paper")
        resolve(a, "paper").config_of("attention")
        account(a, "paper")
    assert calls == [("paper", None)]
    a.graph.set_config("attention", "window", 64)
    account(a, "paper")
    assert calls == [("paper", None)] * 2


# ---------------------------------------------------------------------------- roles as traits
def test_every_kind_declares_known_roles():
    for kind, spec in REGISTRY.items():
        assert spec.roles, f"{kind} declares no role"
        assert spec.roles <= set(ROLES), f"{kind}: unknown roles {spec.roles - set(ROLES)}"
        assert (spec.geometry in GEOMETRIES) == spec.has("attention"), kind
        assert spec.llama2c in LLAMA2C_ROLES + ("",), kind
        assert spec.llama2c or spec.llama2c_problem(spec.config_cls()), kind


def test_the_app_never_tests_a_block_kind_by_name():
    """Core and GUI ask the registry for a role; a kind name is compared only in blocks/
    (llama2.c role names such as "rope" or "attention" are roles, not kinds)."""
    from pathlib import Path
    root = Path(__file__).resolve().parents[2]
    kinds = "|".join(re.escape(k) for k in REGISTRY)
    pattern = re.compile(rf"""(==|!=)\s*["']({kinds})["']|\bin\s*\(\s*["']({kinds})["']|_KINDS\s*=\s*\(["']({kinds})""")
    role_before = re.compile(r"\brole(\([^)]*\))?\s*$")
    files = sorted((root / "studio").rglob("*.py"))
    assert len(files) > 50
    for path in files:
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for m in pattern.finditer(line):
                if not role_before.search(line[:m.start()]):
                    raise AssertionError(f"{path.relative_to(root)}:{n} tests a kind by name: {line.strip()}")
    for line in ('if k == "moe":', 'if n.kind in ("attention", "mla"):', 'ATTENTION_KINDS = ("attention", "mla")'):
        assert pattern.search(line)  # the check sees the shapes that were there



def test_try_setting_reports_problems_without_raising():
    a = _llama()
    cfg, problems = R.try_setting(a, "paper", "attention", "n_kv_heads", 8)
    assert cfg.kv_heads == 8 and problems == []
    cfg, problems = R.try_setting(a, "paper", "attention", "n_kv_heads", 5)
    assert problems and problems[0].startswith("attention: ") and "divisible" in problems[0]
    cfg, problems = R.try_setting(a, "paper", "attention", "n_heads", "$nope")
    assert cfg is None and "nope" in problems[0]
    assert a.graph.node("attention").config.get("n_kv_heads") is None  # nothing was changed


def test_architecture_holds_data_and_its_revision_only():
    """Resolve once: no second way to work a Config out (issue 26) — no per-node config, no
    layer-variant applier and no edit API on Architecture (edits are the Document's)."""
    from studio.core.model.architecture import Architecture
    gone = ("config", "variants", "layer_variant", "set_dim", "set_scale", "set_overrides", "set_meta")
    assert [n for n in gone if hasattr(Architecture, n)] == []
    from pathlib import Path
    root = Path(__file__).resolve().parents[2] / "studio"
    users = [p.relative_to(root).as_posix() for p in root.rglob("*.py")
             if re.search(r"\bresolve_config\b", p.read_text(encoding="utf-8"))]
    assert users == ["core/model/resolve.py"], users


def test_config_of_reads_the_resolution_per_layer():
    a = _llama()
    a.overrides.append(Override(layers="0:2", node="feed_forward", kind="moe",
                                config={"n_experts": 4, "top_k": 1, "expert_hidden_dim": 256}))
    r = resolve(a, "paper")
    assert r.config_of("feed_forward") == (r.node("feed_forward").config, "swiglu")
    assert r.config_of("feed_forward", 1)[1] == "moe" and r.config_of("feed_forward", 2)[1] == "swiglu"
    assert r.config_of("feed_forward", 10_000)[1] == "swiglu"  # a layer no override reaches
    assert [k for _, k, _ in r.variants_of("feed_forward")][:3] == ["moe", "moe", "swiglu"]


def test_try_dim_names_the_first_new_error_and_never_raises():
    from studio.core.model.validate import try_dim
    a = _llama()
    assert try_dim(a, "classroom", "n_layers", 3) is None
    why = try_dim(a, "classroom", "n_heads", 7)  # dim is no multiple of 7 heads
    assert why and "attention" in why
    assert a.scales["classroom"]["n_heads"] != 7  # the trial never touches the model
