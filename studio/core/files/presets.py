"""Presets: the timeline's milestones and recipes, stored as YAML in the ``presets`` package.

parse (safe_load) → resolve ``extends`` chains by applying ``graph_ops`` to the base's data →
build an Architecture. A preset states only what it replaces, adds or retunes.
"""
from __future__ import annotations

import copy
import functools
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from studio.core import errors as E
from studio.core.files.file_schemas import TIMELINE, check_architecture
from studio.core.files.file_schemas import check as check_file
from studio.core.files.yamlio import architecture_from_data, check_schema, parse_yaml_text, parse_edge

INHERITED = ("scales", "regions", "overrides", "nodes", "edges")


@dataclass(frozen=True)
class PresetInfo:
    id: str
    date: str
    title: str
    group: str  # "milestone" or "recipe"
    org: str = ""
    short: str = ""
    short_label: str = ""  # the timeline's tick label: short and unambiguous ("DS-V3")
    problem: str = ""      # why the preset file cannot be read ("" when it can)


def package_text(name: str, what: str = "preset file") -> str:
    """A file of the ``presets`` package, read as user files are (studio.core.files.schema:
    regular files only, so a FIFO never blocks; size bounded; UTF-8 without NUL bytes)."""
    import os

    from studio.core.files.schema import MAX_YAML_BYTES, decode_text, read_bytes
    res = resources.files("presets").joinpath(name)
    try:
        path = Path(os.fspath(res))
    except TypeError:  # a zipped package: no path, no FIFO either
        path = None
    if path is not None and not os.path.lexists(path):
        raise E.LoadError(f"no preset {name!r} in the presets package")
    if path is not None:
        data = read_bytes(path, MAX_YAML_BYTES, what)
    else:
        try:
            data = res.read_bytes()
        except OSError:
            raise E.LoadError(f"no preset {name!r} in the presets package") from None
    return decode_text(data, f"presets/{name}", what)


_preset_text = package_text


@functools.lru_cache(maxsize=1)
def timeline() -> dict:
    data = parse_yaml_text(_preset_text("timeline.yaml"), "presets/timeline.yaml")
    check_file(data, TIMELINE, "presets/timeline.yaml")
    return {"milestones": list(data.get("milestones") or []), "recipes": list(data.get("recipes") or [])}


def preset_ids() -> list[str]:
    t = timeline()
    return t["milestones"] + t["recipes"]


def is_preset(name: str) -> bool:
    return name in preset_ids()


@functools.lru_cache(maxsize=None)
def raw_preset(preset_id: str) -> dict:
    if not is_preset(preset_id):
        raise E.LoadError(f"unknown preset {preset_id!r}; run 'archstudio presets' to list them")
    where = f"presets/{preset_id}.yaml"
    data = parse_yaml_text(_preset_text(f"{preset_id}.yaml"), where)
    check_schema(data, where)
    data = check_architecture(data, where, partial=True)
    if data.get("id", preset_id) != preset_id:
        raise E.LoadError(f"{where}: id {data.get('id')!r} does not match the file name")
    return data


