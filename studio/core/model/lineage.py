"""Lineage: what a milestone changed, against the model it builds on, not the previous tick.

Each preset names the model it builds on (``meta.builds_on``: one id, or a list whose first id
is the graph it starts from and the rest the ideas it merges; a component paper names the model
it is shown in and ``meta.replaces`` the block it replaces). ``change_since`` compares the two
in a learner's words (``milestone_change_items``) and returns the list the card, the
scene's marks, Compare, presentation mode and ``archstudio info --json`` share.

Lines are ordered headline first (``meta.headline``: the topic of the line a lesson leads with,
"Attention" for LLaMA 2's GQA, "Training" for Chinchilla's 20 tokens per parameter). Where the
training pipeline changed, the preset's own words for it are the list's ``training`` lines; a
milestone that changes only the pipeline lists only those. At paper scale a line about a value no
source states (``dims_provenance``: illustrative, inferred) is left out and named in one closing
line instead: the card never lists the studio's own assumptions as the model's change.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from studio.core import errors as E
from studio.core.model.diff import comparison_scale, structural_change_items

ASSUMED = ("illustrative", "inferred")
# the dims each line's topic reports (a line about an assumed dim is not the model's change)
LINE_DIMS = (
    ("Width of the residual stream:", ("dim",)), ("Attention heads:", ("n_heads",)),
    ("Feed-forward width:", ("hidden_dim",)), ("Layers:", ("n_layers",)), ("Vocabulary:", ("vocab_size",)),
    ("Context:", ("context",)), ("Mixture of experts:", ("n_experts", "top_k")),
)
DIM_NAMES = {"dim": "width", "n_heads": "attention heads", "hidden_dim": "feed-forward width",
             "n_layers": "layers", "vocab_size": "vocabulary", "context": "context",
             "local_window": "banded attention layers", "expert_hidden_dim": "expert width", "n_experts": "experts",
             "top_k": "experts per token", "n_kv_heads": "key/value heads"}


@dataclass(frozen=True)
class LineageChange:
    """A milestone against the model it builds on: ``since`` (the graph it starts from),
    ``builds_on`` (that id and the ideas it merges), ``items`` (kind, text), headline first."""
    since: str | None = None
    builds_on: tuple[str, ...] = ()
    items: tuple[tuple[str, str], ...] = ()

    @property
    def headline(self) -> str:
        return self.items[0][1] if self.items else ""

    def as_dict(self) -> dict:
        return {"since": self.since, "builds_on": list(self.builds_on), "headline": self.headline,
                "items": [{"kind": k, "text": t} for k, t in self.items]}


def builds_on(meta: dict, where: str = "") -> tuple[str, ...]:
    """The ids ``meta.builds_on`` names (empty for the root of the timeline); one clear LoadError
    when it is neither an id nor a list of ids."""
    raw = (meta or {}).get("builds_on")
    if raw is None:
        return ()
    ids = [raw] if isinstance(raw, str) else raw if isinstance(raw, list) else None
    if not ids or not all(isinstance(i, str) and i.strip() for i in ids):
        raise E.LoadError(f"{where or meta.get('id', 'model')}: meta.builds_on must be a model id or a list of "
                          f"model ids, got {raw!r}")
    return tuple(i.strip() for i in ids)


def base_id(arch) -> str | None:
    """The model ``arch``'s change list is against: the first id it builds on."""
    ids = builds_on(arch.meta, arch.id)
    return ids[0] if ids else None


def _assumed(arch, scale: str | None) -> set[str]:
    if scale != "paper":
        return set()
    out = set()
    for name, e in (arch.meta.get("dims_provenance") or {}).items():
        prov = e if isinstance(e, str) else (e or {}).get("provenance", "illustrative")
        if prov in ASSUMED:
            out.add(name)
    return out


def _line_dims(text: str) -> tuple[str, ...]:
    for prefix, dims in LINE_DIMS:
        if text.startswith(prefix):
            return dims
    return ()


