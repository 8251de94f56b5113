"""A Hugging Face config.json, read as this block library's settings, family by family.

The mapping is the app's own (no ``transformers`` at run time); tests compare every count with
what transformers builds for the same config on the meta device. Defaults for a missing key are
those of transformers' config class for that family, and only keys that change the network are
read. A value the blocks cannot express raises one line naming the key — never a silent count.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from studio.core import errors as E

DENSE = ("llama", "mistral", "qwen2", "qwen3")
FAMILIES = DENSE + ("mixtral", "qwen2_moe", "qwen3_moe", "deepseek_v2", "deepseek_v3")
BASE_PRESET = {"llama": "2023-07-llama-2", "mistral": "2023-07-llama-2", "qwen2": "2023-07-llama-2",
               "qwen3": "2023-07-llama-2", "mixtral": "2023-12-mixtral", "qwen3_moe": "2023-12-mixtral",
               "qwen2_moe": "2023-12-mixtral", "deepseek_v2": "2024-05-deepseek-v2",
               "deepseek_v3": "2024-12-deepseek-v3"}
# transformers' own defaults for the keys read here, where the family's config class has one
DEFAULT_EPS = {"mixtral": 1e-5}  # every other family listed: 1e-6
DEFAULT_THETA = {"mixtral": 1e6, "qwen2_moe": 1e6, "qwen3": 1e4, "qwen3_moe": 1e4}  # others 1e4


@dataclass
class Settings:
    family: str
    paper: dict  # the scale's dims
    attention: dict = field(default_factory=dict)  # attention node settings
    ffn: dict = field(default_factory=dict)  # feed_forward (MoE) node settings
    eps: float = 1e-6
    theta: float = 1e4
    tied: bool = False
    mtp: bool = False
    notes: list = field(default_factory=list)


class _Config:
    """config.json values with one-line errors that name the key."""

    def __init__(self, data: dict, where: str):
        self.data, self.where = data, where

    def need(self, key: str):
        v = self.data.get(key)
        if v is None:
            raise E.LoadError(f"{self.where}: missing '{key}', which this {self.data.get('model_type')} config needs")
        return self.number(key, v)

    def get(self, key: str, default=None):
        v = self.data.get(key)
        return default if v is None else self.number(key, v)

    def number(self, key, v):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise E.LoadError(f"{self.where}: '{key}' must be a number, got {v!r:.40}")
        return v

    def flag(self, key: str, default=False) -> bool:
        v = self.data.get(key, default)
        if v is None:
            return default
        if not isinstance(v, bool):
            raise E.LoadError(f"{self.where}: '{key}' must be true or false, got {v!r:.40}")
        return v

    def refuse(self, key: str, why: str):
        raise E.LoadError(f"{self.where}: {key} {short(self.data.get(key))}: {why}")


def short(v) -> str:
    return repr(v) if not isinstance(v, (list, dict)) else (repr(v)[:60] + ("…" if len(repr(v)) > 60 else ""))


def read_settings(data: dict, where: str) -> Settings:
    """The family and settings of a config.json mapping, or one LoadError naming what cannot be built."""
    mt = data.get("model_type")
    if mt not in FAMILIES:
        raise E.LoadError(f"{where}: model_type {short(mt)} is not a family this block library builds "
                          f"(it builds {', '.join(FAMILIES)})")
    c = _Config(data, where)
    _check_common(c, mt)
    s = Settings(mt, _dense_dims(c, mt), eps=float(c.get("rms_norm_eps", DEFAULT_EPS.get(mt, 1e-6))),
                 theta=float(c.get("rope_theta", _rope_parameter(data, "rope_theta", DEFAULT_THETA.get(mt, 1e4)))),
                 tied=c.flag("tie_word_embeddings"))
    _rope_scaling(c, s)
    if mt.startswith("deepseek"):
        _deepseek(c, s)
    else:
        _attention(c, s)
    if mt in ("mixtral", "qwen3_moe", "qwen2_moe"):
        _softmax_moe(c, s)
    return s


def _rope_parameter(data: dict, key: str, default):
    params = data.get("rope_parameters")  # transformers 5 writes RoPE settings here
    return params.get(key, default) if isinstance(params, dict) else default


def _check_common(c: _Config, mt: str) -> None:
    act = c.data.get("hidden_act", "silu")
    if act != "silu":
        c.refuse("hidden_act", "the feed-forward blocks here are SwiGLU with SiLU; no other activation is built")
    for key in ("attn_logit_softcapping", "final_logit_softcapping"):
        if c.data.get(key):
            c.refuse(key, "logit soft-capping is not modelled for this family")
    if c.get("partial_rotary_factor", 1.0) != 1.0:
        c.refuse("partial_rotary_factor", "RoPE here rotates the whole head (or MLA's rope dims)")
    if mt in ("qwen2", "qwen3", "qwen2_moe", "qwen3_moe") and c.flag("use_sliding_window"):
        c.refuse("use_sliding_window", "a per-layer sliding-window pattern (max_window_layers) has no block here")
    types = c.data.get("layer_types")
    if isinstance(types, list) and any(t != "full_attention" for t in types):
        c.refuse("layer_types", "only full attention in every layer is built here")


def _dense_dims(c: _Config, mt: str) -> dict:
    d, nh = int(c.need("hidden_size")), int(c.need("num_attention_heads"))
    dims = {"dim": d, "n_layers": int(c.need("num_hidden_layers")), "n_heads": nh,
            "n_kv_heads": int(c.get("num_key_value_heads", nh)), "vocab_size": int(c.need("vocab_size")),
            "context": int(c.get("max_position_embeddings", 4096))}
    if mt in DENSE:
        dims["hidden_dim"] = int(c.need("intermediate_size"))
    head_dim = c.get("head_dim", 128 if mt == "qwen3" else None)  # Qwen3Config's default; the rest: dim / heads
    if head_dim is not None and not mt.startswith("deepseek") and int(head_dim) * nh != d:
        dims["head_dim"] = int(head_dim)  # explicit only where it differs from dim / n_heads
    return dims


def _rope_scaling(c: _Config, s: Settings) -> None:
    """rope_scaling (transformers 4) or rope_parameters (5) as the RoPE block's own settings:
    Llama 3's frequency scaling and YaRN are built; other kinds are refused by name."""
    rs = c.data.get("rope_scaling")
    if not isinstance(rs, dict):
        params = c.data.get("rope_parameters")
        rs = params if isinstance(params, dict) else None
    kind = (rs or {}).get("rope_type") or (rs or {}).get("type") or "default"
    if kind == "default":
        return
    factor = c.number("rope_scaling.factor", rs.get("factor", 1.0))
    orig = rs.get("original_max_position_embeddings")
    if kind == "llama3":
        s.paper.update(llama3_factor=float(factor), llama3_original_context=int(orig or 8192),
                       llama3_low_freq_factor=float(rs.get("low_freq_factor", 1.0)),
                       llama3_high_freq_factor=float(rs.get("high_freq_factor", 4.0)))
    elif kind == "yarn":
        s.paper.update(yarn_factor=float(factor), yarn_original_context=int(orig or 4096),
                       yarn_beta_fast=float(rs.get("beta_fast", 32.0)), yarn_beta_slow=float(rs.get("beta_slow", 1.0)))
        if rs.get("mscale_all_dim"):
            s.notes.append(f"YaRN's attention temperature (mscale_all_dim {rs['mscale_all_dim']:g}) scales the "
                           "softmax at long context; it adds no parameters and is not modelled here")
    else:
        raise E.LoadError(f"{c.where}: rope_scaling {kind!r}: the RoPE block here builds Llama 3 scaling and YaRN, "
                          "not this kind")


