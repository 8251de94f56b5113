"""Structural diff between two architectures (the era diff the scene animates and the info
panel lists): nodes added / removed / replaced, config fields changed, edges, dims, overrides."""
from __future__ import annotations

from dataclasses import dataclass, field

from blocks.registry import get_spec
from studio.core.model.change_words import rope_scaling_changes, sharing_words


@dataclass
class ArchDiff:
    added: list[str] = field(default_factory=list)  # node ids
    removed: list[str] = field(default_factory=list)
    replaced: dict[str, tuple[str, str]] = field(default_factory=dict)  # id -> (old kind, new kind)
    changed: dict[str, dict[str, tuple]] = field(default_factory=dict)  # id -> {key: (old, new)}
    edges_added: list[str] = field(default_factory=list)
    edges_removed: list[str] = field(default_factory=list)
    dims: dict[str, dict[str, tuple]] = field(default_factory=dict)  # scale -> {dim: (old, new)}
    regions: dict[str, tuple] = field(default_factory=dict)
    overrides_changed: bool = False

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.replaced or self.changed or self.edges_added
                    or self.edges_removed or self.dims or self.regions or self.overrides_changed)

    @property
    def graph_changed(self) -> bool:
        return bool(self.added or self.removed or self.replaced or self.changed or self.edges_added
                    or self.edges_removed or self.regions or self.overrides_changed)

    def describe(self, new_arch=None, scale: str = "paper") -> list[str]:
        """The same diff in words, one short sentence per change."""
        title = (lambda nid, kind: f"{get_spec(kind).title} ({nid})")
        out = []
        for nid, (a, b) in sorted(self.replaced.items()):
            out.append(f"Replaced {get_spec(a).title} with {get_spec(b).title} ({nid})")
        for nid in self.added:
            kind = new_arch.graph.node(nid).kind if new_arch else "?"
            out.append(f"Added {title(nid, kind)}" if kind != "?" else f"Added {nid}")
        for nid in self.removed:
            out.append(f"Removed {nid}")
        for nid, ch in sorted(self.changed.items()):
            for k, (a, b) in sorted(ch.items()):
                out.append(f"{nid}: {k} {_fmt(a)} → {_fmt(b)}")
        if self.edges_added or self.edges_removed:
            out.append(f"Rewired: {len(self.edges_removed)} connection(s) removed, {len(self.edges_added)} added")
        for r, (a, b) in sorted(self.regions.items()):
            out.append(f"Region {r}: {'repeats ' + str(a) if a else 'none'} → {'repeats ' + str(b) if b else 'removed'}")
        if self.overrides_changed:
            out.append("Per-layer variations changed")
        for k, (a, b) in sorted(self.dims.get(scale, {}).items()):
            out.append(f"{k}: {_fmt(a)} → {_fmt(b)}")
        return out


def _fmt(v):
    if v is None:
        return "—"
    if isinstance(v, int) and not isinstance(v, bool) and abs(v) >= 10000:
        return f"{v:,}"
    return str(v)


def diff(a, b) -> ArchDiff:
    d = ArchDiff()
    na, nb = a.graph.nodes, b.graph.nodes
    d.added = [n for n in nb if n not in na]
    d.removed = [n for n in na if n not in nb]
    for nid in set(na) & set(nb):
        if na[nid].kind != nb[nid].kind:
            d.replaced[nid] = (na[nid].kind, nb[nid].kind)
        elif na[nid].config != nb[nid].config:
            keys = set(na[nid].config) | set(nb[nid].config)
            d.changed[nid] = {k: (na[nid].config.get(k), nb[nid].config.get(k)) for k in keys
                              if na[nid].config.get(k) != nb[nid].config.get(k)}
    ea, eb = {str(e) for e in a.graph.edges}, {str(e) for e in b.graph.edges}
    d.edges_added, d.edges_removed = sorted(eb - ea), sorted(ea - eb)
    for scale in set(a.scales) | set(b.scales):
        da, db = a.scales.get(scale, {}), b.scales.get(scale, {})
        ch = {k: (da.get(k), db.get(k)) for k in set(da) | set(db) if da.get(k) != db.get(k)}
        if ch:
            d.dims[scale] = ch
    d.regions = {r: (a.regions.get(r), b.regions.get(r)) for r in set(a.regions) | set(b.regions)
                 if a.regions.get(r) != b.regions.get(r)}
    d.overrides_changed = [o.__dict__ for o in a.overrides] != [o.__dict__ for o in b.overrides]
    return d


