"""Whole-graph validation: every issue at once, each naming its node and the fix."""
from __future__ import annotations

from dataclasses import dataclass

from studio.core import errors as E
from studio.core.model.plan import build_plan
from studio.core.model.resolve import resolve


@dataclass(frozen=True)
class Issue:
    node: str
    message: str
    severity: str = "error"  # or "warning"

    def __str__(self):
        return f"{self.node}: {self.message}"


class _Issues(list):
    """Issues in the order found, each once."""

    def __init__(self):
        super().__init__()
        self._seen = set()

    def add(self, node, msg, sev="error"):
        key = (node, msg, sev)
        if key not in self._seen:
            self._seen.add(key)
            self.append(Issue(node, msg, sev))


def validate(arch, scale: str | None = None) -> list[Issue]:
    """Every issue of ``arch`` at ``scale`` (all scales when None) at once, each naming its node."""
    scales = [scale] if scale else list(arch.scales)
    if not arch.graph.nodes:
        return [Issue("model", "the graph is empty: add blocks from the palette")]
    issues = _Issues()
    from studio.core.model.bounds import scale_problems  # dims outside their bounds: named, and nothing resolved
    out_of_bounds = scale_problems({s: arch.scales[s] for s in scales if s in arch.scales}, arch.regions)
    for path, msg in out_of_bounds:
        issues.add("model", f"{msg} ({path})")
    if out_of_bounds:
        return list(issues)
    cfgs = {sc: _config_issues(arch, sc, len(scales) > 1, issues.add) for sc in scales}
    _wiring_issues(arch, issues.add)
    for sc in scales:
        _edge_issues(arch, sc, cfgs[sc], issues.add)
    _positional_issues(arch, issues.add)
    return list(issues)


def _config_issues(arch, sc: str, name_scale: bool, add) -> dict[str, object]:
    """Each node's settings at ``sc``, per distinct layer variant; returns layer 0's Configs."""
    cfgs: dict[str, object] = {}
    try:
        res = resolve(arch, sc)
    except E.StudioError as exc:  # no such scale, or a region count that does not resolve
        add("model", str(exc))
        return cfgs
    for nid, rn in res.nodes.items():
        if rn.error:
            add(nid, rn.error)
            continue
        for v in rn.variants:  # identical layers share one Config: check it once
            for m in v.config.check():
                add(nid, f"{m} [{sc}]" if name_scale else m)
            for m in v.config.warnings():
                add(nid, m, "warning")
        if rn.variants:
            cfgs[nid] = rn.variants[0].config  # layer 0's
    return cfgs


def _wiring_issues(arch, add) -> None:
    """Unconnected inputs, outputs going nowhere, override ports, the LM head, region entries/exits."""
    g = arch.graph
    for nid, n in g.nodes.items():
        for p in n.spec.inputs:
            if not p.optional and g.input_edge(nid, p.name) is None:
                add(nid, f"input {p.name!r} ({p.type}) is not connected: wire a {p.type} output into it")
        if n.spec.outputs and not g.out_edges(nid) and n.spec.outputs[0].type != "logits":
            add(nid, "its output goes nowhere: connect it or delete the block", "warning")
    for nid, msg in override_port_problems(arch):
        add(nid, msg)
    heads = [nid for nid, n in g.nodes.items() if n.spec.has("lm_head")]
    if len(heads) != 1:
        add("model", f"needs exactly one LM head, found {len(heads)}")
    try:
        plan = build_plan(arch)
        for r, rp in plan.regions.items():
            if rp.exit is None:
                add(r, f"nothing leaves the {r} region: connect its last block to the next region")
            if rp.entry is None and r != "encoder" or (r == "encoder" and rp.entry is None):
                add(r, f"nothing enters the {r} region: connect the stem's output into its first block")
    except E.StudioError as exc:
        add("model", str(exc))


