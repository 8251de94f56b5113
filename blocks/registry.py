"""The block registry: what each block is, its ports, and its exact cost formulas.

Pure Python (no torch).  Every formula takes the block's resolved ``Config`` and returns an
exact integer, so that accounting never instantiates a tensor.  FLOPs count the forward pass
of one token at a given context length, 2 FLOPs per multiply-add, matrix products only
(norms, softmax and activations are O(d) and left out, as in Kaplan et al. 2020).
"""
from __future__ import annotations

from blocks import configs as C
from blocks import configs_v4 as V
from blocks.specs_v4 import V4_SPECS
from blocks.spec import FAMILY_TOPICS, X_IN, X_OUT, BlockSpec, PortSpec, spec as _spec  # noqa: F401 (re-exported)

# Roles: what a block *is* to the rest of the app. Core code (validation, accounting, the
# compiler, inspection, the llama2.c checker, layout, the diff) asks for a role, never for a
# kind name, so a new block kind is added here and in blocks/ only.
ROLES = {
    "input": "token ids enter the model here (one per sequence: tokens, or an encoder's source)",
    "token_table": "a token-embedding table: what a tied head or MTP may share",
    "embedding_params": "its parameters count as embedding parameters (Kaplan et al.'s non-embedding split)",
    "positional": "adds absolute positions to the residual stream (one positional scheme per path)",
    "position_table": "a learned table with one row per position: it must cover the context",
    "rotary": "produces RoPE tables for attention; called with the sequence length; must cover the context",
    "norm": "normalises the residual stream (pre-norm / post-norm placement is wiring)",
    "attention": "mixes positions; can return its attention weights for inspection",
    "self_attention": "attends within its own sequence and may take rotary positions",
    "ffn": "per-position feed-forward (a dense FFN or a mixture of experts)",
    "moe": "routes each token to a few experts; keeps a tokens_per_expert buffer",
    "residual": "adds a sub-block's output back onto the skip path (x + f(x))",
    "streams": "reads or writes mHC's hc_mult residual streams (DeepSeek-V4's hyper-connections)",
    "lm_head": "the model's logits head (exactly one per model)",
    "vision": "turns images into vectors of the text stream (runs once per image, not per text token)",
    "aux_head": "a training-only extra head (no outputs); its parameters are counted apart, "
                "including the one copy of the last layer it contains",
}
# Attention geometry: how keys/values are kept (inspection and the diff explain it).
GEOMETRIES = {
    "grouped": "query heads share n_kv_heads key/value heads (MHA, GQA, MQA)",
    "latent": "keys/values rebuilt from one compressed cached latent (MLA)",
    "cross": "queries attend to another sequence (the encoder's output)",
    "compressed": "a sliding window of recent keys plus pooled entries of every m earlier tokens (DeepSeek-V4)",
}
# llama2.c's run.c roles a block can fill exactly (subject to config checks); "" = none.
LLAMA2C_ROLES = ("tokens", "tok_embeddings", "rope", "norm", "attention", "feed_forward", "residual", "output")

# Port types. "hidden" is the residual stream (B, T, dim); "rotary" carries RoPE tables;
# "streams" is mHC's widened residual stream (B, T, hc_mult, dim).
PORT_TYPES = ("tokens", "hidden", "rotary", "logits", "streams")

# Families drive colours and palette groups in the GUI, in this order.
FAMILIES = {
    "input": "Inputs",
    "embedding": "Embeddings & positions",
    "norm": "Norms",
    "attention": "Attention",
    "ffn": "Feed-forward",
    "moe": "Mixture of experts",
    "structure": "Residual stream",
    "head": "Heads",
}


def _attn_params(c: C.AttentionConfig) -> int:
    hd, nh, nkv, d = c.hd, c.n_heads, c.kv_heads, c.dim
    p = d * nh * hd + 2 * d * nkv * hd + nh * hd * d
    if c.bias or c.qkv_bias:
        p += nh * hd + 2 * nkv * hd + (d if c.bias else 0)
    if c.qk_norm:
        p += 2 * hd
    return p