# ---------------------------------------------------------------------------- in a learner's words
# Dims a learner reads by name (the rest are named by their words, never by identifier).
DIM_WORDS = {
    "dim": ("Width of the residual stream", ""),
    "n_layers": ("Layers", ""),
    "n_heads": ("Attention heads", ""),
    "hidden_dim": ("Feed-forward width", ""),
    "vocab_size": ("Vocabulary", " tokens"),
    "context": ("Context", " tokens"),
}
HIDDEN_DIMS = {"n_kv_heads", "rope_head_dim", "head_dim"}  # told by the attention line instead


def _num(v) -> str:
    if isinstance(v, bool):
        return "on" if v else "off"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        return f"{v:,.0f}" if v.is_integer() and abs(v) >= 1000 else f"{v:g}"
    return str(v)


def _words(name: str) -> str:
    return name.replace("_", " ")


def comparison_scale(a, b) -> str | None:
    for sc in ("paper", "classroom"):
        if sc in a.scales and sc in b.scales:
            return sc
    return None


def _disclosed(arch, scale) -> bool:
    return scale != "paper" or arch.meta.get("disclosure", "disclosed") not in ("undisclosed", "stand-in")


def _kinds_words(rn, numbers: bool = True) -> str:
    """'RMSNorm', or 'Mixture of experts in 58 of 61 layers, SwiGLU in 3' when layers differ
    (without ``numbers``: 'Mixture of experts in some layers, SwiGLU in the others')."""
    groups = rn.variant_groups() if rn.layers else []
    counts: dict[str, int] = {}
    for ix, kind, _ in groups:
        counts[kind] = counts.get(kind, 0) + len(ix)
    if len(counts) <= 1:
        return get_spec(next(iter(counts), rn.kind)).title
    n = sum(counts.values())
    parts = sorted(counts.items(), key=lambda kv: -kv[1])
    if not numbers:
        return f"{get_spec(parts[0][0]).title} in some layers, " + ", ".join(get_spec(k).title for k, _ in parts[1:]) + " in the others"
    first = f"{get_spec(parts[0][0]).title} in {parts[0][1]} of {n} layers"
    return ", ".join([first] + [f"{get_spec(k).title} in {c}" for k, c in parts[1:]])


def _removed_with_encoder(prev, removed: set) -> set:
    """Removed blocks that belong to a vanished encoder: those wired (among the removed) to it."""
    enc = {n for n in removed if prev.graph.node(n).region == "encoder"}
    if not enc:
        return set()
    import networkx as nx
    g = nx.Graph()
    g.add_nodes_from(removed)
    g.add_edges_from((e.src, e.dst) for e in prev.graph.edges if e.src in removed and e.dst in removed)
    return set().union(*(c for c in nx.connected_components(g) if c & enc))


def _norm_placement(arch) -> str | None:
    """'pre' when every layer norm feeds only sub-blocks, 'post' when one feeds the stream on."""
    g = arch.graph
    norms = [n for n, node in g.nodes.items() if node.region == "layer" and node.spec.has("norm")]
    if not norms:
        return None
    from studio.core.model.plan import build_plan
    try:
        exit_ = build_plan(arch).regions["layer"].exit
    except Exception:  # noqa: BLE001 - an unwired graph simply has no placement to tell
        exit_ = None
    for n in norms:
        outs = g.out_edges(n)
        if (exit_ and exit_[0] == n) or any(g.node(e.dst).spec.has("residual") and e.dst_port == "x" for e in outs):
            return "post"
    return "pre"


