"""Setting a race up: the classic demos (presets/races.yaml), the models a race compares, and
matching them at equal classroom parameter count (total or active) or equal FLOPs per token.

Matching keeps every model's graph and depth and fits only its FFN widths (``hidden_dim``,
``expert_hidden_dim``, ``dense_hidden_dim``) so that the chosen figure equals the first
model's as closely as integers allow; the achieved figures are reported, never hidden.
"""
from __future__ import annotations

import copy
import functools
from dataclasses import dataclass

from studio.core import errors as E

MATCHES = {"none": None, "params": "params_total", "active": "params_active", "flops": "flops_per_token"}
WIDTH_FIELDS = ("hidden_dim", "expert_hidden_dim", "dense_hidden_dim")


@dataclass(frozen=True)
class RacePreset:
    id: str
    title: str
    models: tuple          # preset ids or inline model dicts
    match: str
    say: str


@functools.lru_cache(maxsize=1)
def race_presets() -> dict[str, RacePreset]:
    """presets/races.yaml, read and typed as user files are (file_schemas.RACES); a damaged
    file is one LoadError line."""
    from studio.core.files.file_schemas import RACES, check
    from studio.core.files.presets import package_text
    from studio.core.files.yamlio import parse_yaml_text
    where = "presets/races.yaml"
    data = check(parse_yaml_text(package_text("races.yaml", "race presets file"), where), RACES, where)
    out = {}
    for r in data.get("races") or []:
        match = r.get("match") or "none"
        out[r["id"]] = RacePreset(r["id"], str(r.get("title") or r["id"]), tuple(r["models"]), match,
                                  " ".join(str(r.get("say") or "").split()))
    return out


def race_preset(race_id: str) -> RacePreset:
    presets = race_presets()
    if race_id not in presets:
        raise E.StudioError(f"unknown race preset {race_id!r}; choose from {', '.join(presets)}")
    return presets[race_id]


def inline_model(d: dict, where: str = "presets/races.yaml"):
    """An Architecture from an inline {id, extends, meta, scales, graph_ops} (a preset file's keys)."""
    from studio.core.files.presets import apply_graph_ops, resolved_data
    from studio.core.files.yamlio import architecture_from_data
    if not d.get("id") or not d.get("extends"):
        raise E.LoadError(f"{where}: an inline race model needs 'id' and 'extends'")
    base = copy.deepcopy(resolved_data(str(d["extends"])))
    base["edges"] = list(base.get("edges", []))
    for scale, dims in (d.get("scales") or {}).items():
        merged = base.setdefault("scales", {}).setdefault(scale, {})
        for k, v in (dims or {}).items():
            if v is None:
                merged.pop(k, None)
            else:
                merged[k] = v
    apply_graph_ops(base, d.get("graph_ops") or {}, where)
    base["id"] = str(d["id"])
    base["meta"] = {**(base.get("meta") or {}), **(d.get("meta") or {})}
    base.pop("extends", None)
    return architecture_from_data(base, where)


def load_race_model(spec):
    """(architecture, spec string for run.yaml): a preset id / file path, or an inline dict."""
    from studio.core.files.model_spec import load_model
    if isinstance(spec, dict):
        return inline_model(spec), str(spec["id"])
    return load_model(str(spec)), str(spec)


def figure(arch, metric: str) -> int:
    from studio.core.model.accounting import account
    return int(getattr(account(arch, "classroom"), metric))


def _with_width(arch, base: dict, mult: float):
    a = arch.copy()
    dims = a.scales["classroom"]
    for f, v in base.items():
        dims[f] = max(1, int(round(v * mult)))
    return a


def match_width(arch, target: int, metric: str):
    """A copy of ``arch`` whose FFN widths make ``metric`` (an Accounting field) closest to ``target``."""
    dims = arch.scales["classroom"]
    base = {f: dims[f] for f in WIDTH_FIELDS if isinstance(dims.get(f), int) and dims[f] > 0}
    if not base:
        return arch
    lo, hi = 1e-3, 1.0
    while figure(_with_width(arch, base, hi), metric) < target and hi < 64:
        hi *= 2
    for _ in range(40):  # the figure grows with the width: bisect the multiplier
        mid = (lo + hi) / 2
        if figure(_with_width(arch, base, mid), metric) < target:
            lo = mid
        else:
            hi = mid
    cands = [_with_width(arch, base, m) for m in (lo, hi)]
    return min(cands, key=lambda a: abs(figure(a, metric) - target))


def match_models(archs: list, match: str) -> list:
    """The later models refitted to the first one's figure (``match`` a key of MATCHES)."""
    metric = MATCHES.get(match, "?")
    if metric == "?":
        raise E.StudioError(f"unknown --match {match!r}; choose {', '.join(MATCHES)}")
    if metric is None or len(archs) < 2:
        return list(archs)
    target = figure(archs[0], metric)
    return [archs[0]] + [match_width(a, target, metric) for a in archs[1:]]
