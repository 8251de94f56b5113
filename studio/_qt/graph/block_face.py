"""What one block shows in the graph: its key settings, parameter badge, per-layer variation
badge and tooltip, computed from the architecture on screen at one scale; and how its settings
lines fold to the block's width."""
from __future__ import annotations

from PySide6.QtGui import QFontMetricsF

from blocks.registry import get_spec
from studio._qt.text import get_family_name, key_settings, ranges as _ranges
from studio.core.model import provenance
from studio.core.errors import StudioError
from studio.core.model.resolve import resolve


def block_face(arch, scale: str, nid: str) -> tuple:
    """(kind, spec, key lines, badge, badge tip, variant badge, tooltip) of block ``nid``."""
    node = arch.graph.node(nid)
    spec = get_spec(node.kind)
    lines, badge, badge_tip, tip_extra, variant = [], "", "", "", ""
    if scale not in arch.scales:
        scale = next(iter(arch.scales), scale)
    try:
        cfg, _ = resolve(arch, scale).config_of(node.id)
        hide = provenance.hides_figures(arch, scale)  # a stand-in: structure only, no figure on it
        lines = [] if hide else key_settings(spec, cfg)
        per = spec.params(cfg)
        n = arch.repeat(node.region, scale)
        badge, badge_tip = provenance.block_badge(arch, scale, node.id, per)
        if per and not hide:
            tip_extra = f"\nParameters: {per:,}" + (f" per layer, {per * n:,} over {n} layers" if n > 1 else "")
        # per-layer overrides, read from the override list (resolving every layer is too slow to scrub)
        dims = arch.dims(scale)
        idx, kinds = set(), set()
        for ov in arch.overrides:
            if ov.node == node.id and node.region in arch.regions:
                hit = ov.indices(n, dims)
                idx.update(hit)
                if hit:
                    kinds.add(get_spec(ov.kind).title if ov.kind else f"{spec.title} with other settings")
        if hide:
            tip_extra = "\n" + provenance.STAND_IN_NOTE
        elif idx:
            variant = f"≠ {len(idx)}/{n} layers"
            tip_extra += f"\nLayers {_ranges(sorted(idx))} use {', '.join(sorted(kinds))} (per-layer override)"
    except (StudioError, TypeError, ValueError) as exc:
        lines = ["settings invalid"]
        tip_extra = f"\n{exc}"
    tip = f"{spec.title} ({node.id}) · {get_family_name(spec.family)}\n{spec.summary}{tip_extra}"
    return node.kind, spec, lines, badge, badge_tip, variant, tip


def fold_lines(lines: list[str], fm: QFontMetricsF, width: float) -> list[str]:
    """Settings lines as drawn: one too wide for the block breaks at its " · " separators
    ("theta 10000 · head dim 128" on two lines, not "theta 10000 · head dim …")."""
    out = []
    for line in lines:
        if fm.horizontalAdvance(line) <= width or " · " not in line:
            out.append(line)
            continue
        cur = ""
        for part in line.split(" · "):
            joined = f"{cur} · {part}" if cur else part
            if cur and fm.horizontalAdvance(joined) > width:
                out.append(cur)
                cur = part
            else:
                cur = joined
        out.append(cur)
    return out
