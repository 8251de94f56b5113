"""Where every figure on screen comes from: one provenance (and, where a source states it, the
source) per figure, per preset and scale. The info panel, the accounting panel, the graph's
badges and frames, ``archstudio info`` and ``archstudio render`` all read these functions, so
a figure cannot appear anywhere without its provenance.

A preset states, in ``meta``:
  ``config_source``    the primary source of its paper-scale configuration;
  ``dims_provenance``  per dim that the source does not state: {provenance, note, affects: [figures]}
                       (``affects`` defaults to every computed figure);
  ``provenance``       per-figure overrides: a provenance word;
  ``node_provenance``  per-block badge overrides: {provenance, note};
  ``published``        the source's own figures and their ``source`` (``published_sources``: per figure);
  ``component: true``  a component paper: its published size is "n/a", not "undisclosed"
                       (``no_published_size: true``: the same for a recipe whose source states none);
  ``modelled``, ``assumptions``, ``illustrative``, ``classroom_limits``, ``citations``: lists for the card.
Stand-ins (``disclosure: stand-in`` / ``undisclosed``) show no figure at paper scale: their
graph is an illustration of structure only.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

from studio.core.model.accounting import DTYPE_BYTES, account
from studio.core.model.resolve import resolve

PROVENANCES = {
    "published": "stated by the primary source named beside it",
    "reported": "stated by a third party (a leak or a press report), not confirmed by the maker",
    "computed": "exact, from the graph and the block formulas; the configuration is published",
    "computed-from-assumptions": "exact for the graph shown, but the graph rests on assumptions the card lists",
    "computed-from-config": "exact, from the graph built from a Hugging Face config.json (the values it states)",
    "illustrative": "no source states it: a value chosen to make the graph concrete",
    "inferred": "not stated for this model: taken from a related source the card names",
    "chosen": "a classroom-scale setting chosen by the studio so the model trains on a laptop",
    "measured": "measured from a run",
    "undisclosed": "the maker never disclosed it: no figure is shown",
    "n/a": "does not apply (a component paper has no model size)",
}
SOURCED = ("published", "reported")  # these must name their source
COMPUTED_FIGURES = ("params_total", "params_active", "params_embedding", "params_mtp",
                    "kv_cache_bytes_per_token", "cross_kv_bytes_per_source_token", "flops_per_token")
LABELS = {
    "params_total": "Parameters", "params_active": "Active / token", "params_embedding": "Embedding",
    "params_mtp": "MTP module", "kv_cache_bytes_per_token": "KV cache / token",
    "cross_kv_bytes_per_source_token": "Cross-attn K/V / source token", "flops_per_token": "FLOPs / token",
    "context": "Context", "params_vision": "Vision encoder",
}
KV_DEFINITION = ("KV cache per generated token: the keys and values a decoder's causal self-attention keeps "
                 "for each token it has produced. An encoder's self-attention runs once over the source and "
                 "is never cached; cross-attention keys and values are computed once per source token "
                 "(shown as their own figure).")
CLASSROOM_SOURCE = "the studio's classroom scale (a laptop-sized version of the same graph)"
STAND_IN_MARK = "illustrative stand-in"


@dataclass(frozen=True)
class Figure:
    key: str
    label: str
    value: int | float | None
    provenance: str
    source: str = ""
    note: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


def is_stand_in(arch) -> bool:
    """The graph is an illustration of structure only (the real architecture is undisclosed)."""
    return arch.meta.get("disclosure") in ("stand-in", "undisclosed")


def hides_figures(arch, scale: str) -> bool:
    """A stand-in's paper scale shows no figure at all (its classroom model is real and trains)."""
    return scale == "paper" and is_stand_in(arch)


def _entry(value) -> dict:
    return {"provenance": value} if isinstance(value, str) else dict(value or {})


def dim_provenance(arch, scale: str, name: str) -> tuple[str, str, str]:
    """(provenance, source, note) of one configuration value (a dim) at a scale."""
    if scale != "paper":
        return "chosen", CLASSROOM_SOURCE, ""
    m = arch.meta
    if hides_figures(arch, scale):
        return "undisclosed", str((m.get("published") or {}).get("source", "")), "stand-in graph: structure only"
    e = _entry((m.get("dims_provenance") or {}).get(name))
    if e:
        prov = e.get("provenance", "illustrative")
        return prov, str(e.get("source") or (m.get("config_source", "") if prov in SOURCED else "")), str(e.get("note", ""))
    default = "reported" if m.get("disclosure") == "reported" else "published"
    return default, str(m.get("config_source", "")), ""