def drop_assumed(items: list, prev, arch, scale: str | None) -> list:
    """Lines whose figures rest on values no source states are left out (named in one line)."""
    assumed = _assumed(prev, scale) | _assumed(arch, scale)
    if not assumed:
        return items
    out, left, told = [], [], set()  # told: assumed values a kept line already says are not published
    for kind, text in items:
        if text.startswith("Attention: ") and "n_heads" in assumed and "query heads" in text:
            text = re.sub(r"^Attention: [\d,]+ → 1 key/value head: all [\d,]+ query heads share one",
                          "Attention: one key/value head: all query heads share it", text)
            text = re.sub(r"^Attention: [\d,]+ → ([\d,]+) key/value heads: [\d,]+ query heads share",
                          r"Attention: \1 key/value heads: the query heads share them", text)
            text = re.sub(r"\ball [\d,]+ query heads", "all query heads", text)
            text = re.sub(r"\b[\d,]+ query heads", "the query heads", text)
        if "n_kv_heads" in assumed and re.match(r"Attention: [\d,]+ → [\d,]+ key/value head", text):
            text += " (how many key/value heads: no source states it; the graph assumes it)"
            told.add("n_kv_heads")
        if "local_window" in assumed and "see only the last" in text:  # the band is stated, its width is not
            text = re.sub(r"the last [\d,]+ tokens", "a band of recent tokens (its width is not published)", text)
            told.add("local_window")
        if text.startswith("Attention: every layer sees the whole context") and "local_window" in _assumed(arch, scale):
            left.append(DIM_NAMES["local_window"])
            continue
        hit = set(_line_dims(text)) & assumed
        if hit:
            left += [DIM_NAMES.get(d, d) for d in sorted(hit)]
            continue
        if text.startswith(("Parameters:", "Active per token:")) and _rests_on_assumptions(prev, arch, scale):
            sourced = _sourced_count(text, prev, arch, scale)
            if sourced:  # the source's own figure instead of a count resting on assumptions (GPT-4: ~1.8T)
                out.append((kind, sourced))
            else:
                left.append("parameter counts")
            continue
        out.append((kind, text))
    a, b = prev.scales.get(scale, {}), arch.scales.get(scale, {})
    left += [DIM_NAMES[d] for d in sorted(_assumed(arch, scale) - told) if d in DIM_NAMES and d in b and a.get(d) != b[d]]
    if left:
        names = ", ".join(dict.fromkeys(left))
        out.append(("changed", f"Not stated by any source, so not listed: {names} (the graph assumes them; see the card)"))
    return out


def _sourced_count(text: str, prev, arch, scale) -> str:
    """'Parameters: 174.6 B → ~1.8 T (reported)': the new model's count as its source states it,
    when the old one's count is exact; '' when no source states it."""
    from studio.core.model import provenance
    from studio.core.model.accounting import humanize
    key = "params_total" if text.startswith("Parameters:") else "params_active"
    if provenance.figures_provenance(prev, scale, "params_total")[0] == "computed-from-assumptions":
        return ""
    fig = provenance.published_figures_of(arch.meta).get(key)
    if fig is None or not isinstance(fig.value, (int, float)) or fig.provenance not in provenance.SOURCED:
        return ""
    label, _, rest = text.partition(":")
    before = rest.split("→")[0].strip()
    unit = " parameters" if key == "params_active" else ""
    return f"{label}: {before} → ~{humanize(fig.value)}{unit} ({fig.provenance})"


def _rests_on_assumptions(prev, arch, scale) -> bool:
    from studio.core.model import provenance
    return any(provenance.figures_provenance(a, scale, "params_total")[0] == "computed-from-assumptions"
               for a in (prev, arch))


def pipeline_items(prev, arch, graph_changed: bool = False) -> list[tuple[str, str]]:
    """The training pipeline's change: the preset's own words for it (its ``training`` changes,
    stated against the preset it extends); else, when nothing else changed, the new pipeline's
    stages; nothing when the pipeline is the same (or only describes a changed graph)."""
    a, b = prev.training or {}, arch.training or {}
    if not (b.get("stages") or b.get("settings")) or (a.get("stages"), a.get("settings")) == (b.get("stages"), b.get("settings")):
        return []
    extends = arch.meta.get("extends")
    own = [c.get("text", "") for c in arch.meta.get("changes") or []
           if isinstance(c, dict) and c.get("kind") == "training" and c.get("text")]
    if own and extends and extends == (prev.meta.get("id") or getattr(prev, "source", None)):
        return [("training", f"Training: {t}") for t in own]
    if graph_changed or [s.get("name") for s in a.get("stages") or []] == [s.get("name") for s in b.get("stages") or []]:
        return []
    names = [str(s.get("name", "")) for s in b.get("stages") or [] if isinstance(s, dict)]
    return [("training", "Training pipeline: " + " → ".join(names))] if names else []


def headline_first(items: list, headline: str | None) -> list:
    """Stable: the lines of the headline topic first (``Attention`` matches "Attention: …")."""
    if not headline:
        return items
    first = [it for it in items if it[1].startswith(f"{headline}:")]
    return first + [it for it in items if it not in first]


