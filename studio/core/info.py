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
# Why a computed figure differs from the published one, where the seed is wrong, what a leak says.
NOTE_KEYS = ("gap_note", "seed_note", "reported_note")


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
    # Relative difference computed vs published (0.015 = 1.5 % above), where both exist.
    vs_published = {k: values[k] / published[k] - 1 for k in ("params_total", "params_active")
                    if values.get(k) and isinstance(published.get(k), (int, float)) and published[k]}
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
        "vs_published": vs_published,
        "family_member": meta.get("family_member", "") if scale == "paper" else "",
        "notes": {k: meta[k] for k in NOTE_KEYS if meta.get(k)} if scale == "paper" else {},
        "provenance": prov,
        "params_by_region": {r: v["params"] for r, v in acc.per_region.items()} if values["params_total"] is not None else {},
    }

def node_configs(arch, scale: str) -> list[dict]:
    """Each node's resolved configuration at ``scale`` (``archstudio info --json``'s ``nodes``):
    id, kind, region, repeats, config (every field, ``$dims`` and bindings resolved), and, only
    where layers differ (overrides), ``layers``: [{layers: [indices], kind, config}] per distinct
    variant; costs over all repeats (params, active, flops, kv_elems, act_elems). At paper scale
    an undisclosed or stand-in architecture's costs are null (its figures are not the model's)."""
    from studio.core.resolve import config_dict, resolve
    res = resolve(arch, scale)
    hide = scale == "paper" and arch.meta.get("disclosure", "disclosed") in ("undisclosed", "stand-in")
    out = []
    for nid, rn in res.nodes.items():
        entry = {"id": nid, "kind": rn.kind, "region": rn.region, "repeats": rn.repeats,
                 "config": config_dict(rn.config) if rn.config is not None else None}
        if rn.layers_differ:
            entry["layers"] = [{"layers": list(ix), "kind": kind, "config": config_dict(cfg)}
                               for ix, kind, cfg in rn.variant_groups()]
        entry["costs"] = None if hide or rn.error else rn.costs.as_dict()
        if rn.error:
            entry["error"] = rn.error
        out.append(entry)
    return out