def _assumed_dims(arch, key: str) -> list[str]:
    """Dims whose value no source states and that the figure ``key`` depends on."""
    out = []
    for name, raw in (arch.meta.get("dims_provenance") or {}).items():
        e = _entry(raw)
        if e.get("provenance", "illustrative") not in SOURCED + ("computed",) and key in e.get("affects", COMPUTED_FIGURES):
            out.append(name)
    return out


def cross_kv_elems_per_source_token(arch, scale: str) -> int:
    """Cross-attention K and V of one source token, over all decoder layers (computed once per source)."""
    total = 0
    for nid, node in arch.graph.nodes.items():
        if node.spec.geometry != "cross":  # registry trait, not a kind name
            continue
        for _, _kind, cfg in resolve(arch, scale).variants_of(nid):
            total += 2 * cfg.n_heads * cfg.hd
    return total


def figures(arch, scale: str, acc=None, kv_dtype: str = "bf16") -> dict[str, Figure]:
    """Every accounting figure of a preset at a scale, each with its provenance and source."""
    m = arch.meta
    acc = acc if acc is not None else account(arch, scale, kv_dtype=kv_dtype)
    values = {k: getattr(acc, k) for k in COMPUTED_FIGURES if hasattr(acc, k)}
    cross = cross_kv_elems_per_source_token(arch, scale)
    if cross:
        values["cross_kv_bytes_per_source_token"] = cross * DTYPE_BYTES[kv_dtype]
    values["context"] = acc.context
    out: dict[str, Figure] = {}
    if hides_figures(arch, scale):
        why = str((m.get("published") or {}).get("source", ""))
        for k in values:
            out[k] = Figure(k, LABELS[k], None, "undisclosed", why, "stand-in graph: structure only, no figure")
        return out
    config_src = str(m.get("config_source", "")) if scale == "paper" else CLASSROOM_SOURCE
    overrides = (m.get("provenance") or {}) if scale == "paper" else {}
    for k, v in values.items():
        if k == "context":
            prov, src, note = dim_provenance(arch, scale, "context")
        else:
            assumed = _assumed_dims(arch, k) if scale == "paper" else []
            prov = "computed-from-assumptions" if assumed else "computed"
            src = f"exact count of the graph; configuration: {config_src}" if config_src else "exact count of the graph"
            note = f"rests on: {', '.join(assumed)} (see the card)" if assumed else ""
            if k.startswith("kv_cache"):
                note = (note + "; " if note else "") + KV_DEFINITION
        e = _entry(overrides.get(k))
        if e:
            prov = e.get("provenance", prov)
            src = str(e.get("source", src))
            note = str(e.get("note", note))
        out[k] = Figure(k, LABELS[k], v, prov, src, note)
    return out


def published_figures(arch) -> dict[str, Figure]:
    """The source's own figures (shown beside the exact counts), each with its provenance."""
    return published_figures_of(arch.meta)


def published_figures_of(m: dict) -> dict[str, Figure]:
    """published_figures from a preset's meta alone (the milestone card has only the meta)."""
    pub = m.get("published") or {}
    source, per = str(pub.get("source", "")), m.get("published_sources") or {}
    word = m.get("published_provenance") or ("reported" if m.get("disclosure") == "reported" else "published")
    out = {}
    for k, v in pub.items():
        if k in ("source", "note"):
            continue
        if v is None:
            prov = "n/a" if m.get("component") or m.get("no_published_size") else "undisclosed"
        else:
            prov = word
        out[k] = Figure(k, LABELS.get(k, k.replace("_", " ")), v, prov, str(per.get(k, source)))
    return out


def node_figures(arch, scale: str) -> dict[str, Figure]:
    """The parameter badge of every block (per layer for repeated regions), with its provenance."""
    from blocks.registry import get_spec
    hide = hides_figures(arch, scale)
    base = None if hide else figures_provenance(arch, scale, "params_total")
    per_node = (arch.meta.get("node_provenance") or {}) if scale == "paper" else {}
    out = {}
    for nid, node in arch.graph.nodes.items():
        cfg, kind = resolve(arch, scale).config_of(nid)
        per = get_spec(kind).params(cfg)
        if hide:
            out[nid] = Figure(nid, "parameters", None, "undisclosed", "", "stand-in graph: structure only")
            continue
        prov, src = base
        e = _entry(per_node.get(nid))
        out[nid] = Figure(nid, "parameters" + (" per layer" if node.region in arch.regions else ""), per,
                          e.get("provenance", prov), str(e.get("source", src)), str(e.get("note", "")))
    return out


