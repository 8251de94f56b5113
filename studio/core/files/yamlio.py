"""Architecture YAML: parse (safe_load → plain data) → resolve (registry) → Architecture; and dump.

Format (schema_version 1)::

    schema_version: 1
    id: my-model
    meta: {title: ..., date: "2023-07", ...}
    scales: {paper: {dim: 4096, ...}, classroom: {dim: 64, ...}}
    regions: {layer: n_layers}          # repeated regions and the dim that counts them
    nodes:
      tok_embeddings: {kind: token_embedding, region: stem, config: {...}}
    edges: ["tokens -> tok_embeddings", "rope.rope -> attention.rope", ...]
    overrides: [{layers: ":$first_k_dense", node: feed_forward, kind: swiglu, config: {...}}]
"""
from __future__ import annotations

import os
from pathlib import Path

import yaml

from studio.core import errors as E
from studio.core.model.architecture import Architecture, Override
from studio.core.model.graph import ArchGraph, Node
from studio.core.files.schema import MAX_YAML_BYTES, load_yaml, read_text, short

SCHEMA_VERSION = 1
TOP_KEYS = {"schema_version", "id", "extends", "meta", "scales", "regions", "nodes", "edges", "overrides",
            "training", "graph_ops", "kind"}


def read_yaml(path: str | os.PathLike) -> dict:
    p = Path(path)
    return parse_yaml_text(read_text(p, MAX_YAML_BYTES, "YAML file"), short_path(p))


def short_path(p) -> str:
    s = str(p)
    return s if len(s) <= 200 else "…" + s[-199:]


def parse_yaml_text(text: str, where: str) -> dict:
    """safe_load with bounded size and depth (studio.core.files.schema); the top level must be a mapping."""
    data = load_yaml(text, where)
    if not isinstance(data, dict):
        raise E.LoadError(f"{where}: expected a mapping of keys at the top level, got {type(data).__name__}")
    bad = next((k for k in data if not isinstance(k, str)), _NO_KEY)
    if bad is not _NO_KEY:
        raise E.LoadError(f"{where}: top-level key {short(bad)} must be text (a name)")
    return data


_NO_KEY = object()


def check_schema(data: dict, where: str) -> None:
    v = data.get("schema_version", SCHEMA_VERSION)
    if not isinstance(v, int) or v > SCHEMA_VERSION or v < 1:
        raise E.LoadError(f"{where}: schema_version {short(v)} is not supported (this version reads 1); update the app")


def parse_edge(item, where: str) -> tuple[str, str, str, str | None]:
    """ "a -> b", "a.port -> b.port" or {from: a.port, to: b.port}; missing ports default later."""
    if isinstance(item, dict):
        s, d = item.get("from"), item.get("to")
    elif isinstance(item, str) and "->" in item:
        s, _, d = item.partition("->")
    else:
        raise E.LoadError(f"{where}: edge {item!r} must look like 'src -> dst' or 'src.port -> dst.port'")
    if not s or not d:
        raise E.LoadError(f"{where}: edge {item!r} needs both ends")
    src, _, sp = str(s).strip().partition(".")
    dst, _, dp = str(d).strip().partition(".")
    return src, sp or None, dst, dp or None


def build_graph(nodes: dict, edges: list, where: str) -> ArchGraph:
    g = ArchGraph()
    if not isinstance(nodes, dict):
        raise E.LoadError(f"{where}: 'nodes' must be a mapping of id -> {{kind, region, config}}")
    for nid, spec in nodes.items():
        if not isinstance(spec, dict) or "kind" not in spec:
            raise E.LoadError(f"{where}: node {nid!r} needs at least a 'kind'")
        extra = set(spec) - {"kind", "region", "config", "pos"}
        if extra:
            raise E.LoadError(f"{where}: node {nid!r} has unknown key {sorted(extra)[0]!r} (allowed: kind, region, config, pos)")
        cfg = spec.get("config") or {}
        if not isinstance(cfg, dict):
            raise E.LoadError(f"{where}: node {nid!r}: config must be a mapping")
        pos = spec.get("pos")
        try:
            g.add_node(Node(str(nid), str(spec["kind"]), str(spec.get("region", "layer")), dict(cfg),
                            tuple(pos) if pos else None))
        except E.GraphEditError as exc:
            raise E.LoadError(f"{where}: {exc}") from None
    for item in edges or []:
        src, sp, dst, dp = parse_edge(item, where)
        try:
            a, b = g.node(src), g.node(dst)
            sp = sp or (a.spec.outputs[0].name if a.spec.outputs else "?")
            dp = dp or (b.spec.inputs[0].name if b.spec.inputs else "?")
            g.connect(src, sp, dst, dp)
        except E.GraphEditError as exc:
            raise E.LoadError(f"{where}: edge {item!r}: {exc}") from None
    return g


