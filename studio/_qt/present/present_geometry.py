"""Presentation geometry: the graph laid out for a projector.

Normal mode draws every block as a fixed 190×68 box at the layout's grid positions and lets the
view zoom. That cannot give large text: zooming enlarges the spacing with the letters. Here
the text sizes come first (node titles 26 px, everything else 17 px, in scene pixels, so a
view scale of 0.93 or more keeps titles ≥ 24 px and other text ≥ 16 px on screen), each column
of the layout grid is as wide as its widest block's title, each row as tall as its tallest
block, and the gaps are only what the arrows, residual arcs, diff tags and frame labels need.

Where the graph does not fit the area beside the card at that size, detail is dropped level by
level instead of shrinking the text: 0 everything, 1 no settings lines, 2 no per-block badges,
3 the training-stage strip as one line of named steps on the card. Long titles may also wrap onto two lines
(narrower columns, taller rows): each level tries both and keeps the larger scale.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QFont, QFontMetricsF
from PySide6.QtWidgets import QApplication

TITLE_PX, TEXT_PX = 26, 18  # scene pixels; ≥ 24 / ≥ 16 on screen down to a view scale of 0.93
MIN_SCALE = max(24 / TITLE_PX, 16 / TEXT_PX)
LOD_NAMES = ("everything", "no settings lines", "no per-block badges", "training stages as one line on the card")
PAD_X, PAD_Y, STRIPE = 12.0, 6.0, 18.0  # inside a box: right/left text padding, top/bottom, family stripe


def px_font(px: float, bold: bool = False) -> QFont:
    """A font sized in pixels (scene pixels: the on-screen size is this times the view scale)."""
    f = QFont(QApplication.font())
    f.setPixelSize(max(1, round(px)))
    f.setBold(bold)
    return f


def font_px(font: QFont, dpi: float = 96.0) -> float:
    """A font's height in scene pixels, whether it was sized in pixels or in points."""
    return float(font.pixelSize()) if font.pixelSize() > 0 else font.pointSizeF() * dpi / 72.0


@dataclass(frozen=True)
class Present:
    """Sizes of one presentation level of detail (what the items draw)."""
    lod: int = 0
    title_px: int = TITLE_PX
    text_px: int = TEXT_PX

    @property
    def show_lines(self) -> bool:
        return self.lod < 1

    @property
    def show_badges(self) -> bool:
        return self.lod < 2

    @property
    def stages_one_line(self) -> bool:
        return self.lod >= 3

    def title_font(self) -> QFont:
        f = px_font(self.title_px, bold=True)
        f.setStretch(QFont.SemiCondensed)  # a condensed face where one is installed: wider boxes fit
        return f

    def text_font(self, bold: bool = False) -> QFont:
        return px_font(self.text_px, bold)

    @property
    def title_line(self) -> float:
        return QFontMetricsF(self.title_font()).height()

    @property
    def text_line(self) -> float:
        return QFontMetricsF(self.text_font()).height()

    @property
    def pill_h(self) -> float:
        return self.text_line + 6


def split_title(title: str) -> list[str]:
    """A long title on two balanced lines (at a space or after a hyphen); short ones unchanged."""
    cuts = [i + 1 for i, ch in enumerate(title) if ch in " -"]
    if not cuts:
        return [title]
    best = min(cuts, key=lambda i: abs(len(title) / 2 - i))
    return [title[:best].rstrip(), title[best:].strip()]


@dataclass
class NodePlan:
    pos: tuple[float, float]
    size: tuple[float, float]
    title_lines: list[str]


@dataclass
class Plan:
    present: Present
    nodes: dict[str, NodePlan] = field(default_factory=dict)
    frame_pad: tuple[float, float, float, float] = (60.0, 60.0, 20.0, 20.0)  # left, top, right, bottom
    stage_width: float = 0.0  # width of a full stage box (0: one line)
    scale: float = 1.0  # the view scale this plan expects in the area it was made for
    wrap: bool = False


def _node_texts(arch, nid: str):
    from blocks.registry import get_spec
    return get_spec(arch.graph.node(nid).kind).title