def frame_figures(arch, scale: str) -> dict[str, Figure]:
    """The "× N layers" of every repeated region, with the provenance of the dim that counts it."""
    out = {}
    for region, dim in arch.regions.items():
        if not any(n.region == region for n in arch.graph.nodes.values()):
            continue
        prov, src, note = dim_provenance(arch, scale, dim)
        value = None if hides_figures(arch, scale) else arch.repeat(region, scale)
        out[region] = Figure(region, "layers", value, prov, src, note)
    return out


def figures_provenance(arch, scale: str, key: str) -> tuple[str, str]:
    """(provenance, source) a computed figure gets, without accounting the whole model."""
    if hides_figures(arch, scale):
        return "undisclosed", ""
    if scale != "paper":
        return "computed", f"exact count of the graph; configuration: {CLASSROOM_SOURCE}"
    prov = "computed-from-assumptions" if _assumed_dims(arch, key) else "computed"
    e = _entry((arch.meta.get("provenance") or {}).get(key))
    src = f"exact count of the graph; configuration: {arch.meta.get('config_source', '')}"
    return e.get("provenance", prov), str(e.get("source", src))


def card(arch) -> dict:
    """What the milestone card lists besides its figures: assumptions, illustrative or inferred
    fields, what the classroom scale cannot show, and the work it built on (with links)."""
    return card_of(arch.meta)


def card_of(m: dict) -> dict:
    return {
        "illustrative_graph": m.get("disclosure") in ("stand-in", "undisclosed"),
        "config_source": m.get("config_source", ""),
        "modelled": list(m.get("modelled") or []),  # what the graph builds as real blocks (DeepSeek-V4)
        "assumptions": list(m.get("assumptions") or []),
        "illustrative": list(m.get("illustrative") or []),
        "classroom_limits": list(m.get("classroom_limits") or []),
        "citations": [dict(c) for c in m.get("citations") or []],
        # a component paper: the block it replaces in the model shown, and the models it was introduced on
        "replaces": str(m.get("replaces") or ""), "introduced_on": str(m.get("introduced_on") or ""),
    }


def glyph_word(provenance: str) -> str:
    """The short word a badge or tooltip shows for a provenance."""
    return {"computed-from-assumptions": "computed from assumptions",
            "computed-from-config": "computed from config.json"}.get(provenance, provenance)


STAND_IN_NOTE = ("Illustrative stand-in: the real architecture was never disclosed, so this graph shows "
                 "structure only and no figure is shown on it")


def block_badge(arch, scale: str, nid: str, params: int) -> tuple[str, str]:
    """(badge text, badge tooltip) of a block's parameter badge: no figure on a stand-in."""
    from studio.core.model.accounting import humanize
    if hides_figures(arch, scale) or not params:
        return "", ""
    prov, src = figures_provenance(arch, scale, "params_total")
    e = _entry(((arch.meta.get("node_provenance") or {}) if scale == "paper" else {}).get(nid))
    prov = e.get("provenance", prov)
    tip = f"{params:,} parameters · {glyph_word(prov)}" + (f"\n{e['note']}" if e.get("note") else f"\n{src}" if src else "")
    return humanize(params), tip


def frame_label(arch, scale: str, region: str, n) -> str:
    """The label of a repeated region's frame: "× N layers" ("× 1 layer"), or the stand-in mark instead of N."""
    return "illustrative stand-in" if hides_figures(arch, scale) else f"× {n} layer{'' if n == 1 else 's'}"


def dims_table(arch, scale: str) -> dict[str, dict]:
    """Every configuration value of a scale with its provenance and source (``info --json``'s
    ``dims``), so a script can check a preset against a config.json. Nothing for a stand-in."""
    if hides_figures(arch, scale):
        return {}
    out = {}
    for name, value in arch.dims(scale).items():
        prov, src, note = dim_provenance(arch, scale, name)
        out[name] = {"value": value, "provenance": prov, "source": src, "note": note}
    return out
