"""Frozen Configs of DeepSeek-V4's new blocks (pure Python, no torch).

DeepSeek-AI 2026, "DeepSeek-V4: Towards Highly Efficient Million-Token Context Intelligence":
hybrid compressed attention (CSA / HCA beside a sliding window, §2.3), manifold-constrained
hyper-connections (mHC, §2.2) and hash-routed experts in the first MoE layers (§2.1). Field
names follow the released config.json where one exists (hc_mult, o_groups, index_topk, ...).
"""
from __future__ import annotations

from dataclasses import dataclass

from blocks.configs import ConfigBase, MoEConfig, f

ATTENTION_MODES = ("sliding", "csa", "hca")


@dataclass(frozen=True)
class CompressedAttentionConfig(ConfigBase):
    dim: int = f(64, "Width of the residual stream", min=1)
    n_heads: int = f(4, "Query heads; all share one key/value head (shared-KV MQA)", min=1)
    head_dim: int = f(32, "Width of each head and of the one shared key = value (V4: 512)", min=2)
    rope_head_dim: int = f(8, "Trailing dims of each head that RoPE rotates (V4: 64)", min=2)
    q_lora_rank: int = f(32, "Low-rank query bottleneck (V4-Flash 1024, V4-Pro 1536)", min=1)
    o_groups: int = f(2, "Head groups of the grouped output projection (V4-Flash 8, V4-Pro 16)", min=1)
    o_lora_rank: int = f(16, "Width each head group is projected to before mixing (V4: 1024)", min=1)
    sliding_window: int = f(16, "Recent tokens every layer attends to uncompressed (V4: 128)", "tokens", min=1)
    mode: str = f("csa", "sliding = window only; csa = + compressed entries picked by the indexer; "
                  "hca = + every heavily compressed entry", choices=ATTENTION_MODES)
    compress_ratio: int = f(4, "Tokens pooled into one compressed entry (V4: CSA 4, HCA 128)", "tokens", min=1)
    index_n_heads: int = f(2, "Lightning-indexer heads (CSA; V4: 64)", min=1)
    index_head_dim: int = f(8, "Width of each indexer head and indexer key (CSA; V4: 128)", min=1)
    index_topk: int = f(4, "Compressed entries each query keeps (CSA; V4-Flash 512, V4-Pro 1024)", min=1)
    index_loss_weight: float = f(0.01, "Weight of the indexer's KL loss to the attention's choice (DeepSeek-V3.2's "
                                 "sparse-stage indexer training; this weight is the app's)", min=0.0)
    eps: float = f(1e-6, "RMSNorm eps (config.json rms_norm_eps)", min=0.0)

    @property
    def compresses(self) -> bool:
        return self.mode != "sliding"

    @property
    def overlap(self) -> int:
        """CSA pools two overlapping series (windows of 2m, stride m); HCA one (windows of m)."""
        return 2 if self.mode == "csa" else 1

    def extra_checks(self):
        out = []
        if self.rope_head_dim > self.head_dim or self.rope_head_dim % 2:
            out.append(f"rope_head_dim {self.rope_head_dim} must be even and at most head_dim {self.head_dim}")
        if self.n_heads % self.o_groups:
            out.append(f"n_heads {self.n_heads} is not divisible by o_groups {self.o_groups}: each group takes whole heads")
        return out

    def warnings(self):
        if self.compresses and (self.head_dim % self.compress_ratio
                                or (self.mode == "csa" and self.index_head_dim % self.compress_ratio)):
            return [f"head_dim / compress_ratio is not whole: the KV cache per token is rounded down "
                    f"({self.head_dim} / {self.compress_ratio})"]
        return []


@dataclass(frozen=True)
class HyperConnectionConfig(ConfigBase):
    """One mHC site: n residual streams, each dim wide (V4: hc_mult 4)."""
    dim: int = f(64, "Width of each residual stream", min=1)
    hc_mult: int = f(4, "Residual streams (config.json hc_mult)", min=1)
    hc_sinkhorn_iters: int = f(20, "Sinkhorn-Knopp iterations that make the mixing matrix doubly stochastic", min=1)
    hc_eps: float = f(1e-6, "Floor added in the Sinkhorn normalisation and to the collapse weights", min=0.0)
    eps: float = f(1e-6, "eps of the weightless RMSNorm over the flattened streams", min=0.0)


@dataclass(frozen=True)
class HashMoEConfig(MoEConfig):
    """DeepSeekMoE whose experts are picked by a fixed table of token id → experts (tid2eid)."""
    vocab_size: int = f(512, "Rows of the token → experts table", "tokens", min=1)
    hash_seed: int = f(0, "Seed of the fixed table this app fills (the checkpoint ships its own)", min=0)
