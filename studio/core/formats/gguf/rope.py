"""The RoPE block's frequency scaling in a GGUF file, as llama.cpp reads it.

Llama 3's rule is the ``rope_freqs`` tensor (one divisor per rotated pair: llama.cpp turns pair j at
pos·θ^(-2j/d) / rope_freqs[j]), as convert_hf_to_gguf.py writes Llama 3.1's — computed here from
the app's own scaled frequencies, so the file holds exactly what the app rotates by.

YaRN is the ``rope.scaling.*`` metadata: type, factor, original context, β fast/slow. This app's
YaRN has no attention temperature, while ggml's YaRN multiplies cos/sin by 0.1·ln(factor) + 1:
``rope.scaling.attn_factor`` = 1 / (0.1·ln(factor) + 1) cancels it (measured: without it, LLaMA
+ YaRN ×16 is 0.0098 log-prob off and DeepSeek-V3 + YaRN ×40 0.048; ``yarn_attn_factor`` is not
read), and deepseek2's softmax scale gets no mscale² since ``yarn_log_multiplier`` is not written
(DeepSeek's own files write 0.1·mscale_all_dim). The llama.cpp this was checked with does not read
the file's β (it uses its own 32 / 1): a run with other β gets a note with the flags that set them.
"""
from __future__ import annotations

import math

SCALED_ARCHES = {"llama3": ("llama",), "yarn": ("llama", "deepseek2")}  # checked in llama.cpp (test_export_gguf_rope)
LLAMA_CPP_BETAS = (32.0, 1.0)


def rope_scaling_hparams(plan, gguf) -> dict:
    rope = plan.rope
    if rope is None or not rope.yarn_factor > 1:
        return {}
    return {"rope_scaling_type": gguf.RopeScalingType.YARN, "rope_scaling_factor": rope.yarn_factor,
            "rope_scaling_orig_ctx_len": rope.yarn_original_context,
            "rope_scaling_yarn_beta_fast": rope.yarn_beta_fast, "rope_scaling_yarn_beta_slow": rope.yarn_beta_slow,
            "rope_scaling_attn_factors": 1.0 / (0.1 * math.log(rope.yarn_factor) + 1.0)}


def rope_freqs_tensor(plan) -> dict:
    """{"rope_freqs.weight": divisors} for Llama 3 scaling, else nothing."""
    import torch

    from blocks.nn.rope import llama3_frequencies
    rope = plan.rope
    if rope is None or not rope.llama3_factor > 1:
        return {}
    freqs = 1.0 / (rope.theta ** (torch.arange(0, rope.head_dim, 2)[: rope.head_dim // 2].double() / rope.head_dim))
    scaled = llama3_frequencies(freqs, rope.llama3_factor, rope.llama3_original_context,
                                rope.llama3_low_freq_factor, rope.llama3_high_freq_factor)
    return {"rope_freqs.weight": (freqs / scaled).float()}


def rope_scaling_kind(plan) -> str:
    rope = plan.rope
    return "" if rope is None else "llama3" if rope.llama3_factor > 1 else "yarn" if rope.yarn_factor > 1 else ""


def rope_problems(plan, arch: str) -> list[str]:
    kind = rope_scaling_kind(plan)
    if kind and arch not in SCALED_ARCHES[kind]:
        what = {"llama3": "Llama 3 frequency scaling (rope_freqs)", "yarn": "YaRN"}[kind]
        return [f"{plan.ids['rope']}: {what} is written only for llama.cpp's "
                f"{' and '.join(SCALED_ARCHES[kind])} architecture{'s' if len(SCALED_ARCHES[kind]) > 1 else ''} "
                f"(checked there), not {arch}; export it for Hugging Face instead (--format hf)"]
    return []


def llama_cpp_flags(plan) -> list[str]:
    """The llama.cpp command-line flags this file needs to compute what the run does: YaRN's β
    values when they are not llama.cpp's own (it ignores the file's)."""
    rope = plan.rope
    if rope_scaling_kind(plan) != "yarn" or (rope.yarn_beta_fast, rope.yarn_beta_slow) == LLAMA_CPP_BETAS:
        return []
    return ["--yarn-beta-fast", f"{rope.yarn_beta_fast:g}", "--yarn-beta-slow", f"{rope.yarn_beta_slow:g}"]


def rope_notes(plan) -> list[str]:
    flags = llama_cpp_flags(plan)
    if not flags:
        return []
    rope = plan.rope
    return [f"YaRN β fast {rope.yarn_beta_fast:g} / β slow {rope.yarn_beta_slow:g} are in the file, but llama.cpp "
            f"reads its own {LLAMA_CPP_BETAS[0]:g} / {LLAMA_CPP_BETAS[1]:g}: run it with {' '.join(flags)} "
            "to compute what this run does"]
