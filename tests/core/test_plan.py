"""Compute planner: 6·N·D, Chinchilla's 20·N and nanochat's 10.5·N, a run's progress and ETA, and the
published training tokens at paper scale — each number checked against a hand computation."""
import json

import pytest

from conftest import run_cli
from studio.core.classroom.compute_plan import paper_point, plan_for, plan_model, run_progress, timeline_points
from studio.core.errors import StudioError
from studio.core.files.presets import load_preset
from studio.core.runs.rundir import RunDir
from studio.core.files.yamlio import architecture_to_data

# LLaMA 2 classroom by hand: dim 128, 4 layers, 8 heads of 16, 2 kv heads (kv width 32), hidden 344,
# vocab 512, untied output. Per layer: wq 128², wk wv 128·32 each, wo 128², w1 w3 128·344 each,
# w2 344·128, two RMSNorm gains of 128.
LAYER = 128 * 128 + 2 * 128 * 32 + 128 * 128 + 3 * 128 * 344 + 2 * 128
LLAMA2_N = 512 * 128 + 4 * LAYER + 128 + 512 * 128


def test_classroom_plan_is_6ND_with_20_and_10_5_tokens_per_parameter():
    p = plan_for("2023-07-llama-2")
    assert LLAMA2_N == 824_448 and p.params_total == LLAMA2_N == p.params_active
    assert p.chinchilla_tokens == 20 * LLAMA2_N == 16_488_960
    assert p.nanochat_tokens == pytest.approx(10.5 * LLAMA2_N)
    assert p.chinchilla_flops == pytest.approx(6 * LLAMA2_N * 20 * LLAMA2_N)
    assert p.run is None and p.under_trained is None


def test_mixture_of_experts_counts_flops_with_active_parameters():
    p = plan_for("2023-12-mixtral")
    assert p.params_active < p.params_total
    assert p.chinchilla_tokens == 20 * p.params_total
    assert p.chinchilla_flops == pytest.approx(6 * p.params_active * 20 * p.params_total)


@pytest.mark.parametrize("pid, tokens, params, per_param, flops", [
    ("2023-07-llama-2", 2.0e12, 70e9, 2.0e12 / 70e9, 6 * 70e9 * 2.0e12),           # ≈ 29 tokens / parameter
    ("2024-07-llama-3.1", 15.6e12, 405e9, 15.6e12 / 405e9, 6 * 405e9 * 15.6e12),   # ≈ 38; 3.8e25 FLOPs
    ("2022-03-chinchilla", 1.4e12, 70e9, 20.0, 5.88e23),                           # the rule itself
])
def test_paper_scale_published_tokens_against_the_chinchilla_optimum(pid, tokens, params, per_param, flops):
    pp = paper_point(load_preset(pid))
    assert pp.training_tokens == tokens and pp.params == params and pp.tokens_provenance == "published"
    assert pp.tokens_per_param == pytest.approx(per_param)
    assert pp.chinchilla_tokens == pytest.approx(20 * params)
    assert pp.vs_chinchilla == pytest.approx(tokens / (20 * params))
    assert pp.training_flops == pytest.approx(flops)
    assert pp.tokens_source  # provenance: every published figure names its source
    assert round(pp.tokens_per_param) == {"2023-07-llama-2": 29, "2024-07-llama-3.1": 39, "2022-03-chinchilla": 20}[pid]


def test_timeline_points_label_undisclosed_and_reported_tokens():
    pts = {p.id: p for p in timeline_points()}
    assert pts["2023-12-mixtral"].training_tokens is None and pts["2023-12-mixtral"].tokens_provenance == "undisclosed"
    assert pts["2023-03-gpt-4"].tokens_provenance == "reported"
    assert pts["2022-11-chatgpt"].params is None
    assert pts["2020-05-gpt-3"].tokens_per_param == pytest.approx(300e9 / 175e9)


def _fake_run(tmp_path, model="2023-07-llama-2", tokens=(2048, 4096, 8192), tps=(900.0, 1000.0, 1100.0)):
    arch = load_preset(model)
    run = RunDir(tmp_path / "run")
    run.path.mkdir()
    run.write_config({"model": model, "scale": "classroom", "architecture": architecture_to_data(arch),
                      "training": {}, "data": {"source": "starter"}, "tokenizer": {"kind": "byte"}})
    for i, (t, r) in enumerate(zip(tokens, tps), 1):
        run.append_metrics({"kind": "step", "step": i, "tokens": t, "loss": 3.0, "tokens_per_s": r, "elapsed_s": 2.0 * i})
    run.append_metrics({"kind": "eval", "step": len(tokens), "tokens": tokens[-1], "val_loss": 2.0, "val_bpb": 1.25,
                        "train_loss": 2.1})
    return run


def test_a_run_gives_tokens_seen_eta_and_the_under_trained_flag(tmp_path):
    run = _fake_run(tmp_path)
    prog = run_progress(run.path)
    assert prog.tokens_seen == 8192 and prog.tokens_per_s == 1000.0 and prog.val_bpb == 1.25
    p = plan_for("2023-07-llama-2", run.path)
    assert p.tokens_seen == 8192 and p.tokens_per_param_seen == pytest.approx(8192 / LLAMA2_N)
    assert p.training_flops_seen == pytest.approx(6 * LLAMA2_N * 8192)
    assert p.eta_chinchilla_s == pytest.approx((20 * LLAMA2_N - 8192) / 1000.0)
    assert p.eta_nanochat_s == pytest.approx((10.5 * LLAMA2_N - 8192) / 1000.0)
    assert p.under_trained is True


def test_a_run_past_the_optimum_is_not_under_trained(tmp_path):
    done = 21 * LLAMA2_N
    p = plan_model(load_preset("2023-07-llama-2"), run_dir=_fake_run(tmp_path, tokens=(done,), tps=(500.0,)).path)
    assert p.under_trained is False and p.eta_chinchilla_s == 0 and p.eta_nanochat_s == 0


def test_a_run_of_another_model_is_refused(tmp_path):
    run = _fake_run(tmp_path)
    with pytest.raises(StudioError, match="trained '2023-07-llama-2'"):
        plan_for("2019-02-gpt-2", run.path)


def test_cli_plan_json_and_bad_input(tmp_path):
    run = _fake_run(tmp_path)
    r = run_cli("plan", "2023-07-llama-2", "--run", str(run.path), "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["params_total"] == LLAMA2_N and d["tokens_seen"] == 8192 and d["under_trained"] is True
    assert d["paper"]["training_tokens"] == 2.0e12
    text = run_cli("plan", "2024-07-llama-3.1")
    assert text.returncode == 0 and "38.5" in text.stdout and "Llama 3 Herd" in text.stdout
    bad = run_cli("plan", "2023-07-llama-2", "--run", str(tmp_path / "missing"))
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1