def plan_layout(arch, units: dict[str, tuple[float, float]], faces: dict[str, tuple], tagged: set[str],
                stages: list[tuple[str, str]], area: tuple[float, float]) -> Plan:
    """The first level of detail (with the best of a few arrangements: long titles wrapped or
    not, the stem's side chains stacked or not) whose graph fits ``area`` (viewport pixels beside
    the card) at a view scale ≥ MIN_SCALE; the last level if none does.

    ``units``: layout positions (grid units); ``faces``: node id -> (settings lines, badge,
    variant badge); ``tagged``: nodes that carry a diff tag above their box."""
    best = None
    for lod in range(len(LOD_NAMES)):
        # "all" stacks an encoder-decoder's decoder-side stem under the encoder's as well: its
        # links then go around the encoder frame, so it is tried after the others at each level;
        # last, the head raised beside the layer's last rows instead of hanging below its exit
        # (DeepSeek-V4's tall layer plus a 3-block head did not fit 1366×768 at 24 px titles)
        for stacks, head in (((False, True), "exit"), (("all",), "exit"), ((False, True, "all"), "raised")):
            options = [_make(arch, units, faces, tagged, stages, area, Present(lod), wrap, stack, head)
                       for wrap in ("none", "side", "all") for stack in stacks]
            pick = max(options, key=lambda p: p.scale)
            if pick.scale >= MIN_SCALE + 0.05:  # the estimate is within a few per cent of the real fit
                return pick
            best = pick if best is None or pick.scale > best.scale else best
    return best


def _stacked(arch, units, every_column: bool = False):
    """The stem's chains one under the other instead of side by side (2017: source and target).
    Only the columns left of the first region unless ``every_column``: an encoder-decoder's
    decoder-side stem stands between the encoder and the decoder (studio.core.model.layout)."""
    first_other = min((u[0] for n, u in units.items() if arch.graph.node(n).region != "stem"), default=float("inf"))
    if every_column:
        first_other = float("inf")
    stem = {n: u for n, u in units.items() if arch.graph.node(n).region == "stem" and u[0] < first_other}
    xs = sorted({u[0] for u in stem.values()})
    if len(xs) < 2:
        return units
    out, dy = dict(units), 0.0
    for x in xs:
        col = [n for n, u in stem.items() if u[0] == x]
        y0 = min(stem[n][1] for n in col)
        for n in col:
            out[n] = (xs[0], stem[n][1] - y0 + dy)
        dy += max(stem[n][1] for n in col) - y0 + 100.0
    return out


