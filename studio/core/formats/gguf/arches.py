"""Which llama.cpp architecture a Hugging Face-expressible plan is written as (one Layout per
family), and what keeps a plan out of the one it would get."""
from __future__ import annotations

from studio.core.formats.decoder import EXPERTS
from studio.core.formats.gguf.deepseek2 import DEEPSEEK2
from studio.core.formats.gguf.layout import Layout
from studio.core.formats.gguf.llama import LLAMA
from studio.core.formats.gguf.qwen import QWEN2, QWEN2MOE, QWEN3, QWEN3MOE

LAYOUTS = {"llama": LLAMA, "mixtral": LLAMA, "deepseek_v3": DEEPSEEK2, "qwen2": QWEN2, "qwen3": QWEN3,
           "qwen2_moe": QWEN2MOE, "qwen3_moe": QWEN3MOE}
# llama.cpp hard-codes what Hugging Face leaves to norm_topk_prob (measured: 0.14 and 0.25 log-prob off otherwise)
TOP_K_RENORMALISED = {"qwen3_moe": True, "qwen2_moe": False}


def layout_for(plan) -> Layout:
    return LAYOUTS[plan.family]


def gguf_problems(plan) -> list[str]:
    """Every reason a plan the Hugging Face export takes cannot be written for llama.cpp."""
    fixed = TOP_K_RENORMALISED.get(plan.family)
    norm_topk = fixed is not None and plan.ffn_config(EXPERTS).norm_topk
    if fixed is not None and norm_topk != fixed:
        name = {"qwen2_moe": "Qwen2-MoE", "qwen3_moe": "Qwen3-MoE"}[plan.family]
        return [(f"{plan.ids['feed_forward']}: gate weights {'' if norm_topk else 'not '}renormalised ({name}'s "
                 f"norm_topk_prob {str(norm_topk).lower()}): llama.cpp's {layout_for(plan).arch} "
                 f"{'always' if fixed else 'never'} renormalises the top-k; turn norm_topk {'on' if fixed else 'off'}, "
                 "or export it for Hugging Face instead (--format hf)")]
    attn_bias = getattr(plan.attention, "bias", False)  # Qwen2's q/k/v biases are qkv_bias, and written
    if attn_bias or any(getattr(c, "bias", False) for _, c in plan.ffn):
        node = plan.ids["attention"] if attn_bias else plan.ids["feed_forward"]
        return [f"{node}: has biases; llama.cpp's {layout_for(plan).arch} architecture has none; turn bias off"]
    return []
