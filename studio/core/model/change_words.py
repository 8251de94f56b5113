"""Phrases of the change list (studio.core.model.diff) that need more than one setting: how
attention heads came to share keys and values, and how RoPE's rotations are stretched for a
longer context (YaRN, Llama 3's scaling). Words a learner reads, never field names."""
from __future__ import annotations


def _num(v) -> str:
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return f"{v:,}" if isinstance(v, int) else f"{v:g}"


def sharing_words(pv, nv) -> str:
    """'64 → 8 key/value heads: 64 query heads share 8 (GQA) instead of keeping one each' when
    heads that each had their own keys and values now share them (counted at the new number of
    query heads: the headline of GQA and MQA); '' otherwise."""
    if not (pv and nv and pv.spec.geometry == nv.spec.geometry == "grouped"):
        return ""
    a, b = pv.config, nv.config
    if a.kv_heads == a.n_heads and b.kv_heads < b.n_heads:
        if b.kv_heads == 1:
            return f"{b.n_heads:,} → 1 key/value head: all {b.n_heads:,} query heads share one (MQA) instead of keeping one each"
        return (f"{b.n_heads:,} → {b.kv_heads:,} key/value heads: {b.n_heads:,} query heads share {b.kv_heads:,} (GQA) "
                "instead of keeping one each")
    return ""


def yarn_words(c) -> str:
    f = getattr(c, "yarn_factor", 0) or 0
    if f <= 1:
        return ""
    return (f"RoPE stretched by YaRN ×{_num(f)} beyond the {_num(c.yarn_original_context)}-token pretraining context "
            f"(to {_num(int(f * c.yarn_original_context))})")


def llama3_words(c) -> str:
    f = getattr(c, "llama3_factor", 0) or 0
    if f <= 1:
        return ""
    return (f"RoPE's slow rotations stretched ×{_num(f)} beyond the {_num(c.llama3_original_context)}-token "
            "pretraining context (Llama 3 scaling)")


def rope_scaling_changes(a, b) -> list[str]:
    """The RoPE context-extension lines from RoPE settings ``a`` to ``b``."""
    out = []
    for words, none in ((yarn_words, "RoPE without YaRN extension"), (llama3_words, "RoPE without Llama 3 scaling")):
        if words(a) != words(b):
            out.append(words(b) or none)
    return out