PLACEMENT = {"pre": "before each sub-layer (pre-norm)", "post": "after each sub-layer (post-norm)"}


def _first(res, role: str, region: str = "layer"):
    return next((rn for rn in res.nodes.values() if rn.region == region and rn.layers
                 and any(v.spec.has(role) for v in rn.layers)), None)


def _variant(rn, role: str):
    """The last layer's variant that plays ``role`` (the 'typical' layer, as accounting's template)."""
    return next((v for v in reversed(rn.layers) if v.spec.has(role)), None) if rn else None


def _attention_words(v) -> str:
    if v is None:
        return ""
    c = v.config
    if v.spec.geometry == "latent":
        return f"keys and values rebuilt from a {c.kv_lora_rank}-number latent cached per token (multi-head latent attention)"
    if v.spec.geometry != "grouped":
        return ""
    n, kv = c.n_heads, c.kv_heads
    if kv == n:
        return "every head keeps its own keys and values (multi-head attention)"
    if kv == 1:
        return f"all {n} query heads share one key/value head (MQA)"
    return f"{n} query heads share {kv} key/value heads (GQA)"


def _window_words(rn) -> str:
    if rn is None:
        return ""
    wins = [getattr(v.config, "window", 0) for v in rn.layers]
    banded = [w for w in wins if w]
    if not banded:
        return "every layer sees the whole context"
    w = max(banded)
    if len(banded) == len(wins):
        return f"every layer sees only the last {w:,} tokens (sliding window)"
    return f"{len(banded)} of {len(wins)} layers see only the last {w:,} tokens; the others see the whole context"


def _moe_words(v) -> str:
    if v is None:
        return ""
    c = v.config
    s = f"{c.n_experts:,} experts, {c.top_k} chosen per token"
    if c.n_shared:
        s += f", plus {c.n_shared} shared expert{'s' if c.n_shared > 1 else ''} every token uses"
    return s


ACTIVATIONS = {"relu": "ReLU", "gelu": "GELU", "swiglu": "SwiGLU", "silu": "SiLU"}


def _act(name: str) -> str:
    return ACTIVATIONS.get(name, _words(name))


def _zero_init_lines(attention: tuple, ffn: tuple) -> list[str]:
    """modded-nanogpt's initialisation: the projections that write into the residual stream start
    at zero, so each block begins as the identity (a weight init, not a new block, yet the change)."""
    names = []
    for (a, b), what in ((attention, "attention output projection (wo)"), (ffn, "feed-forward down-projection (w2)")):
        was = getattr(a.config, "zero_init_output", None) if a else None
        now = getattr(b.config, "zero_init_output", None) if b else None
        if was is not None and now is not None and was != now:
            names.append((what, now))
    if not names:
        return []
    if all(now for _, now in names):
        return [f"Initialisation: the {' and the '.join(w for w, _ in names)} start at zero, "
                "so each block begins as the identity"]
    return [f"Initialisation: the {' and the '.join(w for w, _ in names)} start from random values again"]


