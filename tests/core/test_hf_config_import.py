"""Any config.json in: the graph built from a Hugging Face config counts exactly the parameters
transformers builds for it (on the meta device: no memory, no weights), MTP apart; families and
fields the blocks cannot express are refused in one line naming them; the classroom scale trains."""
import json
from pathlib import Path

import pytest
import torch

from studio.core import errors as E
from studio.core.files.model_spec import load_model
from studio.core.model.accounting import account
from studio.core.model.compiler import compile_architecture

transformers = pytest.importorskip("transformers", reason="the 'export' extra is part of the test extra")
DATA = Path(__file__).resolve().parents[1] / "data" / "hf_configs"
REAL = sorted(p.parent.name for p in DATA.glob("*/config.json"))


def hf_params(cfg: dict) -> int:
    config = transformers.AutoConfig.for_model(**cfg)
    with torch.device("meta"):
        model = transformers.AutoModelForCausalLM.from_config(config)
    return sum(p.numel() for p in model.parameters())


def write(tmp_path, cfg: dict, name="model") -> Path:
    d = tmp_path / name
    d.mkdir(exist_ok=True)
    (d / "config.json").write_text(json.dumps(cfg))
    return d / "config.json"


def defaults(cls: str, **changes) -> dict:
    """transformers' own default configuration of a family (Mistral-7B, Mixtral-8x7B, DeepSeek-V3, …)."""
    return {**getattr(transformers, cls)().to_dict(), **changes}


def cli(capsys, *args):
    from studio.entry import main
    capsys.readouterr()
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_the_test_data_covers_the_real_families():
    assert {json.loads((DATA / n / "config.json").read_text())["model_type"] for n in REAL} >= {
        "llama", "qwen2", "qwen3", "qwen3_moe"}


@pytest.mark.parametrize("name", REAL)
def test_real_config_counts_what_transformers_builds(name, capsys):
    cfg = json.loads((DATA / name / "config.json").read_text())
    code, out, err = cli(capsys, "info", DATA / name / "config.json", "--json")
    assert code == 0, err
    info = json.loads(out)
    assert info["params_total"] == hf_params(cfg) and info["params_mtp"] == 0
    assert {info["provenance"][k] for k in ("params_total", "params_active", "kv_cache_bytes_per_token",
                                            "flops_per_token")} == {"computed-from-config"}
    assert "config.json" in info["figures"]["params_total"]["source"]


@pytest.mark.parametrize("cls, changes", [
    ("MistralConfig", {}), ("MixtralConfig", {}), ("Qwen2Config", {}), ("Qwen3Config", {}), ("LlamaConfig", {}),
    ("Qwen3MoeConfig", {"norm_topk_prob": True}), ("DeepseekV3Config", {}), ("Qwen2MoeConfig", {}),
    ("DeepseekV2Config", {"num_experts_per_tok": 6, "first_k_dense_replace": 1, "q_lora_rank": None}),
    ("LlamaConfig", {"attention_bias": True, "mlp_bias": True, "tie_word_embeddings": True, "num_key_value_heads": 1}),
])
def test_family_defaults_count_what_transformers_builds(cls, changes, tmp_path):
    cfg = defaults(cls, **changes)
    arch = load_model(str(write(tmp_path, cfg)))
    assert account(arch, "paper").params_total == hf_params(cfg)


def test_deepseek_v3_mtp_is_counted_apart(tmp_path):
    cfg = defaults("DeepseekV3Config", num_nextn_predict_layers=1)
    acc = account(load_model(str(write(tmp_path, cfg))), "paper")
    assert acc.params_total == hf_params(cfg) == 671_026_404_352  # DeepSeek-V3: 671B
    assert 13.4e9 < acc.params_mtp < 13.5e9  # one MTP layer with its own embedding and head copies
    assert round(acc.params_active / 1e9, 2) == 37.55


def test_qwen2_moe_gated_shared_expert_builds_and_trains(tmp_path):
    """Qwen2-MoE's shared expert is 4 routed experts wide and scaled by sigmoid(x·g): counted and built."""
    arch = load_model(str(write(tmp_path, defaults("Qwen2MoeConfig"))))
    assert arch.dims("paper")["n_shared"] == 4 and arch.dims("classroom")["n_shared"] == 1
    model = compile_architecture(arch, "classroom")
    assert sum(p.numel() for p in model.parameters()) == account(arch, "classroom").params_total
    moe = model.layers[0].feed_forward
    x = torch.randn(1, 5, arch.dims("classroom")["dim"])
    with torch.no_grad():
        moe.shared_expert_gate.weight.zero_()  # sigmoid(0) = ½
        half = moe(x)
        shared = moe.shared_experts(x.reshape(-1, x.shape[-1])).view_as(x)
        moe.shared_experts.w2.weight.zero_()  # the routed experts alone
        routed = moe(x)
    assert shared.abs().max() > 1e-3
    torch.testing.assert_close(half - routed, 0.5 * shared, atol=1e-5, rtol=1e-4)