def _attention(c: _Config, s: Settings) -> None:
    mt = s.family
    if mt in ("qwen2", "qwen2_moe"):
        s.attention["qkv_bias"] = True  # Qwen2: biases on q, k, v; none on the output projection
    elif c.flag("attention_bias"):
        s.attention["bias"] = True  # LLaMA's attention_bias: all four projections
    if mt in ("qwen3", "qwen3_moe"):
        s.attention.update(qk_norm=True, qk_norm_eps=s.eps)  # Qwen3 normalises q and k with rms_norm_eps
    if c.flag("mlp_bias"):
        s.ffn["bias"] = True
    window = c.data.get("sliding_window")
    if mt in ("mistral", "mixtral") and window:
        s.paper["local_window"] = int(c.number("sliding_window", window))
        s.attention["window"] = "$local_window"


def _softmax_moe(c: _Config, s: Settings) -> None:
    mt = s.family
    if mt == "mixtral":
        s.paper.update(n_experts=int(c.get("num_local_experts", 8)), top_k=int(c.get("num_experts_per_tok", 2)),
                       expert_hidden_dim=int(c.need("intermediate_size")), hidden_dim=None)
        s.ffn.update(norm_topk=True)
        return
    if int(c.get("decoder_sparse_step", 1)) != 1:
        c.refuse("decoder_sparse_step", "MoE in every other layer is not built here (every layer or first-k dense)")
    if c.data.get("mlp_only_layers"):
        c.refuse("mlp_only_layers", "dense layers at chosen positions are not built here")
    experts = c.get("num_experts", c.get("num_local_experts", 60 if mt == "qwen2_moe" else 128))  # v4 | v5 name
    s.paper.update(n_experts=int(experts),
                   top_k=int(c.get("num_experts_per_tok", 4 if mt == "qwen2_moe" else 8)),
                   expert_hidden_dim=int(c.need("moe_intermediate_size")), hidden_dim=None)
    s.ffn.update(norm_topk=c.flag("norm_topk_prob", mt == "qwen3_moe"))
    if mt == "qwen2_moe":
        _qwen2_shared_expert(c, s)


