"""Registry entries and exact cost formulas of DeepSeek-V4's blocks (pure Python, no torch).

Counts follow the modules in blocks.nn.compressed_attention and blocks.nn.hyper_connections
parameter by parameter (tests compare them with the modules and, at paper scale, with the
parameter count of the reference ``transformers`` DeepseekV4 model). FLOPs are 2 per
multiply-add of the matrix products, as for every other block.

KV cache per token counts what grows with the context: the compressed entries (head_dim / m
per token, plus the indexer's index_head_dim / m in CSA layers). The sliding window is a fixed
sliding_window × head_dim per layer whatever the context, so it is not a per-token cost; the cache
of a whole sequence (``kv_total``) counts both, entry by finished entry.
"""
from __future__ import annotations

from blocks import configs_v4 as V
from blocks.spec import X_IN, X_OUT, PortSpec, spec

S_IN = PortSpec("x", "streams", help="the hc_mult residual streams in (B, T, n, dim)")
S_OUT = PortSpec("x", "streams", help="the hc_mult residual streams out (B, T, n, dim)")
NO_TARGET = "{what}: llama2.c has no such block (DeepSeek-V4); it cannot be exported to run.c"


def _compressor_params(dim: int, width: int, ratio: int, overlap: int) -> int:
    return 2 * dim * overlap * width + ratio * overlap * width + width  # wkv, wgate, ape, norm


def _csa_weights(c: V.CompressedAttentionConfig) -> int:
    """Matrix weights every token multiplies by (the indexer's and compressors' projections included)."""
    w = c.dim * c.q_lora_rank + c.q_lora_rank * c.n_heads * c.head_dim + c.dim * c.head_dim
    w += c.n_heads * c.head_dim * c.o_lora_rank + c.o_groups * c.o_lora_rank * c.dim
    if c.compresses:
        w += 2 * c.dim * c.overlap * c.head_dim
    if c.mode == "csa":
        w += c.q_lora_rank * c.index_n_heads * c.index_head_dim + c.dim * c.index_n_heads
        w += 2 * c.dim * 2 * c.index_head_dim
    return w


def compressed_attention_params(c: V.CompressedAttentionConfig) -> int:
    p = c.dim * c.q_lora_rank + c.q_lora_rank + c.q_lora_rank * c.n_heads * c.head_dim  # wq_a, q_norm, wq_b
    p += c.dim * c.head_dim + c.head_dim  # wkv, kv_norm
    p += c.n_heads * c.head_dim * c.o_lora_rank + c.o_groups * c.o_lora_rank * c.dim + c.n_heads  # wo_a, wo_b, sinks
    if c.compresses:
        p += _compressor_params(c.dim, c.head_dim, c.compress_ratio, c.overlap)
    if c.mode == "csa":
        p += c.q_lora_rank * c.index_n_heads * c.index_head_dim + c.dim * c.index_n_heads
        p += _compressor_params(c.dim, c.index_head_dim, c.compress_ratio, 2)
    return p


def entries_seen(c: V.CompressedAttentionConfig, ctx: int) -> int:
    """Compressed entries the last query of a ctx-long sequence attends to."""
    n = ctx // c.compress_ratio if c.compresses else 0
    return min(n, c.index_topk) if c.mode == "csa" else n


def compressed_attention_flops(c: V.CompressedAttentionConfig, ctx: int) -> int:
    keys = min(ctx, c.sliding_window) + entries_seen(c, ctx)
    f = 2 * _csa_weights(c) + 2 * 2 * keys * c.n_heads * c.head_dim  # projections; q·k and p·v
    if c.mode == "csa":  # the indexer scores every visible entry, then weighs its heads
        n = ctx // c.compress_ratio
        f += 2 * n * c.index_n_heads * c.index_head_dim + 2 * n * c.index_n_heads
    return f


def compressed_attention_kv(c: V.CompressedAttentionConfig) -> int:
    if not c.compresses:
        return 0
    return (c.head_dim + (c.index_head_dim if c.mode == "csa" else 0)) // c.compress_ratio