def test_a_folder_holding_config_json_is_a_model(capsys):
    code, out, _ = cli(capsys, "info", DATA / "Qwen3-30B-A3B", "--json")
    info = json.loads(out)
    assert code == 0 and info["id"] == "hf-Qwen3-30B-A3B" and info["params_active"] < info["params_total"] / 5
    kinds = {n["id"]: n["kind"] for n in info["nodes"]}
    assert kinds["feed_forward"] == "moe"


def test_rope_scaling_becomes_the_rope_blocks_settings(capsys, tmp_path):
    code, out, _ = cli(capsys, "info", DATA / "Llama-3.1-8B" / "config.json", "--json")
    rope = next(n["config"] for n in json.loads(out)["nodes"] if n["id"] == "rope")
    assert code == 0 and rope["llama3_factor"] == 8 and rope["llama3_original_context"] == 8192
    assert rope["theta"] == 500000 and rope["llama3_high_freq_factor"] == 4
    yarn = {"type": "yarn", "factor": 40, "original_max_position_embeddings": 4096, "beta_fast": 32, "beta_slow": 1,
            "mscale": 1.0, "mscale_all_dim": 1.0}
    arch = load_model(str(write(tmp_path, defaults("DeepseekV3Config", rope_scaling=yarn))))
    from studio.core.model.resolve import resolve
    cfg = resolve(arch, "paper").node("rope").config
    assert (cfg.yarn_factor, cfg.yarn_original_context, cfg.yarn_beta_fast) == (40, 4096, 32)
    assert "mscale_all_dim" in arch.meta["gap_note"]  # the attention temperature is named as not modelled
    assert resolve(arch, "classroom").node("rope").config.yarn_factor == 0  # the classroom context needs none


@pytest.mark.parametrize("cfg, named", [
    ({"model_type": "gemma2", "hidden_size": 8}, "model_type 'gemma2'"),
    ({**defaults("LlamaConfig"), "hidden_act": "gelu"}, "hidden_act 'gelu'"),
    ({**defaults("Qwen2Config"), "use_sliding_window": True}, "use_sliding_window True"),
    ({**defaults("Qwen2MoeConfig"), "shared_expert_intermediate_size": 5000}, "shared_expert_intermediate_size 5000"),
    ({**defaults("Qwen3MoeConfig"), "mlp_only_layers": [0, 5]}, "mlp_only_layers"),
    ({**defaults("DeepseekV3Config"), "num_nextn_predict_layers": 2}, "num_nextn_predict_layers 2"),
    ({**defaults("LlamaConfig"), "hidden_size": None}, "'hidden_size'"),
    ({**defaults("LlamaConfig"), "partial_rotary_factor": 0.5}, "partial_rotary_factor"),
    ({**defaults("LlamaConfig"), "rope_scaling": {"rope_type": "linear", "factor": 2.0}}, "rope_scaling 'linear'"),
])
def test_inexpressible_configs_are_refused_in_one_line(cfg, named, tmp_path, capsys):
    path = write(tmp_path, cfg)
    with pytest.raises(E.LoadError, match="config.json"):
        load_model(str(path))
    code, out, err = cli(capsys, "info", path)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1 and named in err, err


def test_any_json_naming_a_model_type_is_a_config_but_an_architecture_in_json_still_loads(tmp_path):
    cfg = json.loads((DATA / "Qwen2.5-3B" / "config.json").read_text())
    (tmp_path / "qwen.json").write_text(json.dumps(cfg))
    assert load_model(str(tmp_path / "qwen.json")).id == "hf-qwen"
    from studio.core.files.presets import resolved_data
    arch = {k: v for k, v in resolved_data("2023-07-llama-2").items() if k != "extends"}
    (tmp_path / "arch.json").write_text(json.dumps(arch))  # JSON is YAML: an architecture file
    assert load_model(str(tmp_path / "arch.json")).graph.node("attention").kind == "attention"


def test_bad_json_is_one_line(tmp_path, capsys):
    (tmp_path / "config.json").write_text("{not json")
    code, _, err = cli(capsys, "validate", tmp_path / "config.json")
    assert code == 2 and "not a JSON config" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("name", REAL)
def test_classroom_scale_builds_and_counts_exactly(name):
    arch = load_model(str(DATA / name / "config.json"))
    model = compile_architecture(arch, "classroom")
    assert sum(p.numel() for p in model.parameters()) == account(arch, "classroom").params_total < 20_000_000
    paper, cls = arch.dims("paper"), arch.dims("classroom")
    assert (paper["n_heads"] == paper["n_kv_heads"]) == (cls["n_heads"] == cls["n_kv_heads"])  # GQA kept


def test_a_config_json_trains(tmp_path, capsys):
    """archstudio train PATH/config.json: the classroom graph of Qwen3 (QK-norm) takes real steps."""
    code, out, err = cli(capsys, "train", DATA / "Qwen3-4B" / "config.json", "--data", "starter", "--steps", "2",
                         "--batch-size", "2", "--context", "32", "--threads", "1", "--out", tmp_path / "run")
    assert code == 0, err
    assert "trained 2 steps" in out
    from studio.core.runs.rundir import RunDir
    assert RunDir(tmp_path / "run").architecture().graph.node("attention").config.get("qk_norm") is True