def _feature_lines(pr, nr, numbers: bool = True) -> list[str]:
    """Lines for what the resolved settings do; ``numbers`` False leaves out every line that
    carries a figure (a stand-in's figures are illustrations, not the model's)."""
    out = []
    pa, na = _first(pr, "self_attention"), _first(nr, "self_attention")
    pv, nv = _variant(pa, "self_attention"), _variant(na, "self_attention")
    pw, nw = _attention_words(pv), _attention_words(nv)
    if numbers and nw and pw != nw and not (pv and nv and pv.spec.geometry == nv.spec.geometry == "grouped"
                                 and pv.config.kv_heads == pv.config.n_heads and nv.config.kv_heads == nv.config.n_heads):
        out.append(f"Attention: {sharing_words(pv, nv) or nw}")
    if numbers and pa and na and _window_words(pa) != _window_words(na):
        out.append(f"Attention: {_window_words(na)}")
    if pv and nv:
        for field, on, off in (("qk_norm", "queries and keys are normalised before the dot product (QK-norm)",
                                "queries and keys are no longer normalised (no QK-norm)"),
                               ("bias", "biases on the query, key, value and output projections",
                                "no biases on the query, key, value and output projections")):
            a, b = getattr(pv.config, field, None), getattr(nv.config, field, None)
            if a is not None and b is not None and a != b:
                out.append(f"Attention: {on if b else off}")
        a, b = getattr(pv.config, "kernel", None), getattr(nv.config, "kernel", None)
        if a and b and a != b:
            out.append("Attention: computed by a fused kernel that never stores the attention matrix (FlashAttention)"
                       if b == "sdpa" else "Attention: computed step by step, storing the whole attention matrix")
    pf, nf = _first(pr, "ffn"), _first(nr, "ffn")
    pd, nd = _variant(pf, "ffn"), _variant(nf, "ffn")
    if pd and nd and pd.kind == nd.kind and getattr(pd.config, "activation", None) != getattr(nd.config, "activation", None):
        out.append(f"Feed-forward: {_act(pd.config.activation)} → {_act(nd.config.activation)}")
    if pd and nd and pd.kind == nd.kind and getattr(pd.config, "bias", None) != getattr(nd.config, "bias", None):
        out.append("Feed-forward: " + ("biases added" if nd.config.bias else "no biases"))
    out += _zero_init_lines((pv, nv), (pd, nd))
    pm, nm = _variant(pf, "moe"), _variant(nf, "moe")
    if numbers and nm and _moe_words(pm) != _moe_words(nm):
        out.append(f"Mixture of experts: {_moe_words(nm)}")
    if pm and nm:
        a, b = pm.config, nm.config
        if a.score != b.score:
            out.append(f"Router: {a.score} → {b.score} scores")
        if a.bias_balancing != b.bias_balancing:
            out.append("Router: " + ("balances expert load with a per-expert bias instead of an auxiliary loss"
                                     if b.bias_balancing else "balances expert load with an auxiliary loss"))
        if numbers and a.route_scale != b.route_scale:
            out.append(f"Router: the routed experts' output is scaled ×{_num(b.route_scale)} (was ×{_num(a.route_scale)})")
        if a.expert != b.expert:
            out.append(f"Experts: {_act(a.expert)} → {_act(b.expert)} feed-forwards")
    ph, nh = _first(pr, "lm_head", "head"), _first(nr, "lm_head", "head")
    if ph and nh:
        a, b = ph.layers[0].config, nh.layers[0].config
        if bool(a.tie_to) != bool(b.tie_to):
            out.append("Output: " + ("reuses the token-embedding table (tied)" if b.tie_to else "has its own output matrix (untied)"))
        if a.softcap != b.softcap:
            out.append(f"Output: logits soft-capped at {_num(b.softcap)}" if b.softcap else "Output: no logit soft-capping")
    pr_, nr_ = _first(pr, "rotary", "stem"), _first(nr, "rotary", "stem")
    if pr_ and nr_ and pr_.config.theta != nr_.config.theta:
        out.append(f"Positions: RoPE base θ {_num(pr_.config.theta)} → {_num(nr_.config.theta)}")
    if pr_ and nr_:
        out += [f"Positions: {w}" for w in rope_scaling_changes(pr_.config, nr_.config)]
    pn, nn_ = _variant(_first(pr, "norm"), "norm"), _variant(_first(nr, "norm"), "norm")
    if pn and nn_ and pn.kind == nn_.kind and getattr(pn.config, "eps", None) != getattr(nn_.config, "eps", None):
        out.append(f"Normalisation: ε {pn.config.eps:g} → {nn_.config.eps:g} (added for numerical stability)")
    return out


