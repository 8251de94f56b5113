"""The figures a milestone shows, each with its provenance (published, computed, reported, ...).

At paper scale a preset's ``meta.disclosure`` decides what may be shown: ``undisclosed`` and
``stand-in`` architectures show no figures (null, provenance ``undisclosed``); ``reported``
ones are computed from the reported graph and labelled ``reported``. The classroom scale is
always computed exactly from the graph.
"""
from __future__ import annotations

from studio.core.accounting import account

FIGURES = ("params_total", "params_active", "params_embedding", "params_mtp",
           "kv_cache_bytes_per_token", "flops_per_token")


def model_info(arch, scale: str = "paper") -> dict:
    acc = account(arch, scale)
    meta = arch.meta
    disclosure = meta.get("disclosure", "disclosed") if scale == "paper" else "disclosed"
    values = {k: getattr(acc, k) for k in FIGURES}
    if disclosure in ("undisclosed", "stand-in"):
        values = {k: None for k in FIGURES}
        prov = {k: "undisclosed" for k in FIGURES}
    else:
        label = "reported" if disclosure == "reported" else "computed"
        prov = {k: label for k in FIGURES}
    published = dict(meta.get("published") or {}) if scale == "paper" else {}
    for k in published:
        if k not in ("source", "note") and k not in prov:
            prov[k] = "published"
    if scale == "paper":
        prov.update(meta.get("provenance") or {})
    return {
        "id": arch.id,
        "title": meta.get("title", arch.id),
        "date": str(meta.get("date", "")),
        "org": meta.get("org", ""),
        "scale": scale,
        "disclosure": disclosure,
        **values,
        "context": acc.context,
        "published": published,
        "provenance": prov,
        "params_by_region": {r: v["params"] for r, v in acc.per_region.items()} if values["params_total"] is not None else {},
    }
