"""One frozen ``Config`` dataclass per block kind (pure Python, no torch).

The same dataclass drives YAML (field names are the YAML keys), the GUI property form
(field metadata: ``help``, ``unit``, ``choices``, ``min``), validation (``check()`` returns
messages for impossible values) and construction of the torch module.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields


def f(default, help: str, unit: str = "", choices: tuple = (), min=None, bind: str | None = None):  # noqa: A002
    """A dataclass field that carries its own tooltip, unit and allowed values.

    ``bind`` names the model dimension the field follows when a node leaves it unset
    (default: the field's own name)."""
    md = {"help": help, "unit": unit, "choices": choices, "min": min}
    if bind:
        md["bind"] = bind
    return field(default=default, metadata=md)


class ConfigBase:
    """Shared helpers: positivity checks driven by the ``min`` metadata and by ``choices``."""

    def check(self) -> list[str]:
        out = []
        for fl in fields(self):  # type: ignore[arg-type]
            v = getattr(self, fl.name)
            lo = fl.metadata.get("min")
            if lo is not None and isinstance(v, (int, float)) and not isinstance(v, bool) and v < lo:
                out.append(f"{fl.name} must be ≥ {lo} (got {v})")
            ch = fl.metadata.get("choices")
            if ch and v not in ch:
                out.append(f"{fl.name} must be one of {', '.join(map(str, ch))} (got {v!r})")
        return out + self.extra_checks()

    def extra_checks(self) -> list[str]:
        return []

    def warnings(self) -> list[str]:
        return []


@dataclass(frozen=True)
class InputConfig(ConfigBase):
    name: str = f("tokens", "Which sequence this input carries", choices=("tokens", "source"))


@dataclass(frozen=True)
class TokenEmbeddingConfig(ConfigBase):
    vocab_size: int = f(512, "Number of tokens in the vocabulary", "tokens", min=1)
    dim: int = f(64, "Width of the residual stream", min=1)
    scale: bool = f(False, "Multiply embeddings by √dim (the 2017 Transformer)")
    tie_to: str = f("", "Share this table with another embedding node (its id)")


@dataclass(frozen=True)
class LearnedPositionsConfig(ConfigBase):
    context: int = f(256, "Longest sequence the table covers", "positions", min=1)
    dim: int = f(64, "Width of the residual stream", min=1)


@dataclass(frozen=True)
class SinusoidalPositionsConfig(ConfigBase):
    dim: int = f(64, "Width of the residual stream", min=2)

    def extra_checks(self):
        return [] if self.dim % 2 == 0 else [f"dim must be even for sine/cosine pairs (got {self.dim})"]


@dataclass(frozen=True)
class RopeConfig(ConfigBase):
    head_dim: int = f(8, "Dimensions of each head that are rotated", min=2, bind="rope_head_dim")
    theta: float = f(10000.0, "RoPE base θ (llama2.c: 10000; LLaMA 3.1: 500000)", min=1.0)
    context: int = f(256, "Positions precomputed", "positions", min=1)
    # YaRN context extension (Peng et al. 2023): DeepSeek-V3 ×40, Kimi K2 ×32, K2.5/K2.6 ×64 from 4K
    yarn_factor: float = f(0.0, "YaRN context-extension factor: low-frequency pairs slowed by it (0 = no YaRN)", min=0.0)
    yarn_original_context: int = f(4096, "Context YaRN extends from (original_max_position_embeddings)", "positions", min=1)
    yarn_beta_fast: float = f(32.0, "YaRN: pairs turning more often than this over the original context are kept", min=0.0)
    yarn_beta_slow: float = f(1.0, "YaRN: pairs turning less often than this are slowed by the whole factor", min=0.0)
    # Llama 3.1's rope_scaling (rope_type llama3): factor 8 from 8192, low/high frequency factors 1 and 4
    llama3_factor: float = f(0.0, "Llama 3 scaling: slow rotations slowed by this factor (0 = none; Llama 3.1: 8)", min=0.0)
    llama3_original_context: int = f(8192, "Context Llama 3 scaling extends from", "positions", min=1)
    llama3_low_freq_factor: float = f(1.0, "Llama 3 scaling: pairs turning fewer times than this are slowed fully", min=0.0)
    llama3_high_freq_factor: float = f(4.0, "Llama 3 scaling: pairs turning more times than this are kept", min=0.0)

    def extra_checks(self):
        out = [] if self.head_dim % 2 == 0 else [f"RoPE head_dim must be even (got {self.head_dim}): rotations act on pairs"]
        if self.llama3_factor > 1 and self.llama3_high_freq_factor <= self.llama3_low_freq_factor:
            out.append("Llama 3 scaling needs llama3_high_freq_factor above llama3_low_freq_factor")
        return out


@dataclass(frozen=True)
class LayerNormConfig(ConfigBase):
    dim: int = f(64, "Width normalised", min=1)
    bias: bool = f(True, "Learn a shift β as well as a gain γ")
    eps: float = f(1e-5, "Added to the variance for stability", min=0.0)


@dataclass(frozen=True)
class RMSNormConfig(ConfigBase):
    dim: int = f(64, "Width normalised", min=1)
    eps: float = f(1e-5, "Added to the mean square (llama2.c: 1e-5)", min=0.0)


@dataclass(frozen=True)
class AttentionConfig(ConfigBase):
    dim: int = f(64, "Width of the residual stream", min=1)
    n_heads: int = f(8, "Query heads", min=1)
    n_kv_heads: int = f(0, "Key/value heads: = n_heads is MHA, 1 is MQA, between is GQA (0 = n_heads)", min=0)
    head_dim: int = f(0, "Width of each head (0 = dim / n_heads)", min=0)
    bias: bool = f(False, "Biases on the q, k, v and output projections")
    qkv_bias: bool = f(False, "Biases on q, k and v only, none on the output projection (Qwen2)")
    causal: bool = f(True, "Each position sees only earlier ones (decoder)")
    window: int = f(0, "Sliding / locally banded window in tokens (0 = full attention)", "tokens", min=0)
    kernel: str = f("sdpa", "sdpa = F.scaled_dot_product_attention (FlashAttention on GPU); eager can return weights",
                    choices=("sdpa", "eager"))
    qk_norm: bool = f(False, "RMSNorm on queries and keys per head before the dot product")
    qk_norm_eps: float = f(1e-5, "RMSNorm eps of the QK-norm (Qwen3: the model's rms_norm_eps)", min=0.0)
    zero_init_output: bool = f(False, "Initialise wo to zero (modded-nanogpt)")

    @property
    def kv_heads(self) -> int:
        return self.n_kv_heads or self.n_heads

    @property
    def hd(self) -> int:
        return self.head_dim or (self.dim // self.n_heads if self.n_heads else 0)

    def extra_checks(self):
        out = []
        if self.n_heads and not self.head_dim and self.dim % self.n_heads:
            out.append(f"dim {self.dim} is not divisible by n_heads {self.n_heads}: set head_dim or change the head count")
        if self.n_heads and self.kv_heads and self.n_heads % self.kv_heads:
            out.append(f"n_heads {self.n_heads} is not divisible by n_kv_heads {self.kv_heads}: each KV head must serve a whole group of query heads")
        if self.kv_heads > self.n_heads:
            out.append(f"n_kv_heads {self.kv_heads} exceeds n_heads {self.n_heads}")
        return out

    def warnings(self):
        if self.head_dim and self.head_dim * self.n_heads != self.dim:
            return [f"n_heads × head_dim = {self.n_heads * self.head_dim} differs from dim {self.dim} (allowed, as in GPT-3 XL/13B)"]
        return []


@dataclass(frozen=True)
class CrossAttentionConfig(ConfigBase):
    dim: int = f(64, "Width of the residual stream", min=1)
    n_heads: int = f(8, "Heads", min=1)
    head_dim: int = f(0, "Width of each head (0 = dim / n_heads; GShard: 128 with 16 heads at width 1024)", min=0)
    bias: bool = f(False, "Biases on the projections")
    kernel: str = f("sdpa", "Attention kernel", choices=("sdpa", "eager"))

    @property
    def hd(self) -> int:
        return self.head_dim or (self.dim // self.n_heads if self.n_heads else 0)

    def extra_checks(self):
        if not self.head_dim and self.dim % self.n_heads:
            return [f"dim {self.dim} is not divisible by n_heads {self.n_heads}: set head_dim or change the head count"]
        return []


@dataclass(frozen=True)
class MLAConfig(ConfigBase):
    dim: int = f(64, "Width of the residual stream", min=1)
    n_heads: int = f(4, "Heads", min=1)
    q_lora_rank: int = f(32, "Low-rank query bottleneck (0 = full-rank wq)", min=0)
    kv_lora_rank: int = f(16, "Compressed KV latent: what the cache stores", min=1)
    qk_nope_head_dim: int = f(16, "Per-head query/key dims without position", min=1)
    qk_rope_head_dim: int = f(8, "Decoupled RoPE dims (shared key across heads)", min=2)
    v_head_dim: int = f(16, "Per-head value dims", min=1)
    eps: float = f(1e-6, "RMSNorm eps of the latent norms", min=0.0)
    kernel: str = f("sdpa", "Attention kernel", choices=("sdpa", "eager"))
    causal: bool = f(True, "Causal mask")

    def extra_checks(self):
        return [] if self.qk_rope_head_dim % 2 == 0 else [f"qk_rope_head_dim must be even (got {self.qk_rope_head_dim})"]


@dataclass(frozen=True)
class MLPConfig(ConfigBase):
    dim: int = f(64, "Width of the residual stream", min=1)
    hidden_dim: int = f(256, "Inner width (classic: 4 × dim)", min=1)
    activation: str = f("gelu", "Non-linearity", choices=("relu", "gelu"))
    bias: bool = f(True, "Biases on both projections")


@dataclass(frozen=True)
class SwiGLUConfig(ConfigBase):
    dim: int = f(64, "Width of the residual stream", min=1)
    hidden_dim: int = f(172, "Inner width (LLaMA: ≈ 8/3 × dim, rounded)", min=1)
    bias: bool = f(False, "Biases on w1, w2, w3")
    zero_init_output: bool = f(False, "Initialise w2 to zero (modded-llama2.c)")


@dataclass(frozen=True)
class MoEConfig(ConfigBase):
    dim: int = f(64, "Width of the residual stream", min=1)
    n_experts: int = f(8, "Routed experts", min=1)
    top_k: int = f(2, "Experts chosen per token", min=1)
    expert_hidden_dim: int = f(128, "Inner width of each expert", min=1)
    n_shared: int = f(0, "Shared experts every token always uses (DeepSeekMoE)", min=0)
    shared_gate: bool = f(False, "Scale the shared experts' output by a learned sigmoid gate per token (Qwen2-MoE)")
    expert: str = f("swiglu", "Expert feed-forward type", choices=("swiglu", "relu", "gelu"))
    expert_bias: bool = f(False, "Biases inside the experts (GShard-style MLP experts)")
    score: str = f("softmax", "Router score function (sqrtsoftplus: √softplus, DeepSeek-V4)",
                   choices=("softmax", "sigmoid", "sqrtsoftplus"))
    norm_topk: bool = f(True, "Renormalise the chosen gate weights to sum to 1")
    aux_loss_weight: float = f(0.01, "Weight of the load-balancing auxiliary loss (0 = none)", min=0.0)
    bias_balancing: bool = f(False, "DeepSeek-V3 auxiliary-loss-free balancing: per-expert bias on the selection scores")
    bias_update_rate: float = f(0.001, "Step size γ of the balancing bias update", min=0.0)
    route_scale: float = f(1.0, "Multiplier on the routed output (DeepSeek: routed_scaling_factor)", min=0.0)
    swiglu_limit: float = f(0.0, "Clamp inside SwiGLU experts: gate ≤ limit, |up| ≤ limit (DeepSeek-V4: 10; 0 = none)", min=0.0)

    def extra_checks(self):
        if self.top_k > self.n_experts:
            return [f"top_k {self.top_k} exceeds n_experts {self.n_experts}: a token cannot pick more experts than exist"]
        return []


@dataclass(frozen=True)
class ResidualConfig(ConfigBase):
    pass


@dataclass(frozen=True)
class LMHeadConfig(ConfigBase):
    dim: int = f(64, "Width of the residual stream", min=1)
    vocab_size: int = f(512, "Vocabulary size", "tokens", min=1)
    tie_to: str = f("", "Reuse this embedding node's table as the output matrix (tied head)")
    pad_vocab_to: int = f(0, "Pad the output rows to a multiple of this (untied padded head, 0 = off)", min=0)
    softcap: float = f(0.0, "Logit soft-capping: cap·tanh(logits/cap) (0 = off)", min=0.0)
    zero_init: bool = f(False, "Initialise the output matrix to zero (modded-nanogpt)")

    @property
    def rows(self) -> int:
        p = self.pad_vocab_to
        return ((self.vocab_size + p - 1) // p) * p if p else self.vocab_size


@dataclass(frozen=True)
class MTPConfig(ConfigBase):
    dim: int = f(64, "Width of the residual stream", min=1)
    vocab_size: int = f(512, "Vocabulary size", "tokens", min=1)
    loss_weight: float = f(0.3, "Weight λ of the t+2 prediction loss", min=0.0)
    store_copies: bool = f(False, "Keep own copies of embedding and output head (as DeepSeek-V3's released checkpoint does)")
    eps: float = f(1e-6, "RMSNorm eps", min=0.0)


@dataclass(frozen=True)
class VisionEncoderConfig(ConfigBase):
    """A ViT image tower plus the projector that maps merged patches into the text stream
    (Kimi's MoonViT: SigLIP-so400m-shaped). vit_layers = 0 builds nothing at that scale."""
    dim: int = f(64, "Width of the text stream the projector writes into", min=1)
    vit_dim: int = f(32, "Width of the vision transformer (MoonViT: 1152)", min=1)
    vit_layers: int = f(1, "Vision transformer layers (MoonViT: 27; 0 = not built at this scale)", min=0)
    vit_heads: int = f(2, "Vision attention heads (MoonViT: 16)", min=1)
    vit_hidden_dim: int = f(64, "Inner width of the vision MLP (MoonViT: 4304)", min=1)
    patch_size: int = f(4, "Square image patch, in pixels (MoonViT: 14)", "px", min=1)
    pos_table: int = f(16, "Rows of the learned patch-position table, a square grid interpolated to the image (Kimi-VL: 27 × 27; K2.5/K2.6: 64 × 64)", min=1)
    merge: int = f(2, "Patches merged per side before the projector (pixel shuffle: 2 → 2×2)", min=1)

    def extra_checks(self):
        return [f"vit_dim {self.vit_dim} is not divisible by vit_heads {self.vit_heads}"] if self.vit_dim % self.vit_heads else []

    def param_count(self) -> int:
        """Exact parameters of blocks.nn.vision.VisionEncoder (0 when not built at this scale)."""
        if not self.vit_layers:
            return 0
        vd, h, m = self.vit_dim, self.vit_hidden_dim, self.merge * self.merge * self.vit_dim
        patch = 3 * self.patch_size ** 2 * vd + vd + self.pos_table * vd
        layer = (3 * vd * vd + 3 * vd) + (vd * vd + vd) + (vd * h + h) + (h * vd + vd) + 2 * 2 * vd
        projector = 2 * vd + (m * m + m) + (m * self.dim + self.dim)  # norm per patch, then merged
        return patch + self.vit_layers * layer + 2 * vd + projector


CONFIG_CLASSES = {
    name: cls for name, cls in globals().items() if name.endswith("Config") and isinstance(cls, type)
}