def _attn_weights(c: C.AttentionConfig) -> int:
    hd, nh, nkv, d = c.hd, c.n_heads, c.kv_heads, c.dim
    return d * nh * hd + 2 * d * nkv * hd + nh * hd * d


def _seen(ctx: int, window: int) -> int:
    """Keys one token attends to at position ctx (the per-token cost at full context)."""
    return min(ctx, window) if window else ctx


def _mla_weights(c: C.MLAConfig) -> int:
    qd = c.qk_nope_head_dim + c.qk_rope_head_dim
    q = c.dim * c.q_lora_rank + c.q_lora_rank * c.n_heads * qd if c.q_lora_rank else c.dim * c.n_heads * qd
    kv = c.dim * (c.kv_lora_rank + c.qk_rope_head_dim) + c.kv_lora_rank * c.n_heads * (c.qk_nope_head_dim + c.v_head_dim)
    return q + kv + c.n_heads * c.v_head_dim * c.dim


def _mla_params(c: C.MLAConfig) -> int:
    return _mla_weights(c) + (c.q_lora_rank if c.q_lora_rank else 0) + c.kv_lora_rank


def _expert_weights(c: C.MoEConfig, width: int) -> int:
    return (3 if c.expert == "swiglu" else 2) * c.dim * width


def _expert_params(c: C.MoEConfig, width: int) -> int:
    extra = (width + c.dim) if (c.expert_bias and c.expert != "swiglu") else (2 * width + c.dim if c.expert_bias else 0)
    return _expert_weights(c, width) + extra


def _shared_params(c: C.MoEConfig) -> int:
    if not c.n_shared:
        return 0
    return _expert_params(c, c.n_shared * c.expert_hidden_dim) + (c.dim if c.shared_gate else 0)


def _moe_params(c: C.MoEConfig) -> int:
    shared = _shared_params(c)
    return c.n_experts * _expert_params(c, c.expert_hidden_dim) + shared + c.dim * c.n_experts


def _moe_active(c: C.MoEConfig) -> int:
    shared = _shared_params(c)
    return c.top_k * _expert_params(c, c.expert_hidden_dim) + shared + c.dim * c.n_experts


def _moe_flops(c: C.MoEConfig, ctx: int) -> int:
    w = (c.top_k + c.n_shared) * _expert_weights(c, c.expert_hidden_dim) + c.dim * c.n_experts
    w += c.dim if c.n_shared and c.shared_gate else 0
    return 2 * w


def _moe_act(c: C.MoEConfig, ctx: int) -> int:
    per = {"swiglu": 4, "relu": 1, "gelu": 2}[c.expert] * c.expert_hidden_dim + c.dim
    return c.dim + c.n_experts * 2 + (c.top_k + c.n_shared) * per


_NO_POSITION_TABLE = "llama2.c has no position table; delete it (RoPE in attention gives positions)"