def _edge_issues(arch, sc: str, c: dict, add) -> None:
    """Widths across edges, RoPE head dims and table lengths, ties, position tables at ``sc``."""
    g = arch.graph
    for e in g.edges:
        a, b = c.get(e.src), c.get(e.dst)
        if a is None or b is None:
            continue
        if hasattr(a, "dim") and hasattr(b, "dim") and g.node(e.src).spec.output(e.src_port).type == "hidden" and a.dim != b.dim:
            add(e.dst, f"receives width {a.dim} from {e.src} but expects dim {b.dim}")
        if g.node(e.src).spec.has("rotary"):
            want = getattr(b, "qk_rope_head_dim", None) or getattr(b, "hd", None)
            if want and a.head_dim != want:
                add(e.dst, f"RoPE from {e.src} rotates {a.head_dim} dims but this block's rotary head dim is {want}")
            ctx = arch.dims(sc).get("context")
            if ctx and a.context < ctx:
                add(e.src, f"tables cover {a.context} positions but the context is {ctx}")
    for nid, cfg in c.items():
        tie = getattr(cfg, "tie_to", "")
        if tie:
            if tie not in g.nodes or not g.node(tie).spec.has("token_table"):
                add(nid, f"tie_to {tie!r} is not a token embedding block")
            elif c.get(tie) is not None and (c[tie].vocab_size, c[tie].dim) != (cfg.vocab_size, cfg.dim) and not getattr(cfg, "pad_vocab_to", 0):
                add(nid, f"tied to {tie} but shapes differ ({cfg.vocab_size}×{cfg.dim} vs {c[tie].vocab_size}×{c[tie].dim})")
            elif getattr(cfg, "pad_vocab_to", 0):
                add(nid, "a padded head cannot be tied: untie it or set pad_vocab_to to 0")
        if g.node(nid).spec.has("position_table"):
            ctx = arch.dims(sc).get("context")
            if ctx and cfg.context < ctx:
                add(nid, f"table covers {cfg.context} positions but the context is {ctx}")


def _positional_issues(arch, add) -> None:
    """Two positional schemes reaching one self-attention block."""
    import networkx as nx
    g, nxg = arch.graph, None
    for nid, n in g.nodes.items():
        if n.spec.has("self_attention"):
            nxg = g.nx() if nxg is None else nxg
            kinds = {g.node(a).kind for a in nx.ancestors(nxg, nid) if g.node(a).spec.has("positional")}
            rope = g.input_edge(nid, "rope")
            if rope is not None:
                kinds.add(g.node(rope.src).kind)
            if len(kinds) > 1:
                add(nid, f"two positional schemes reach it ({', '.join(sorted(kinds))}): keep one")


def override_port_problems(arch) -> list[tuple[str, str]]:
    """(node, message) for every override that gives a layer node a kind whose ports do not fit
    the node's wiring: an input wired in the graph that the new kind lacks (a residual's ``y`` into
    an rmsnorm), a required input of the new kind left unwired, a wired output it does not have, or
    a port of another type. The compiled layer would fail in its first forward."""
    from blocks.registry import UnknownBlockKind, get_spec
    g, out = arch.graph, []
    for ov in arch.overrides:
        if not ov.kind or ov.node not in g.nodes or ov.kind == g.node(ov.node).kind:
            continue
        try:
            new = get_spec(ov.kind)
        except UnknownBlockKind as exc:
            out.append((ov.node, str(exc)))
            continue
        base, where = g.node(ov.node).kind, f"layers {ov.layers} make it a {new.kind}"
        for e in g.in_edges(ov.node):
            port = new.input(e.dst_port)
            src = g.node(e.src).spec.output(e.src_port) if e.src in g.nodes else None
            msg = None
            if port is None:
                have = ", ".join(p.name for p in new.inputs) or "none"
                msg = (f"{where}, which has no input {e.dst_port!r} (wired from {e.src}; its inputs: {have}): "
                       f"override it with a kind that has the {base}'s ports")
            elif src is not None and src.type != port.type:
                msg = f"{where}, whose input {e.dst_port!r} takes {port.type}, not the {src.type} {e.src} sends"
            if msg:
                out.append((ov.node, msg))
        for p in new.inputs:
            if not p.optional and g.input_edge(ov.node, p.name) is None:
                out.append((ov.node, f"{where}, which needs input {p.name!r} ({p.type}); the graph wires none"))
        for e in g.out_edges(ov.node):
            if new.output(e.src_port) is None:
                out.append((ov.node, f"{where}, which has no output {e.src_port!r} (wired to {e.dst})"))
    return out


def errors_only(issues: list[Issue]) -> list[Issue]:
    return [i for i in issues if i.severity == "error"]


def try_dim(arch, scale: str, key: str, value) -> str | None:
    """What an editor asks before a shared dimension changes: the first error the new value
    would bring to the model (None: none new). Never raises for a bad value."""
    trial = arch.copy()
    trial.scales[scale] = dict(trial.scales[scale], **{key: value})
    try:
        before = {(i.node, i.message) for i in errors_only(validate(arch, scale))}
        new = [i for i in errors_only(validate(trial, scale)) if (i.node, i.message) not in before]
    except E.StudioError as exc:
        return str(exc)
    return str(new[0]) if new else None