def _make(arch, units, faces, tagged, stages, area, pr: Present, wrap: str, stack: bool | str,
          head: str = "exit") -> Plan:
    plan = Plan(pr, wrap=wrap != "none")
    if stack:
        units = _stacked(arch, units, every_column=stack == "all")
    tfm, xfm = QFontMetricsF(pr.title_font()), QFontMetricsF(pr.text_font())
    bfm = QFontMetricsF(pr.text_font(bold=True))
    regions = {nid: arch.graph.node(nid).region for nid in units}
    size, lines_of = {}, {}
    for nid in units:
        title = _node_texts(arch, nid)
        may_wrap = wrap == "all" or (wrap == "side" and regions[nid] in ("stem", "head"))
        lines = split_title(title) if may_wrap and tfm.horizontalAdvance(title) > 150 else [title]
        lines_of[nid] = lines
        w = max(tfm.horizontalAdvance(t) for t in lines)
        sub, badge, variant = faces.get(nid, ([], "", ""))
        if pr.show_lines and sub:
            w = max(w, xfm.horizontalAdvance(sub[0]))
        top = 0.0
        if pr.show_badges and badge:  # badge above the right end, beside the diff tag on the left
            top = bfm.horizontalAdvance(badge) + 16 + (bfm.horizontalAdvance("~ changed") + 24 if nid in tagged else 0)
        w = max(w + STRIPE + PAD_X, top, 110.0)
        h = PAD_Y * 2 + pr.title_line * len(lines) + (pr.text_line if pr.show_lines and sub else 0)
        if pr.show_badges and variant:
            h += pr.pill_h * 0.5
        size[nid] = (w, h)
    xs = sorted({round(u[0], 1) for u in units.values()})
    col_of = {nid: xs.index(round(u[0], 1)) for nid, u in units.items()}
    col_w = [max((size[n][0] for n in units if col_of[n] == c), default=0) for c in range(len(xs))]
    col_region = [next(regions[n] for n in units if col_of[n] == c) for c in range(len(xs))]
    framed = set(getattr(arch, "regions", {}) or {})
    left, top, right, bottom = 58.0, pr.text_line * 1.15 + 14, 18.0, 18.0
    plan.frame_pad = (left, top, right, bottom)
    col_x, x = [], 0.0
    for c in range(len(xs)):
        if c:
            same = col_region[c] == col_region[c - 1]
            x += 40.0 if same else 24.0 + (right if col_region[c - 1] in framed else 0) + (left if col_region[c] in framed else 0)
        col_x.append(x)
        x += col_w[c]

    def tall_gap(n):
        return n in tagged or (pr.show_badges and faces.get(n, ([], "", ""))[1])

    # rows per region: a short stem column does not need the layer's row heights (and the other way)
    ypos: dict[str, float] = {}
    row_at: dict[tuple[str, float], float] = {}  # (region, unit y) -> scene y
    order = sorted(set(regions.values()), key=lambda r: r == "head")  # the head aligns to the layer's exit
    ends: dict[str, float] = {}  # region -> the bottom of its last row
    for r in order:
        members = [n for n in units if regions[n] == r]
        ys = sorted({round(units[n][1], 1) for n in members})
        y = 0.0
        if r == "head":
            hits = [row_at[(q, ys[0])] for q in ("layer", "encoder") if (q, ys[0]) in row_at]
            y = max(hits) if hits else 0.0
            if head == "raised" and "layer" in ends:  # the head's last block level with the layer's last
                own = sum(max(size[n][1] for n in members if round(units[n][1], 1) == uy) for uy in ys)
                y = min(y, max(0.0, ends["layer"] - own - (pr.pill_h + 6) * (len(ys) - 1)))
        for i, uy in enumerate(ys):
            row = [n for n in members if round(units[n][1], 1) == uy]
            if i:
                y += (pr.pill_h + 6) if any(tall_gap(n) for n in row) else 20.0
            row_at[(r, uy)] = y
            for n in row:
                ypos[n] = y
            y += max(size[n][1] for n in row)
        ends[r] = y
    for nid in units:
        c = col_of[nid]
        plan.nodes[nid] = NodePlan((col_x[c], ypos[nid]), (col_w[c], size[nid][1]), lines_of[nid])
    # the size of everything drawn, to estimate the view scale this plan gets
    y0 = min(ypos.values())
    first = [n for n in units if ypos[n] == y0]
    width = x + left + right
    height = max(ypos[n] + size[n][1] for n in units) - y0 + top + bottom + (
        pr.pill_h + 6 if any(tall_gap(n) for n in first) else 0)
    if stages and not pr.stages_one_line:  # one line: the card lists the stages instead
        sw, sh = stage_strip_size(stages, pr, width)
        plan.stage_width = sw
        height += sh + 40
        width = max(width, _strip_width(stages, pr, sw))
    aw, ah = area
    margin = 12.0  # the view's margin around the graph (GraphView.fit_all)
    plan.scale = min((aw - 2 * margin) / max(width, 1), (ah - 2 * margin) / max(height, 1))
    return plan


def stage_title(i: int, title: str) -> str:
    return f"{i + 1}. {title}"


def one_line_chips(stages, pr: Present) -> list[float]:
    fm = QFontMetricsF(pr.text_font(bold=True))
    return [fm.horizontalAdvance(stage_title(i, t)) + 24 for i, (t, _) in enumerate(stages)]


STAGE_ARROW = 44.0


def _strip_width(stages, pr: Present, stage_w: float) -> float:
    if stage_w:
        return len(stages) * stage_w + (len(stages) - 1) * STAGE_ARROW
    return sum(one_line_chips(stages, pr)) + (len(stages) - 1) * STAGE_ARROW


def stage_box_height(title: str, detail: str, pr: Present, w: float) -> float:
    """Height of a full stage box of width ``w``: its title and its wrapped detail."""
    flags = int(Qt.TextWordWrap)
    t = QFontMetricsF(pr.text_font(bold=True)).boundingRect(QRectF(0, 0, w - 20, 1e4), flags, title).height()
    d = QFontMetricsF(pr.text_font()).boundingRect(QRectF(0, 0, w - 20, 1e4), flags, detail).height() if detail else 0
    return t + d + 18


def stage_strip_size(stages, pr: Present, graph_w: float) -> tuple[float, float]:
    """(width of one full stage box or 0 for one line, height of the strip with its label)."""
    label = pr.text_line + 8
    if not pr.stages_one_line:
        n = len(stages)
        w = min(340.0, max(220.0, (graph_w - (n - 1) * STAGE_ARROW) / n))
        h = max(stage_box_height(t, d, pr, w) for t, d in stages)
        return w, label + h
    return 0.0, label + pr.pill_h + 4