TOPIC_ALIASES = {"Router": "Feed-forward", "Experts": "Feed-forward", "Mixture of experts": "Feed-forward"}


def told_blocks(prev, arch, items, scale: str | None = None) -> set[str]:
    """The blocks in both models that the change list talks about: a line "Attention: …" marks
    the attention blocks whose resolved settings differ (LLaMA 2's GQA marks its attention
    although only dims changed); size lines (width, layers) mark nothing."""
    from blocks.registry import get_spec
    from studio.core.model.resolve import config_dict, resolve

    def settings(rn):  # a block's own settings: the model-wide sizes every block follows left out
        return [(ix, kind, {k: v for k, v in config_dict(cfg).items() if k not in ("dim", "vocab_size", "context")})
                for ix, kind, cfg in rn.variant_groups()]
    topics = {text.partition(":")[0] for _, text in items}
    topics |= {TOPIC_ALIASES[t] for t in topics if t in TOPIC_ALIASES}
    scale = scale or next((s for s in ("paper", "classroom") if s in prev.scales and s in arch.scales), None)
    if scale is None:
        return set()
    try:
        ra, rb = resolve(prev, scale), resolve(arch, scale)
        out = set()
        for nid in set(prev.graph.nodes) & set(arch.graph.nodes):
            if get_spec(arch.graph.node(nid).kind).topic_words in topics and \
                    settings(ra.node(nid)) != settings(rb.node(nid)):
                out.add(nid)
        return out
    except Exception:  # noqa: BLE001 - a model that does not resolve marks only its structural changes
        return set()


def change_between(prev, arch, scale: str | None = None) -> LineageChange:
    """``arch`` against ``prev`` (any two models: Compare, an edited copy, a user's milestone)."""
    items = milestone_change_items(prev, arch, scale)
    since = prev.meta.get("id") or getattr(prev, "source", None)
    return LineageChange(since, (since,) if since else (), tuple(items))


def change_since(arch, load=None, scale: str | None = None) -> LineageChange:
    """``arch`` against the model it builds on (``load`` reads an id; default: the timeline's).
    Nothing for the root of the timeline or a model that names no lineage."""
    ids = builds_on(arch.meta, arch.id)
    if not ids:
        return LineageChange()
    if load is None:  # a preset, or a milestone the user added to the timeline
        from studio.core.files.user_milestones import load_timeline_model as load
    prev = load(ids[0])
    return LineageChange(ids[0], ids, change_between(prev, arch, scale).items)


def kept_not_drawn(items: list, prev, arch) -> list:
    """A block the model keeps but its graph does not draw (``meta.not_drawn``: DeepSeek-V4's MTP
    module) is not a removal: its line says so instead."""
    titles = {prev.graph.node(n).spec.title for n in arch.meta.get("not_drawn") or [] if n in prev.graph.nodes}
    out = []
    for kind, text in items:
        if kind == "removed" and any(text.endswith(f"{t} removed") for t in titles):
            kind, text = "changed", text[: -len(" removed")] + " kept by the model, not drawn here (see the card)"
        out.append((kind, text))
    return out


def milestone_change(prev_arch, arch, scale: str | None = None) -> list[str]:
    """What changed from ``prev_arch`` (the model ``arch`` builds on: studio.core.model.lineage
    finds it) to ``arch``, one line per change, in words a learner reads ("Normalisation:
    LayerNorm → RMSNorm", "Attention: 64 query heads share 8 key/value heads (GQA) instead of
    one each"); never a field name or block id. The root has no predecessor (``prev_arch``
    None) and so no changes. Figures are compared at ``scale`` (default: paper when both have
    it) and left out for undisclosed / stand-in architectures; a changed training pipeline is
    told in the preset's own words; the headline topic (``meta.headline``) comes first."""
    return [text for _, text in milestone_change_items(prev_arch, arch, scale)]


def milestone_change_items(prev_arch, arch, scale: str | None = None) -> list[tuple[str, str]]:
    """``milestone_change`` with each line's kind for the card's glyphs and the animation's
    colours: (added | removed | replaced | changed, text)."""
    if prev_arch is None or arch is None:
        return []
    scale = scale or comparison_scale(prev_arch, arch)
    items = drop_assumed(structural_change_items(prev_arch, arch, scale), prev_arch, arch, scale)
    items = kept_not_drawn(items, prev_arch, arch)
    items += [it for it in pipeline_items(prev_arch, arch, bool(items)) if it not in items]
    return headline_first(items, arch.meta.get("headline"))