SPECS = [
    _spec(kind="input", 
          roles=("input",), llama2c="tokens", title="Input tokens", family="input",
          summary="Token ids entering the model: the text (decoder) or the source sequence (encoder).",
          config_cls=C.InputConfig, inputs=(), outputs=(PortSpec("tokens", "tokens", help="token ids (B, T)"),),
          module="blocks.nn.embeddings:InputTokens", key_fields=("name",)),
    _spec(kind="token_embedding", 
          roles=("token_table", "embedding_params"), llama2c="tok_embeddings", topic="Token embedding", title="Token embedding", family="embedding",
          summary="Looks up a learned vector of width dim for every token id.",
          config_cls=C.TokenEmbeddingConfig, inputs=(PortSpec("tokens", "tokens"),), outputs=(X_OUT,),
          module="blocks.nn.embeddings:TokenEmbedding",
          params=lambda c: 0 if c.tie_to else c.vocab_size * c.dim,
          act_elems=lambda c, ctx: c.dim, key_fields=("vocab_size", "dim", "tie_to")),
    _spec(kind="learned_positions", 
          roles=("positional", "position_table", "embedding_params"), llama2c_fix=_NO_POSITION_TABLE, title="Learned positions", family="embedding",
          summary="Adds a learned vector per absolute position (GPT-1/2/3); cannot extrapolate past its table.",
          config_cls=C.LearnedPositionsConfig, inputs=(X_IN,), outputs=(X_OUT,),
          module="blocks.nn.embeddings:LearnedPositions",
          params=lambda c: c.context * c.dim, key_fields=("context",)),
    _spec(kind="sinusoidal_positions", 
          roles=("positional",), llama2c_fix=_NO_POSITION_TABLE, title="Sinusoidal positions", family="embedding",
          summary="Adds fixed sine/cosine waves of geometric wavelengths per position (2017 Transformer).",
          config_cls=C.SinusoidalPositionsConfig, inputs=(X_IN,), outputs=(X_OUT,),
          module="blocks.nn.embeddings:SinusoidalPositions"),
    _spec(kind="rope", 
          roles=("rotary",), llama2c="rope", title="RoPE", family="embedding",
          summary="Rotary position embedding: rotates query/key pairs by an angle proportional to position.",
          config_cls=C.RopeConfig, inputs=(), outputs=(PortSpec("rope", "rotary", help="cos/sin tables"),),
          module="blocks.nn.embeddings:Rope", key_fields=("theta", "yarn_factor", "llama3_factor", "head_dim")),
    _spec(kind="layernorm", 
          roles=("norm",), llama2c_fix="LayerNorm: llama2.c normalizes with RMSNorm (eps 1e-5); replace it with an RMSNorm block", title="LayerNorm", family="norm",
          summary="Re-centres and re-scales each vector to zero mean and unit variance, then applies γ (and β).",
          config_cls=C.LayerNormConfig, inputs=(X_IN,), outputs=(X_OUT,),
          module="blocks.nn.norms:LayerNorm",
          params=lambda c: c.dim * (2 if c.bias else 1), act_elems=lambda c, ctx: c.dim, key_fields=("bias",)),
    _spec(kind="rmsnorm", 
          roles=("norm",), llama2c="norm", title="RMSNorm", family="norm",
          summary="Scales each vector by its root-mean-square; drops LayerNorm's re-centring (Zhang & Sennrich 2019).",
          config_cls=C.RMSNormConfig, inputs=(X_IN,), outputs=(X_OUT,),
          module="blocks.nn.norms:RMSNorm",
          params=lambda c: c.dim, act_elems=lambda c, ctx: c.dim, key_fields=("eps",)),
    _spec(kind="attention", 
          roles=("attention", "self_attention"), geometry="grouped", llama2c="attention", title="Self-attention", family="attention",
          summary="Each position mixes in earlier positions weighted by query·key similarity; "
                  "n_kv_heads < n_heads shares keys/values (GQA, MQA).",
          config_cls=C.AttentionConfig, inputs=(X_IN, PortSpec("rope", "rotary", optional=True)), outputs=(X_OUT,),
          module="blocks.nn.attention:Attention",
          params=_attn_params,
          flops=lambda c, ctx: 2 * _attn_weights(c) + 2 * _seen(ctx, c.window) * c.n_heads * 2 * c.hd,
          # cached per generated token; a bidirectional (encoder) attention runs once over the
          # source and is never cached
          kv_elems=lambda c: 2 * c.kv_heads * c.hd if c.causal else 0,
          act_elems=lambda c, ctx: c.dim + 4 * c.n_heads * c.hd + (c.n_heads * ctx if c.kernel == "eager" else c.n_heads),
          aliases=("self_attention", "mha", "gqa"),
          key_fields=("n_heads", "n_kv_heads", "window", "kernel")),
    _spec(kind="cross_attention", 
          roles=("attention",), geometry="cross", llama2c_fix="cross-attention needs an encoder: llama2.c is decoder-only; delete it", title="Cross-attention", family="attention",
          summary="Decoder queries attend to the encoder's output (the 2017 encoder-decoder).",
          config_cls=C.CrossAttentionConfig,
          inputs=(X_IN, PortSpec("memory", "hidden", help="encoder output")), outputs=(X_OUT,),
          module="blocks.nn.attention:CrossAttention",
          params=lambda c: 4 * c.dim * c.n_heads * c.hd + ((3 * c.n_heads * c.hd + c.dim) if c.bias else 0),
          flops=lambda c, ctx: 2 * 4 * c.dim * c.n_heads * c.hd + 2 * ctx * 2 * c.n_heads * c.hd,
          act_elems=lambda c, ctx: 6 * c.dim + c.n_heads * (ctx if c.kernel == "eager" else 1),
          key_fields=("n_heads",)),
    _spec(kind="mla", 
          roles=("attention", "self_attention"), geometry="latent", llama2c_fix="multi-head latent attention: llama2.c runs plain (GQA) attention; replace it with an attention block", title="Multi-head latent attention", family="attention",
          summary="DeepSeek's MLA: keys and values are rebuilt from a small cached latent plus one shared RoPE key.",
          config_cls=C.MLAConfig, inputs=(X_IN, PortSpec("rope", "rotary")), outputs=(X_OUT,),
          module="blocks.nn.mla:MLA",
          params=_mla_params,
          flops=lambda c, ctx: 2 * _mla_weights(c) + 2 * ctx * c.n_heads * (c.qk_nope_head_dim + c.qk_rope_head_dim + c.v_head_dim),
          kv_elems=lambda c: c.kv_lora_rank + c.qk_rope_head_dim,
          act_elems=lambda c, ctx: 2 * c.dim + c.q_lora_rank + c.kv_lora_rank
          + 4 * c.n_heads * (c.qk_nope_head_dim + c.qk_rope_head_dim + c.v_head_dim),
          key_fields=("n_heads", "kv_lora_rank", "q_lora_rank")),
    _spec(kind="mlp", 
          roles=("ffn",), llama2c_fix=lambda c: (f"{c.activation.upper()} MLP: llama2.c's feed-forward is SwiGLU, w2(silu(w1 x)·w3 x); "
                                                  "replace it with a SwiGLU block"), title="MLP", family="ffn",
          summary="Two linear layers with a ReLU or GELU between them, applied to every position.",
          config_cls=C.MLPConfig, inputs=(X_IN,), outputs=(X_OUT,),
          module="blocks.nn.ffn:MLP",
          params=lambda c: 2 * c.dim * c.hidden_dim + ((c.hidden_dim + c.dim) if c.bias else 0),
          flops=lambda c, ctx: 2 * 2 * c.dim * c.hidden_dim,
          # ReLU's backward reuses its output (the tensor w2 keeps); GELU also needs its input
          act_elems=lambda c, ctx: c.dim + (1 if c.activation == "relu" else 2) * c.hidden_dim,
          key_fields=("hidden_dim", "activation")),
    _spec(kind="swiglu", 
          roles=("ffn",), llama2c="feed_forward", title="SwiGLU", family="ffn",
          summary="Gated feed-forward: w2(silu(w1·x) ⊙ w3·x) (Shazeer 2020; LLaMA).",
          config_cls=C.SwiGLUConfig, inputs=(X_IN,), outputs=(X_OUT,),
          module="blocks.nn.ffn:SwiGLU",
          params=lambda c: 3 * c.dim * c.hidden_dim + ((2 * c.hidden_dim + c.dim) if c.bias else 0),
          flops=lambda c, ctx: 2 * 3 * c.dim * c.hidden_dim,
          act_elems=lambda c, ctx: c.dim + 4 * c.hidden_dim,
          key_fields=("hidden_dim",)),
    _spec(kind="moe", 
          roles=("ffn", "moe"), llama2c_fix="mixture of experts: llama2.c has one dense SwiGLU per layer; replace it with a SwiGLU block", title="Mixture of experts", family="moe",
          summary="A router sends each token to its top-k experts (plus any shared ones); only those run.",
          config_cls=C.MoEConfig, outputs=(X_OUT,),
          inputs=(X_IN, PortSpec("tokens", "tokens", optional=True,
                                 help="token ids: a learned router ignores them; they let hash-routed layers (DeepSeek-V4) share the node")),
          module="blocks.nn.moe:MoE",
          params=_moe_params, active=_moe_active, flops=_moe_flops, act_elems=_moe_act,
          key_fields=("n_experts", "top_k", "n_shared", "score")),
    _spec(kind="residual", 
          roles=("residual",), llama2c="residual", title="Residual add", family="structure",
          summary="Adds a sub-block's output back onto the residual stream: x + f(x).",
          config_cls=C.ResidualConfig,
          inputs=(PortSpec("x", "hidden", help="skip path"), PortSpec("y", "hidden", help="sub-block output")),
          outputs=(X_OUT,), module="blocks.nn.structure:Residual"),
    _spec(kind="lm_head", 
          roles=("lm_head",), llama2c="output", title="LM head", family="head",
          summary="Projects the final vector to one logit per vocabulary entry (tied: reuses the embedding table).",
          config_cls=C.LMHeadConfig, inputs=(X_IN,), outputs=(PortSpec("logits", "logits"),),
          module="blocks.nn.heads:LMHead",
          params=lambda c: 0 if c.tie_to else c.rows * c.dim,
          flops=lambda c, ctx: 2 * c.rows * c.dim,
          act_elems=lambda c, ctx: c.dim + 3 * c.rows,
          key_fields=("tie_to", "softcap", "pad_vocab_to")),
    _spec(kind="mtp", 
          roles=("aux_head",), llama2c_fix="multi-token prediction head: llama2.c has only the LM head; delete it", title="Multi-token prediction", family="head",
          summary="DeepSeek-V3's MTP module: one extra transformer block predicts token t+2; its loss is added with weight λ.",
          config_cls=C.MTPConfig, inputs=(X_IN,), outputs=(),
          module="blocks.nn.heads:MTP",
          # Own parameters only; the accounting adds one copy of the layer block it contains.
          params=lambda c: 2 * c.dim * c.dim + 3 * c.dim + (2 * c.vocab_size * c.dim if c.store_copies else 0),
          key_fields=("loss_weight", "store_copies")),
    _spec(kind="vision_encoder", roles=("vision",), title="Vision encoder", family="input",
          summary="A ViT image tower and projector (Kimi's MoonViT): image patches become tokens in the text stream; "
                  "a text-only batch passes through unchanged.",
          config_cls=C.VisionEncoderConfig, inputs=(X_IN,), outputs=(X_OUT,),
          module="blocks.nn.vision:VisionEncoder",
          # runs once per image: no text token uses it, so no active parameters, FLOPs or KV per token
          params=lambda c: c.param_count(), active=lambda c: 0,
          key_fields=("vit_layers", "vit_dim", "patch_size")),
]