def _qwen2_shared_expert(c: _Config, s: Settings) -> None:
    """Qwen2-MoE's one shared expert of its own width, scaled by a sigmoid gate: n_shared experts'
    width here, so the width must be a whole number of routed experts' widths."""
    width, expert = int(c.get("shared_expert_intermediate_size", 5632)), s.paper["expert_hidden_dim"]
    if width % expert:
        c.refuse("shared_expert_intermediate_size", f"not a multiple of moe_intermediate_size {expert}: the shared "
                                                    "expert here is n_shared routed experts wide")
    s.paper["n_shared"] = width // expert
    s.ffn["shared_gate"] = bool(width)


def _deepseek(c: _Config, s: Settings) -> None:
    mt = s.family
    if int(c.get("moe_layer_freq", 1)) != 1:
        c.refuse("moe_layer_freq", "MoE in every other layer is not built here (first-k dense, then every layer)")
    if c.flag("attention_bias"):
        c.refuse("attention_bias", "MLA here has no biases")
    q_lora = c.get("q_lora_rank", 0) if "q_lora_rank" in c.data else 1536  # an explicit null: full-rank queries
    s.paper.update(kv_lora_rank=int(c.get("kv_lora_rank", 512)), qk_nope_head_dim=int(c.get("qk_nope_head_dim", 128)),
                   qk_rope_head_dim=int(c.get("qk_rope_head_dim", 64)), v_head_dim=int(c.get("v_head_dim", 128)),
                   n_experts=int(c.need("n_routed_experts")), top_k=int(c.need("num_experts_per_tok")),
                   n_shared=int(c.get("n_shared_experts", 1 if mt == "deepseek_v3" else 2)),
                   expert_hidden_dim=int(c.need("moe_intermediate_size")),
                   first_k_dense=int(c.get("first_k_dense_replace", 3 if mt == "deepseek_v3" else 0)),
                   dense_hidden_dim=int(c.need("intermediate_size")), n_kv_heads=None)
    s.paper["rope_head_dim"] = s.paper["qk_rope_head_dim"]
    if q_lora:
        s.paper["q_lora_rank"] = int(q_lora)
    else:
        s.attention["q_lora_rank"] = 0  # full-rank query projection (DeepSeek-V2-Lite)
    if s.paper["n_shared"] < 1:
        c.refuse("n_shared_experts", "DeepSeek's MoE block here always has a shared expert")
    scoring = c.data.get("scoring_func", "sigmoid" if mt == "deepseek_v3" else "softmax")
    if scoring not in ("softmax", "sigmoid"):
        c.refuse("scoring_func", "the router here scores by softmax or sigmoid")
    method = c.data.get("topk_method", "noaux_tc" if mt == "deepseek_v3" else "greedy")
    s.ffn.update(score=scoring, norm_topk=c.flag("norm_topk_prob", mt == "deepseek_v3"),
                 route_scale=float(c.get("routed_scaling_factor", 2.5 if mt == "deepseek_v3" else 1.0)),
                 bias_balancing=method == "noaux_tc")
    groups, top_groups = c.get("n_group", 1) or 1, c.get("topk_group", 1) or 1
    if groups > 1 and top_groups < groups:
        s.notes.append(f"group-limited routing (n_group {groups}, topk_group {top_groups}) restricts which experts a "
                       "token may pick; it adds no parameters, and the router here picks over all experts")
    depth = int(c.get("num_nextn_predict_layers", 0))
    if depth > 1:
        c.refuse("num_nextn_predict_layers", "one multi-token-prediction module is built here")
    s.mtp = depth == 1