def compressed_attention_kv_total(c: V.CompressedAttentionConfig, tokens: int) -> int:
    """The whole cache after ``tokens``: the window's keys (= values) and every finished pooled entry."""
    pooled = (tokens // c.compress_ratio) * compressed_attention_kv(c) * c.compress_ratio if c.compresses else 0
    return min(tokens, c.sliding_window) * c.head_dim + pooled


def compressed_attention_act(c: V.CompressedAttentionConfig, ctx: int) -> int:
    n = ctx // c.compress_ratio if c.compresses else 0
    a = c.dim + 2 * c.q_lora_rank + 4 * c.n_heads * c.head_dim + 2 * c.head_dim + 2 * c.n_heads * (ctx + n)
    if c.mode == "csa":
        a += 2 * c.index_n_heads * n + c.index_n_heads * c.index_head_dim
    return a


def collapse_params(c: V.HyperConnectionConfig) -> int:
    n = c.hc_mult
    return n * n * c.dim + n + 1  # fn rows of pre, base, scale


def mix_params(c: V.HyperConnectionConfig) -> int:
    n = c.hc_mult
    return (n + n * n) * n * c.dim + n + n * n + 2  # fn rows of post and comb, base, two scales


V4_SPECS = [
    spec(kind="compressed_attention", roles=("attention", "self_attention"), geometry="compressed",
         llama2c_fix=NO_TARGET.format(what="compressed sparse / heavily compressed attention"),
         title="Compressed attention", family="attention",
         summary="DeepSeek-V4's hybrid attention: a sliding window of recent tokens plus pooled entries of "
                 "every m earlier tokens, all of them (HCA) or the top-k a lightning indexer picks (CSA).",
         config_cls=V.CompressedAttentionConfig, inputs=(X_IN, PortSpec("rope", "rotary")), outputs=(X_OUT,),
         module="blocks.nn.compressed_attention:CompressedAttention",
         params=compressed_attention_params, flops=compressed_attention_flops,
         kv_elems=compressed_attention_kv, kv_total=compressed_attention_kv_total, act_elems=compressed_attention_act,
         key_fields=("mode", "compress_ratio", "index_topk", "sliding_window")),
    spec(kind="hc_expand", roles=("streams",), title="Streams: expand", family="structure", topic="Residual stream",
         llama2c_fix=NO_TARGET.format(what="hyper-connection streams"),
         summary="Copies the embedding into hc_mult parallel residual streams (mHC).",
         config_cls=V.HyperConnectionConfig, inputs=(X_IN,), outputs=(S_OUT,),
         module="blocks.nn.hyper_connections:HCExpand", key_fields=("hc_mult",)),
    spec(kind="hc_collapse", roles=("streams",), title="Streams: collapse", family="structure", topic="Residual stream",
         llama2c_fix=NO_TARGET.format(what="hyper-connection collapse"),
         summary="Weighs the residual streams by sigmoid gates read off the streams and sums them into "
                 "one vector for the next sub-block (mHC's pre map; also the final hc_head).",
         config_cls=V.HyperConnectionConfig, inputs=(S_IN,), outputs=(X_OUT,),
         module="blocks.nn.hyper_connections:HCCollapse", params=collapse_params,
         flops=lambda c, ctx: 2 * c.hc_mult * c.hc_mult * c.dim + 2 * c.hc_mult * c.dim,
         act_elems=lambda c, ctx: 2 * c.hc_mult * c.dim, key_fields=("hc_mult",)),
    spec(kind="hc_mix", roles=("residual", "streams"), title="Streams: mix (mHC)", family="structure", topic="Residual stream",
         llama2c_fix=NO_TARGET.format(what="manifold-constrained hyper-connection"),
         summary="The residual add of mHC: spreads the sub-block's output over the streams and mixes the "
                 "streams by a Sinkhorn-normalised (doubly stochastic) matrix read off them.",
         config_cls=V.HyperConnectionConfig,
         inputs=(PortSpec("x", "streams", help="the streams before the sub-block"),
                 PortSpec("y", "hidden", help="sub-block output")), outputs=(S_OUT,),
         module="blocks.nn.hyper_connections:HCMix", params=mix_params,
         flops=lambda c, ctx: 2 * (c.hc_mult + c.hc_mult ** 2) * c.hc_mult * c.dim + 2 * (c.hc_mult ** 2 + c.hc_mult) * c.dim,
         act_elems=lambda c, ctx: 3 * c.hc_mult * c.dim, key_fields=("hc_mult", "hc_sinkhorn_iters")),
]