def apply_graph_ops(base: dict, ops: dict, where: str) -> None:
    """Mutate base's nodes/edges by a child's graph_ops (remove, add, replace, set, disconnect, connect)."""
    nodes, edges = base["nodes"], base["edges"]
    known = {"remove", "add", "replace", "set", "disconnect", "connect"}
    if set(ops) - known:
        raise E.LoadError(f"{where}: unknown graph_ops key {sorted(set(ops) - known)[0]!r} (known: {', '.join(sorted(known))})")

    def norm(e):
        s, sp, d, dp = parse_edge(e, where)
        return s, sp, d, dp

    def matches(e, target):
        s, sp, d, dp = norm(e)
        ts, tsp, td, tdp = target
        return s == ts and d == td and (tsp is None or sp in (None, tsp)) and (tdp is None or dp in (None, tdp))

    for nid in ops.get("remove", []) or []:
        if nid not in nodes:
            raise E.LoadError(f"{where}: cannot remove {nid!r}: the base has no such node")
        del nodes[nid]
        edges[:] = [e for e in edges if nid not in (norm(e)[0], norm(e)[2])]
    for e in ops.get("disconnect", []) or []:
        t = norm(e)
        before = len(edges)
        edges[:] = [x for x in edges if not matches(x, t)]
        if len(edges) == before:
            raise E.LoadError(f"{where}: cannot disconnect {e!r}: no such edge in the base")
    for nid, spec in (ops.get("replace") or {}).items():
        if nid not in nodes:
            raise E.LoadError(f"{where}: cannot replace {nid!r}: the base has no such node")
        new = {"kind": spec.get("kind", nodes[nid]["kind"]), "region": spec.get("region", nodes[nid].get("region", "layer"))}
        if spec.get("config"):
            new["config"] = dict(spec["config"])
        nodes[nid] = new
    for nid, cfg in (ops.get("set") or {}).items():
        if nid not in nodes:
            raise E.LoadError(f"{where}: cannot set config of {nid!r}: the base has no such node")
        merged = dict(nodes[nid].get("config") or {})
        for k, v in (cfg or {}).items():
            if v is None:
                merged.pop(k, None)
            else:
                merged[k] = v
        nodes[nid]["config"] = merged
    for nid, spec in (ops.get("add") or {}).items():
        if nid in nodes:
            raise E.LoadError(f"{where}: cannot add {nid!r}: the base already has it (use replace)")
        nodes[nid] = dict(spec)
    edges.extend(ops.get("connect", []) or [])


def apply_extends(data: dict, where: str, _chain: tuple = ()) -> dict:
    """The one ``extends`` resolver (presets and architecture files alike): the base preset's
    resolved data, with the child's scales merged dim by dim (a null dim removes it), regions
    merged, overrides replaced, ``graph_ops`` applied, and id/meta/training/schema_version
    taken from the child. ``_chain`` holds the ids already being resolved (loop detection)."""
    base_id = str(data["extends"])
    if base_id in _chain:
        raise E.LoadError(f"{where}: 'extends' loops back to {base_id}")
    base = copy.deepcopy(resolved_data(base_id, _chain))
    out = {k: base[k] for k in INHERITED if k in base}
    out["edges"] = list(out.get("edges", []))
    for scale, dims in (data.get("scales") or {}).items():
        merged = dict(out.get("scales", {}).get(scale, {}))
        for k, v in (dims or {}).items():
            if v is None:
                merged.pop(k, None)
            else:
                merged[k] = v
        out.setdefault("scales", {})[scale] = merged
    if "regions" in data:  # a null region removes it, as a null dim does
        merged = {**out.get("regions", {}), **(data["regions"] or {})}
        out["regions"] = {k: v for k, v in merged.items() if v is not None}
    if "overrides" in data:
        out["overrides"] = data["overrides"] or []
    apply_graph_ops(out, data.get("graph_ops") or {}, where)
    for k in ("id", "meta", "training", "schema_version", "extends"):
        if k in data:
            out[k] = data[k]
    return out


@functools.lru_cache(maxsize=None)
def resolved_data(preset_id: str, _chain: tuple = ()) -> dict:
    data = copy.deepcopy(raw_preset(preset_id))
    where = f"presets/{preset_id}.yaml"
    if data.get("extends"):
        return apply_extends(data, where, _chain + (preset_id,))
    if data.get("graph_ops"):
        raise E.LoadError(f"{where}: graph_ops needs 'extends'")
    return data


def load_preset(preset_id: str):
    data = copy.deepcopy(resolved_data(preset_id))
    data.pop("extends", None)
    arch = architecture_from_data(data, f"presets/{preset_id}.yaml")
    arch.meta.setdefault("id", preset_id)
    arch.meta["extends"] = raw_preset(preset_id).get("extends")
    arch.source = preset_id
    return arch


def preset_infos() -> list[PresetInfo]:
    """Every timeline entry; a preset file that cannot be read is listed by its id with
    ``problem`` saying why (the dialogs that list them still open; choosing it says the line)."""
    out = []
    t = timeline()
    for group, ids in (("milestone", t["milestones"]), ("recipe", t["recipes"])):
        for pid in ids:
            try:
                m = raw_preset(pid).get("meta") or {}
            except E.StudioError as exc:
                out.append(PresetInfo(pid, "", pid, group, problem=str(exc)))
                continue
            out.append(PresetInfo(pid, str(m.get("date", "")), str(m.get("title", pid)), group,
                                  str(m.get("org", "")), str(m.get("short", ""))))
    return out