def parse_overrides(items, where: str) -> list[Override]:
    out = []
    for it in items or []:
        if not isinstance(it, dict) or "node" not in it or "layers" not in it:
            raise E.LoadError(f"{where}: each override needs 'layers' and 'node'")
        out.append(Override(it["layers"], it["node"], it.get("kind"), dict(it.get("config") or {})))
    return out


def architecture_from_data(data: dict, where: str) -> Architecture:
    """Build an Architecture from a fully resolved mapping (no ``extends``)."""
    check_schema(data, where)
    from studio.core.files.file_schemas import check_architecture
    unknown = set(data) - TOP_KEYS
    if not unknown:
        data = check_architecture(data, where)
    if unknown:
        raise E.LoadError(f"{where}: unknown top-level key {short(sorted(map(str, unknown))[0])} (known: {', '.join(sorted(TOP_KEYS))})")
    for key in ("nodes", "scales"):
        if key not in data:
            raise E.LoadError(f"{where}: missing '{key}'")
    scales = data["scales"]
    if not isinstance(scales, dict) or not all(isinstance(v, dict) for v in scales.values()):
        raise E.LoadError(f"{where}: 'scales' must map a scale name to its dims")
    arch = Architecture(
        id=str(data.get("id") or Path(where).stem),
        graph=build_graph(data["nodes"], data.get("edges", []), where),
        scales={k: dict(v) for k, v in scales.items()},
        regions={k: v for k, v in (data.get("regions") or {"layer": "n_layers"}).items() if v is not None},
        overrides=parse_overrides(data.get("overrides"), where),
        meta=dict(data.get("meta") or {}),
        training=dict(data.get("training") or {}),
        source=where,
    )
    for ov in arch.overrides:
        if ov.node not in arch.graph.nodes:
            raise E.LoadError(f"{where}: override refers to unknown node {ov.node!r}")
    return arch


def architecture_to_data(arch: Architecture) -> dict:
    nodes = {}
    for n in arch.graph.nodes.values():
        d = {"kind": n.kind, "region": n.region}
        if n.config:
            d["config"] = dict(n.config)
        if n.pos is not None:
            d["pos"] = [round(n.pos[0], 1), round(n.pos[1], 1)]
        nodes[n.id] = d
    data = {
        "schema_version": SCHEMA_VERSION,
        "id": arch.id,
        "meta": arch.meta,
        "scales": arch.scales,
        "regions": arch.regions,
        "nodes": nodes,
        "edges": [f"{e.src}.{e.src_port} -> {e.dst}.{e.dst_port}" for e in arch.graph.edges],
    }
    if arch.overrides:
        data["overrides"] = [{k: v for k, v in (("layers", o.layers), ("node", o.node), ("kind", o.kind),
                                                ("config", o.config)) if v not in (None, {})} for o in arch.overrides]
    if arch.training:
        data["training"] = arch.training
    return data


def dump_architecture(arch: Architecture) -> str:
    return yaml.safe_dump(architecture_to_data(arch), sort_keys=False, allow_unicode=True, width=100)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write to a temp file in the same folder, fsync, then rename into place."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_files(files: dict) -> None:
    """Write several files as one commit: every temp file is written and synced first, then all
    are renamed; if a rename fails, the files already replaced get their old content back (or are
    removed if they are new), so the folder holds all new files or all old ones."""
    import tempfile
    staged, replaced, backups = [], [], {}
    try:
        for path, data in files.items():
            p = Path(path)
            p.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
            staged.append((tmp, p))
            os.fchmod(fd, 0o666 & ~_umask()) if hasattr(os, "fchmod") else None
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
        for tmp, p in staged:
            if p.is_file():
                bak = Path(tempfile.mkstemp(prefix=f".{p.name}.", suffix=".bak", dir=p.parent)[1])
                os.replace(p, bak)  # the old file, kept until every rename has succeeded
                backups[p] = bak
            os.replace(tmp, p)
            replaced.append(p)
    except BaseException:
        for p in replaced:
            try:
                os.replace(backups[p], p) if p in backups else os.unlink(p)
            except OSError:
                pass
        for p, bak in backups.items():
            if p not in replaced:
                try:
                    os.replace(bak, p)
                except OSError:
                    pass
        for tmp, _ in staged:
            try:
                os.unlink(tmp)
            except OSError:
                pass
        raise
    for bak in backups.values():
        try:
            os.unlink(bak)
        except OSError:
            pass


def _umask() -> int:
    """The process umask (read by setting it and back: there is no getter before Python 3.13's os API)."""
    m = os.umask(0o022)
    os.umask(m)
    return m


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    import tempfile
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask()) if hasattr(os, "fchmod") else None  # mkstemp makes 0600
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, p)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
