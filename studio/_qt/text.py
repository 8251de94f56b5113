"""Small formatting helpers shared by the scene, the panels and the render command (no widgets)."""
from __future__ import annotations

import html
import re

SHORT = {"n_heads": "heads", "n_kv_heads": "kv heads", "hidden_dim": "hidden", "vocab_size": "vocab",
         "n_experts": "experts", "top_k": "top-k", "n_shared": "shared", "kv_lora_rank": "kv rank",
         "q_lora_rank": "q rank", "tie_to": "tied to", "pad_vocab_to": "pad to", "head_dim": "head dim",
         "loss_weight": "λ", "store_copies": "own copies", "yarn_factor": "YaRN ×", "llama3_factor": "Llama 3 ×"}

PROVENANCE_GLYPH = {"published": "◆", "computed": "●", "measured": "▲", "reported": "◇",
                    "undisclosed": "○", "stand-in": "◌", "computed-from-assumptions": "◐", "computed-from-config": "●",
                    "illustrative": "◌", "inferred": "◑", "chosen": "□", "n/a": "–"}

PROVENANCE_WORD = {"computed-from-assumptions": "assumed", "computed-from-config": "from config.json", "n/a": ""}


def provenance_badge(provenance: str) -> str:
    """Glyph and word ("● computed"): the shape alone does not say where a number came from."""
    glyph = PROVENANCE_GLYPH.get(provenance, "")
    word = PROVENANCE_WORD.get(provenance, provenance)
    return f"{glyph} {word}".strip()


def fmt_value(v) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:g}" if abs(v) < 1e6 else f"{v:.3g}"
    if isinstance(v, int) and abs(v) >= 10000:
        return f"{v:,}"
    return str(v)


def key_settings(spec, cfg) -> list[str]:
    """The block's key settings as up to two short lines for the node face."""
    parts = []
    for name in spec.key_fields:
        v = getattr(cfg, name, None)
        label = SHORT.get(name, name.replace("_", " "))
        if isinstance(v, bool):
            parts.append(label if v else f"no {label}")
        elif v in (None, "", 0):
            continue
        else:
            parts.append(f"{label} {fmt_value(v)}")
    lines, cur = [], ""
    for p in parts:
        if cur and len(cur) + len(p) + 3 > 28:
            lines.append(cur)
            cur = p
        else:
            cur = f"{cur} · {p}" if cur else p
    if cur:
        lines.append(cur)
    return lines[:2]


def training_stages(training: dict) -> list[tuple[str, str]]:
    """(title, detail) of each training stage, whatever shape the preset uses for them."""
    stages = training.get("stages") or training.get("pipeline") or []
    if isinstance(stages, dict):
        stages = [{"name": k, **(v if isinstance(v, dict) else {"detail": v})} for k, v in stages.items()]
    out = []
    for st in stages if isinstance(stages, list) else []:
        if isinstance(st, str):
            out.append((st, ""))
        elif isinstance(st, dict):
            title = str(st.get("title") or st.get("name") or st.get("kind") or st.get("stage") or "stage")
            detail = st.get("what") or st.get("detail") or st.get("description") or st.get("summary") or ""
            extras = [f"{k}: {fmt_value(v)}" for k, v in st.items()
                      if k not in ("title", "name", "kind", "stage", "what", "detail", "description", "summary")
                      and isinstance(v, (int, float, str, bool))]
            if not detail and extras:
                detail = " · ".join(extras)
            out.append((title, str(detail)))
    return out


def training_settings(training: dict) -> list[tuple[str, str]]:
    """Scalar training settings (tokens, precision, optimizer...) as (label, value) pairs."""
    out = []
    items = []
    for k, v in training.items():
        if k == "settings" and isinstance(v, dict):
            items += list(v.items())
        elif k not in ("stages", "pipeline", "notes", "note"):
            items.append((k, v))
    for k, v in items:
        if isinstance(v, (int, float, str, bool)):
            out.append((k.replace("_", " "), fmt_value(v)))
        elif isinstance(v, dict):
            inner = ", ".join(f"{a.replace('_', ' ')} {fmt_value(b)}" for a, b in v.items()
                              if isinstance(b, (int, float, str, bool)))
            if inner:
                out.append((k.replace("_", " "), inner))
        elif isinstance(v, list) and all(isinstance(x, (int, float, str)) for x in v):
            out.append((k.replace("_", " "), ", ".join(fmt_value(x) for x in v)))
    return out


def esc(s) -> str:
    return html.escape(str(s))


def badge_html(prov: str, tip: str = "") -> str:
    """A provenance badge: glyph + word (never colour alone), with a tooltip-able title."""
    glyph = PROVENANCE_GLYPH.get(prov, "•")
    word = {"computed-from-assumptions": "computed from assumptions",
            "computed-from-config": "computed from config.json"}.get(prov, prov)
    return f"<span title='{esc(tip or word)}' style='font-size:small'>{glyph}&nbsp;{esc(word)}</span>"


def get_family_name(family: str) -> str:
    from blocks.registry import FAMILIES
    return FAMILIES.get(family, family)


def ranges(idx: list[int]) -> str:
    out, start = [], None
    for i, v in enumerate(idx):
        if start is None:
            start = v
        if i == len(idx) - 1 or idx[i + 1] != v + 1:
            out.append(f"{start}" if start == v else f"{start}–{v}")
            start = None
    return ", ".join(out)


_STRAY_BYTE = re.compile(r"\\x[0-9a-fA-F]{2}")
STRAY_MARK = "⁇"
STRAY_NOTE = ("⁇ marks a token or byte that is not text yet: a barely trained model still picks "
              "bytes that do not make whole letters")


def stray_bytes_marked(text: str) -> str:
    """Generated text as a learner reads it: a byte the decoder could not make a character of
    (shown as ``\\xHH`` by the core, which keeps it exact for the command line) becomes ⁇."""
    return _STRAY_BYTE.sub(STRAY_MARK, text)


def one_line(exc: BaseException) -> str:
    """A StudioError's own line, or the error's type and first line (cut) for anything else."""
    from studio.core.errors import StudioError
    text = str(exc).splitlines()[0] if str(exc) else ""
    if not isinstance(exc, StudioError):
        text = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return text if len(text) <= 300 else text[:299] + "…"