def structural_change_items(prev_arch, arch, scale: str | None = None) -> list[tuple[str, str]]:
    """What the graphs and figures of ``prev_arch`` and ``arch`` differ in, one line per change
    in a learner's words, with its kind for the card's glyphs and the animation's colours:
    (added | removed | replaced | changed, text). studio.core.model.lineage turns these into
    a milestone's change list (assumed values left out, the pipeline, the headline first)."""
    if prev_arch is None or arch is None:
        return []
    from studio.core.model.accounting import humanize
    from studio.core.model.resolve import resolve
    scale = scale or comparison_scale(prev_arch, arch)
    d = diff(prev_arch, arch)
    out: list[tuple[str, str]] = []
    pg, ng = prev_arch.graph, arch.graph
    numbers = bool(scale) and _disclosed(prev_arch, scale) and _disclosed(arch, scale)
    try:
        pr = resolve(prev_arch, scale) if scale else None
        nr = resolve(arch, scale) if scale else None
    except Exception:  # noqa: BLE001 - a model that does not resolve still gets its block changes
        pr = nr = None
    # -- the encoder as a whole
    removed, added = set(d.removed), set(d.added)
    gone = _removed_with_encoder(prev_arch, removed)
    if gone:
        out.append(("removed", "Encoder removed: decoder-only, one stack of layers reads the text and predicts the next token"))
    came = _removed_with_encoder(arch, added)
    if came:
        out.append(("added", "Encoder added: a separate stack reads the source sequence; the decoder attends to it"))
    # -- blocks swapped, added, removed (by topic)
    for nid in sorted(set(pg.nodes) & set(ng.nodes)):
        a, b = pg.node(nid), ng.node(nid)
        before = _kinds_words(pr.nodes[nid], numbers) if pr and nid in pr.nodes else get_spec(a.kind).title
        after = _kinds_words(nr.nodes[nid], numbers) if nr and nid in nr.nodes else get_spec(b.kind).title
        if a.kind != b.kind or before != after:
            out.append(("replaced", f"{get_spec(b.kind).topic_words}: {before} → {after}"))
    by_topic: dict[str, tuple[list, list]] = {}
    for nid in sorted(removed - gone):
        spec = get_spec(pg.node(nid).kind)
        by_topic.setdefault(spec.topic_words, ([], []))[0].append(spec.title)
    for nid in sorted(added - came):
        spec = get_spec(ng.node(nid).kind)
        by_topic.setdefault(spec.topic_words, ([], []))[1].append(spec.title)
    for topic, (rm, ad) in by_topic.items():
        rm, ad = sorted(set(rm)), sorted(set(ad))
        if rm == ad:  # the same blocks under new ids: nothing a learner would see
            continue
        if rm and ad:
            out.append(("replaced", f"{topic}: {', '.join(rm)} → {', '.join(ad)}"))
        elif ad:
            out.append(("added", f"{topic}: {', '.join(ad)} added"))
        else:
            out.append(("removed", f"{topic}: {', '.join(rm)} removed"))
    # -- wiring that means something
    pp, np_ = _norm_placement(prev_arch), _norm_placement(arch)
    if pp and np_ and pp != np_:
        out.append(("changed", f"Norm placement: {PLACEMENT[pp]} → {PLACEMENT[np_]}"))
    # -- what the resolved settings do
    if pr and nr:
        out += [("changed", line) for line in _feature_lines(pr, nr, numbers)]
    # -- sizes
    if numbers and pr and nr:
        da, db = pr.dims, nr.dims
        for k, (label, unit) in DIM_WORDS.items():
            if da.get(k) is not None and db.get(k) is not None and da[k] != db[k]:
                out.append(("changed", f"{label}: {_num(da[k])} → {_num(db[k])}{unit}"))
        if not pr.errors and not nr.errors:
            a, b = humanize(pr.params_total), humanize(nr.params_total)
            if a != b:
                out.append(("changed", f"Parameters: {a} → {b}"))
            a, b = humanize(pr.params_active), humanize(nr.params_active)
            if nr.params_active != nr.params_total and a != b:
                out.append(("changed", f"Active per token: {a} → {b} parameters"))
    seen, items = set(), []
    for kind, text in out:
        if text not in seen:
            seen.add(text)
            items.append((kind, text))
    return items
