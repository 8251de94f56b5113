"""Run folders for the export tests: classroom presets after a few real training steps.

Each preset's classroom graph is trained for a few AdamW steps on the starter corpus (so the
norm gains, the router and DeepSeek's selection bias have moved away from their initial values
and a weight written to the wrong place shows in the logits), with one 512-token SentencePiece
BPE tokenizer shared by all of them. Runs are built once per test session."""
from __future__ import annotations

from pathlib import Path

import torch

from studio.core.data import make_tokenizer
from studio.core.data.sources import Corpus, content_hash, load_corpus
from studio.core.files.presets import load_preset
from studio.core.model.compiler import compile_architecture
from studio.core.runs.rundir import RunDir
from studio.core.training.setup import classroom_arch

# the presets this was written against; every preset the planner finds exportable is tested
# (test_export_hf.test_exportable_presets_include_these: a new milestone joins by itself)
KNOWN_EXPORTABLE = ("2023-02-llama-1", "2023-07-llama-2", "2024-07-llama-3.1", "recipe-llama2c-stories260k",
                    "recipe-llama2c-stories15m", "recipe-modded-llama2c", "2023-12-mixtral", "2024-12-deepseek-v3",
                    "2025-01-deepseek-r1", "2025-07-kimi-k2")


def exportable_presets() -> tuple:
    from studio.core.files.presets import preset_ids
    from studio.core.formats.decoder import plan_decoder
    return tuple(p for p in preset_ids() if plan_decoder(load_preset(p), "classroom", "x")[0] is not None)


HF_PRESETS = exportable_presets()
GGUF_PRESETS = HF_PRESETS  # llama.cpp's llama arch, and deepseek2 for the MLA presets
VOCAB, CONTEXT, STEPS = 512, 64, 4
PROMPT = "Once upon a time, there was a little girl named Lily. She"
HF_CONFIGS = Path(__file__).resolve().parents[1] / "data" / "hf_configs"

_cache: dict = {}


def stories(n: int = 120) -> list[str]:
    return load_corpus("starter").stories[:n]


def tokenizer(root: Path):
    if "tok" not in _cache:
        s = stories(300)
        _cache["tok"] = make_tokenizer("bpe", Corpus("starter", "starter", s, content_hash(s), False), VOCAB,
                                       cache=root)
    return _cache["tok"]


def trained_run(preset: str, root: Path, rope: dict | None = None) -> Path:
    """A RUN_DIR of ``preset`` at classroom scale after STEPS AdamW steps (built once per session);
    ``rope``: RoPE settings set first (frequency scaling, as SCALED_ROPE)."""
    key = preset + "".join(f"-{k}-{v:g}" for k, v in sorted((rope or {}).items()))
    if key in _cache:
        return _cache[key]
    tok = tokenizer(root)
    arch = classroom_arch(load_preset(preset), VOCAB, CONTEXT)
    for name, value in (rope or {}).items():
        arch.graph.set_config("rope", name, value)
    torch.manual_seed(0)
    model = compile_architecture(arch, "classroom").train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    ids = torch.tensor(tok.encode(" ".join(stories(60))))
    g = torch.Generator().manual_seed(0)
    for _ in range(STEPS):
        starts = torch.randint(0, len(ids) - CONTEXT - 1, (4,), generator=g)
        x = torch.stack([ids[s:s + CONTEXT] for s in starts])
        y = torch.stack([ids[s + 1:s + CONTEXT + 1] for s in starts])
        _, loss = model(x, y)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
    run = RunDir(root / key)
    run.initialize(arch, preset, tok, training={"steps": STEPS})
    run.save_checkpoint({"model": model.state_dict()}, step=STEPS)
    _cache[key] = run.path
    return run.path


# RoPE frequency scaling the presets use at paper scale, at original contexts short enough that the scaled
# rotations change a classroom run's logits within the prompt (the paper's 8K / 4K would touch only pairs
# that barely turn over 64 positions): Llama 3.1's rule, Kimi K2's YaRN (β 1 / 1), DeepSeek-V3's (β 32 / 1),
# and YaRN on a LLaMA-family graph (no preset has it; an edit can)
SCALED_ROPE = {
    "llama-3.1+llama3": ("2024-07-llama-3.1", {"llama3_factor": 8.0, "llama3_original_context": 8}),
    "kimi-k2+yarn": ("2025-07-kimi-k2", {"yarn_factor": 32.0, "yarn_original_context": 64, "yarn_beta_fast": 1.0,
                                         "yarn_beta_slow": 1.0}),
    "deepseek-v3+yarn": ("2024-12-deepseek-v3", {"yarn_factor": 40.0, "yarn_original_context": 16}),
    "llama-2+yarn": ("2023-07-llama-2", {"yarn_factor": 16.0, "yarn_original_context": 32}),
}


def scaled_run(name: str, root: Path) -> Path:
    preset, rope = SCALED_ROPE[name]
    return trained_run(preset, root, rope)


# tests/data/hf_configs (q/k/v biases; QK-norm; + MoE), and transformers' own Qwen2MoeConfig() — Qwen1.5-MoE-A2.7B's
# configuration (q/k/v biases, 60 experts, a gated shared expert), written at test time
QWEN_CONFIGS = {"Qwen2.5-3B": "Qwen2ForCausalLM", "Qwen3-4B": "Qwen3ForCausalLM",
                "Qwen3-30B-A3B": "Qwen3MoeForCausalLM", "Qwen2MoeConfig": "Qwen2MoeForCausalLM"}


def config_path(name: str, root: Path) -> Path:
    """The config.json of a QWEN_CONFIGS name: the kept file, or transformers' defaults of the config class."""
    if (HF_CONFIGS / name).is_dir():
        return HF_CONFIGS / name / "config.json"
    import transformers
    path = root / "configs" / name / "config.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    getattr(transformers, name)().to_json_file(str(path))
    return path


def config_arch(name: str, root: Path):
    """The classroom graph a QWEN_CONFIGS config.json builds, at context 32."""
    from studio.core.files.model_spec import load_model
    return classroom_arch(load_model(str(config_path(name, root))), tokenizer(root).vocab_size, 32)


def config_run(name: str, root: Path) -> Path:
    """A RUN_DIR of the config.json's classroom graph after 3 AdamW steps (built once per session)."""
    key = f"config:{name}"
    if key in _cache:
        return _cache[key]
    tok, arch = tokenizer(root), config_arch(name, root)
    torch.manual_seed(2)
    model = compile_architecture(arch)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    ids = torch.tensor([tok.encode(" ".join(stories(20)))[:33 * 4]]).view(4, 33)
    for _ in range(3):
        model(ids[:, :-1], ids[:, 1:])[1].backward()
        opt.step()
        opt.zero_grad()
    run = RunDir(root / name)
    run.initialize(arch, str(config_path(name, root)), tok)
    run.save_checkpoint({"model": model.state_dict()}, step=3)
    _cache[key] = run.path
    return run.path
