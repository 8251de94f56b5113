"""Project files: a custom architecture with where it came from, how to train it and its last run.

Format (YAML, ``schema_version`` 1, ``kind: project``)::

    schema_version: 1
    kind: project
    name: My LLaMA with MoE
    origin: 2023-07-llama-2        # milestone it was branched from (null: built from scratch)
    architecture: {...}            # the architecture YAML mapping (studio.core.files.yamlio)
    training: {steps: 200, ...}    # settings of the training panel
    latest_run: /path/to/run       # or null

Saves are atomic (temp file + rename), so a crash never leaves a half-written project. The
GUI autosaves a recovery copy after edits; ``recoveries()`` lists copies a crashed session
left behind so the next start can offer them.
"""
from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from studio.core import errors as E
from studio.core.model.architecture import Architecture
from studio.core.files.schema import short
from studio.core.files.yamlio import (architecture_from_data, architecture_to_data, atomic_write_text,
                                parse_yaml_text, read_yaml)

SCHEMA_VERSION = 1
TOP_KEYS = {"schema_version", "kind", "name", "origin", "architecture", "training", "latest_run",
            "recovery_of", "saved_at"}


@dataclass
class Project:
    architecture: Architecture
    origin: str | None = None
    name: str = ""
    training: dict = field(default_factory=dict)
    latest_run: str | None = None
    path: Path | None = None

    def to_data(self) -> dict:
        return {
            "schema_version": SCHEMA_VERSION,
            "kind": "project",
            "name": self.name or self.architecture.meta.get("title", self.architecture.id),
            "origin": self.origin,
            "architecture": architecture_to_data(self.architecture),
            "training": dict(self.training),
            "latest_run": self.latest_run,
        }

    def dumps(self, **extra) -> str:
        data = self.to_data()
        data.update(extra)
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def placed(arch: Architecture, positions: dict[str, tuple[float, float]]) -> Architecture:
    """A copy of ``arch`` with every block's position written in (``positions``: where each
    block stands on screen; a block's own saved position wins). Saved that way, a project or
    an autosave reopens with each block where it stood: the automatic layout depends on what was
    shown before, so a block placed by hand beside it would land elsewhere."""
    out = arch.copy()
    for nid, node in out.graph.nodes.items():
        if node.pos is None and nid in positions:
            x, y = positions[nid]
            node.pos = (round(float(x), 1), round(float(y), 1))
    return out


def project_from_data(data: dict, where: str) -> Project:
    v = data.get("schema_version")
    if not isinstance(v, int) or v < 1:
        raise E.LoadError(f"{where}: missing or invalid schema_version (expected 1)")
    if v > SCHEMA_VERSION:
        raise E.LoadError(f"{where}: written by a newer version of the app (schema_version {v}; this one reads "
                          f"{SCHEMA_VERSION}); update the app to open it")
    if data.get("kind") != "project":
        raise E.LoadError(f"{where}: not a project file (kind: {data.get('kind')!r}, expected 'project')")
    unknown = set(data) - TOP_KEYS
    if unknown:
        raise E.LoadError(f"{where}: unknown key {short(sorted(map(str, unknown))[0])} (known: {', '.join(sorted(TOP_KEYS))})")
    from studio.core.files.file_schemas import PROJECT, check
    data = check(data, PROJECT, where)
    arch_data = data.get("architecture")
    if not isinstance(arch_data, dict):
        raise E.LoadError(f"{where}: 'architecture' must be a mapping (the model's nodes, edges and scales)")
    training = data.get("training") or {}
    if not isinstance(training, dict):
        raise E.LoadError(f"{where}: 'training' must be a mapping of settings")
    arch = architecture_from_data(dict(arch_data), f"{where} (architecture)")
    origin = data.get("origin")
    run = data.get("latest_run")
    return Project(arch, str(origin) if origin else None, str(data.get("name") or ""), dict(training),
                   str(run) if run else None)


def load_project(path) -> Project:
    p = Path(path)
    proj = project_from_data(read_yaml(p), str(p))
    proj.path = p
    return proj


def loads_project(text: str, where: str = "project") -> Project:
    return project_from_data(parse_yaml_text(text, where), where)


def save_project(project: Project, path) -> Path:
    p = Path(path)
    text = project.dumps()
    project_from_data(yaml.safe_load(text), str(p))  # never write what we could not read back
    atomic_write_text(p, text)
    project.path = p
    return p


# ---------------------------------------------------------------------- recovery
def recovery_dir() -> Path:
    from platformdirs import user_data_dir
    return Path(user_data_dir("archstudio", "archstudio")) / "recovery"


def recovery_path(project_path: Path | None, folder: Path | None = None, session: str = "") -> Path:
    """One recovery file per document: keyed by its path, or by the session for an unsaved one."""
    key = str(Path(project_path).resolve()) if project_path else f"untitled-{session}"
    name = hashlib.sha1(key.encode()).hexdigest()[:16]
    return (folder or recovery_dir()) / f"{name}.recovery.yaml"


def write_recovery(project: Project, target: Path) -> Path:
    text = project.dumps(recovery_of=str(project.path) if project.path else None, saved_at=round(time.time(), 1))
    atomic_write_text(target, text)
    return target


@dataclass(frozen=True)
class Recovery:
    path: Path
    recovery_of: str | None
    saved_at: float
    name: str


def recoveries(folder: Path | None = None, set_aside: list | None = None) -> list[Recovery]:
    """Recovery files left behind (newest first). A file that cannot be opened as a project is
    moved aside (``*.recovery.yaml.corrupt`` + a ``.txt`` note saying why) so that it is not
    offered, and failing, at every start; each (path moved to, reason) is appended to set_aside."""
    d = Path(folder or recovery_dir())
    out = []
    try:
        files = sorted(d.glob("*.recovery.yaml")) if d.is_dir() else []
    except OSError:
        return []
    for f in files:
        try:
            data = read_yaml(f)
            proj = project_from_data(data, str(f))  # the whole file, so a recovery offered is one that opens
            out.append(Recovery(f, data.get("recovery_of"), float(data.get("saved_at") or 0), proj.name))
        except Exception as exc:  # noqa: BLE001  any damage: set it aside, never fail the start-up
            moved = set_aside_recovery(f, exc)
            if set_aside is not None:
                set_aside.append((moved, str(exc)))
    return sorted(out, key=lambda r: -r.saved_at)


def set_aside_recovery(path: Path, reason) -> Path | None:
    """Rename a damaged recovery file to ``NAME.corrupt`` with a note beside it; None if it could not be moved."""
    p = Path(path)
    target = p.with_name(p.name + ".corrupt")
    try:
        os.replace(p, target)
    except OSError:
        return None
    try:
        atomic_write_text(target.with_name(target.name + ".txt"),
                          f"archstudio set this recovery file aside at {time.strftime('%Y-%m-%d %H:%M:%S')} "
                          f"because it could not be opened:\n{short_text(reason)}\n")
    except OSError:
        pass
    return target


def short_text(reason, limit: int = 2000) -> str:
    s = str(reason)
    return s if len(s) <= limit else s[:limit] + "…"


def load_recovery(rec: Recovery) -> Project:
    data = read_yaml(rec.path)
    proj = project_from_data(data, str(rec.path))
    proj.path = Path(rec.recovery_of) if rec.recovery_of else None
    return proj


def discard_recovery(path: Path) -> None:
    try:
        Path(path).unlink()
    except FileNotFoundError:
        pass
