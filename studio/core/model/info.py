"""The figures a milestone shows, each with its own provenance and source.

``studio.core.model.provenance`` decides them: at paper scale ``stand-in`` and ``undisclosed``
architectures show no figure (null, ``undisclosed``); a reported architecture's exact counts are
``computed-from-assumptions`` while the leak's own figures stay ``reported``; contexts no source
states are ``illustrative``. The classroom scale is computed exactly (its context is ``chosen``).
"""
from __future__ import annotations

from studio.core.model import provenance
from studio.core.model.accounting import account

FIGURES = ("params_total", "params_active", "params_embedding", "params_mtp",
           "kv_cache_bytes_per_token", "flops_per_token")
# Why a computed figure differs from the published one, where the seed is wrong, what a leak says.
NOTE_KEYS = ("gap_note", "seed_note", "reported_note", "standin_note", "kv_note", "size_note", "vision_note",
             "window_note")


def model_info(arch, scale: str = "paper") -> dict:
    acc = account(arch, scale)
    meta = arch.meta
    disclosure = meta.get("disclosure", "disclosed") if scale == "paper" else "disclosed"
    # Every figure with its own provenance and source (studio.core.model.provenance decides them all)
    figs = provenance.figures(arch, scale, acc)
    values = {k: figs[k].value for k in FIGURES}
    prov = {k: f.provenance for k, f in figs.items()}
    published = dict(meta.get("published") or {}) if scale == "paper" else {}
    pub_figs = provenance.published_figures(arch) if scale == "paper" else {}
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
        "figures": {k: f.as_dict() for k, f in figs.items()},
        "published_figures": {k: f.as_dict() for k, f in pub_figs.items()},
        "cross_kv_bytes_per_source_token": figs["cross_kv_bytes_per_source_token"].value
        if "cross_kv_bytes_per_source_token" in figs else 0,
        "card": {**provenance.card(arch), "changes": changes_since(arch, scale)},
        "dims": provenance.dims_table(arch, scale),
        "params_by_region": {r: v["params"] for r, v in acc.per_region.items()} if values["params_total"] is not None else {},
    }


def changes_since(arch, scale: str) -> dict:
    """``card.changes``: {since, builds_on, headline, items: [{kind, text}]}, the model against the
    one it builds on (studio.core.model.lineage), compared at ``scale`` where both have it. A
    lineage that cannot be read leaves the list empty and says why in ``error``."""
    from studio.core.errors import StudioError
    from studio.core.model.lineage import change_since
    try:
        return change_since(arch, scale=scale).as_dict()
    except StudioError as exc:
        raw = arch.meta.get("builds_on")
        return {"since": raw if isinstance(raw, str) else None, "builds_on": [], "headline": "", "items": [],
                "error": str(exc).splitlines()[0]}


def node_configs(arch, scale: str) -> list[dict]:
    """Each node's resolved configuration at ``scale`` (``archstudio info --json``'s ``nodes``):
    id, kind, region, repeats, config (every field, ``$dims`` and bindings resolved), and, only
    where layers differ (overrides), ``layers``: [{layers: [indices], kind, config}] per distinct
    variant; costs over all repeats (params, active, flops, kv_elems, act_elems). At paper scale
    an undisclosed or stand-in architecture's costs are null and each node says ``illustrative``
    (its settings only illustrate the structure; they are not the model's)."""
    from studio.core.model.resolve import config_dict, resolve
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
        if hide:
            entry["illustrative"] = True  # a stand-in's settings illustrate the structure only
        if rn.error:
            entry["error"] = rn.error
        out.append(entry)
    return out