SPECS += [
    _spec(kind="hash_moe", roles=("ffn", "moe"), title="Hash-routed experts", family="moe",
          llama2c_fix="hash-routed experts: llama2.c has one dense SwiGLU per layer; replace it with a SwiGLU block",
          summary="DeepSeek-V4's first MoE layers: a fixed table of token id → experts picks which experts run; "
                  "the learned gate only weighs them.",
          config_cls=V.HashMoEConfig, inputs=(X_IN, PortSpec("tokens", "tokens", help="token ids (B, T): the table's rows")),
          outputs=(X_OUT,), module="blocks.nn.hash_moe:HashMoE",
          params=_moe_params, active=_moe_active, flops=_moe_flops, act_elems=_moe_act,
          key_fields=("n_experts", "top_k", "n_shared", "score")),
] + V4_SPECS

REGISTRY: dict[str, BlockSpec] = {s.kind: s for s in SPECS}


def kinds_with(role: str) -> tuple[str, ...]:
    """Every registered kind that plays ``role`` (registry order)."""
    return tuple(s.kind for s in REGISTRY.values() if role in s.roles)


def has_role(kind: str, role: str) -> bool:
    return role in get_spec(kind).roles
_ALIASES = {a: s.kind for s in SPECS for a in s.aliases}


class UnknownBlockKind(KeyError):
    pass


def get_spec(kind: str) -> BlockSpec:
    kind = _ALIASES.get(kind, kind)
    try:
        return REGISTRY[kind]
    except KeyError:
        known = ", ".join(sorted(REGISTRY))
        raise UnknownBlockKind(f"unknown block kind {kind!r}; known kinds: {known}") from None
