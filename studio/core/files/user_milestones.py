"""Your own milestones: files in the user data folder that join the timeline in date order.

A milestone is a YAML file of the presets' schema (``meta`` with at least a title and a date;
``extends`` a preset to state only what changes), or a card (studio.core.files.milestone_card)
with the Hugging Face config.json it describes, stored as one YAML file::

    schema_version: 1
    id: 2025-04-qwen3-4b
    meta: {title: …, date: …, org: …, short: <the innovation>, link: <the source>}
    config_file: /where/it/came/from/config.json
    hf_config: {…the config.json's keys…}

The folder is ``$ARCHSTUDIO_MILESTONES_DIR``, else ``milestones`` in ``$ARCHSTUDIO_DATA_DIR`` or
the platform's user data folder. A file that cannot be read, names a lineage the timeline does
not have or takes a published milestone's id is set aside in ``rejected/`` with one line saying
why, and the timeline loads without it. Each milestone builds on ``meta.builds_on`` when it says,
else the preset it ``extends`` (or, for a config.json, its family's milestone), else the nearest
earlier milestone on the timeline.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from studio.core import errors as E
from studio.core.files.milestone_card import MILESTONE_ID, Card, date_key, date_problem, date_text

ENV = "ARCHSTUDIO_MILESTONES_DIR"
REJECTED = "rejected"
SUFFIXES = (".yaml", ".yml")
CARD_KEYS = {"schema_version", "id", "meta", "hf_config", "config_file"}
NEAREST = "the nearest earlier milestone (the file names none)"


def folder() -> Path:
    env = os.environ.get(ENV)
    if env:
        return Path(env)
    data = os.environ.get("ARCHSTUDIO_DATA_DIR")
    if data:
        return Path(data) / "milestones"
    import platformdirs
    return Path(platformdirs.user_data_dir("archstudio", appauthor=False)) / "milestones"


@dataclass(frozen=True)
class UserMilestone:
    id: str
    path: Path
    arch: object = field(compare=False, repr=False)  # the Architecture, meta["user_milestone"] = path

    @property
    def date(self) -> str:
        return str(self.arch.meta.get("date", ""))


@dataclass(frozen=True)
class SetAside:
    """A file the timeline loads without: ``reason`` is one line; ``moved_to`` None when it stayed."""
    name: str
    reason: str
    moved_to: Path | None = None

    def line(self) -> str:
        where = f" (moved to {REJECTED}/)" if self.moved_to is not None else ""
        return f"{self.name}: {self.reason}{where}"


# ---------------------------------------------------------------------- one file
def architecture_of(data: dict, where: str, default_id: str):
    """The Architecture a milestone file's mapping describes, checked: a card with its
    config.json, or an architecture (``extends`` resolved). One LoadError naming the field."""
    meta = data.get("meta")
    if isinstance(meta, dict) and meta.get("date") is not None:  # YAML reads 2024-05-07 unquoted as a date
        data = {**data, "meta": {**meta, "date": date_text(meta["date"])}}
    if "hf_config" in data:
        arch = _card_architecture(data, where)
    else:
        arch = _yaml_architecture(data, where)
    mid = str(data.get("id") or default_id)
    if not MILESTONE_ID.match(mid):
        raise E.LoadError(f"{where}: id {mid!r} must be letters, digits, '.', '_' or '-'")
    meta = arch.meta
    meta["date"] = date_text(meta.get("date"))
    if not str(meta.get("title") or "").strip():
        raise E.LoadError(f"{where}: meta.title is needed (the name on the timeline)")
    problem = date_problem(meta["date"])
    if problem:
        raise E.LoadError(f"{where}: meta.date is needed (YYYY-MM or YYYY-MM-DD: where it goes on the timeline)"
                          if not meta["date"] else f"{where}: meta.{problem}")
    arch.id = mid
    meta["id"] = mid
    arch.source = mid
    _check_resolves(arch, where)
    return arch


def _yaml_architecture(data: dict, where: str):
    from studio.core.files.file_schemas import check_architecture
    from studio.core.files.presets import apply_extends
    from studio.core.files.yamlio import architecture_from_data
    if data.get("kind") == "project" or "architecture" in data:
        raise E.LoadError(f"{where}: a project file, not a milestone; save its architecture as YAML (File → Save as)")
    extends = data.get("extends")
    if extends:
        data = check_architecture(data, where, partial=True)
        resolved = apply_extends(data, where)
        resolved.pop("extends", None)
        arch = architecture_from_data(resolved, where)
        arch.meta["extends"] = str(extends)
        arch.meta.setdefault("builds_on", str(extends))
        return arch
    return architecture_from_data(data, where)


def _card_architecture(data: dict, where: str):
    from studio.core.formats.hf_config.build import architecture_from_settings
    from studio.core.formats.hf_config.families import read_settings
    unknown = sorted(set(data) - CARD_KEYS)
    if unknown:
        raise E.LoadError(f"{where}: unknown key {unknown[0]!r} beside hf_config (known: {', '.join(sorted(CARD_KEYS))})")
    cfg, meta = data.get("hf_config"), data.get("meta")
    if not isinstance(cfg, dict):
        raise E.LoadError(f"{where}: hf_config must be the config.json's mapping of keys")
    if not isinstance(meta, dict):
        raise E.LoadError(f"{where}: meta must be the card (title, date, org, short, link)")
    card = Card(str(meta.get("title") or ""), date_text(meta.get("date")), str(meta.get("org") or ""),
                str(meta.get("short") or ""), str(meta.get("link") or ""))
    card.check(where)
    source = Path(str(data.get("config_file") or where))
    arch = architecture_from_settings(read_settings(cfg, where), source, cfg)
    arch.meta.update({k: v for k, v in meta.items() if v is not None})
    return arch


def _check_resolves(arch, where: str) -> None:
    """Every scale resolves and is counted, so the timeline never shows a milestone that breaks
    when chosen."""
    from studio.core.model.accounting import account
    for scale in arch.scales:
        try:
            account(arch, scale)
        except E.StudioError as exc:
            raise E.LoadError(f"{where}: at {scale} scale: {str(exc).splitlines()[0]}") from None
        except (KeyError, TypeError, ValueError, ZeroDivisionError) as exc:
            raise E.LoadError(f"{where}: at {scale} scale the graph cannot be counted ({exc})") from None


def lineage_ids(meta: dict) -> list[str]:
    """The ids ``meta.builds_on`` names (its shape was checked with the file: text or a list of text)."""
    raw = meta.get("builds_on")
    return [raw.strip()] if isinstance(raw, str) else [str(i).strip() for i in raw] if isinstance(raw, list) else []


def read_milestone(path: Path):
    """(id, Architecture) of one milestone file in the folder, or one LoadError."""
    from studio.core.files.yamlio import read_yaml
    p = Path(path)
    if p.name == "config.json" or p.suffix.lower() == ".json":
        raise E.LoadError("a config.json needs a card (title, date, org, innovation, source): add it with "
                          "File → Add to timeline… or 'archstudio timeline add FILE --title …'")
    if p.suffix.lower() not in SUFFIXES:
        raise E.LoadError("not a milestone YAML (.yaml)")
    arch = architecture_of(read_yaml(p), p.name, p.stem)
    arch.meta["user_milestone"] = str(p)
    return arch.id, arch


# ---------------------------------------------------------------------- the folder
def scan(known: set[str], where: Path | None = None, set_aside: bool = True):
    """([UserMilestone], [SetAside]) of the folder. ``known``: the published ids (an id taken
    or a lineage outside the timeline sets a file aside). With ``set_aside`` the bad files are
    moved to ``rejected/``; without it (the CLI reading one milestone) they are only listed."""
    d = Path(where) if where is not None else folder()
    try:
        files = sorted(p for p in d.iterdir() if not p.name.startswith(".") and p.is_file()) if d.is_dir() else []
    except OSError as exc:
        return [], [SetAside(str(d), f"cannot read the folder ({exc.strerror or exc})")]
    users, bad = {}, []
    for p in files:
        try:
            mid, arch = read_milestone(p)
        except Exception as exc:  # noqa: BLE001  any damage: one line, set aside, the timeline loads without it
            bad.append((p, _reason(exc, p)))
            continue
        if mid in known:
            bad.append((p, f"id {mid!r} is a published milestone's; give yours another id"))
        elif mid in users:
            bad.append((p, f"id {mid!r} is already taken by {users[mid].path.name}"))
        else:
            users[mid] = UserMilestone(mid, p, arch)
    changed = True
    while changed:  # a lineage outside the timeline (or through a file set aside) sets the file aside
        changed = False
        for mid, u in list(users.items()):
            missing = [i for i in lineage_ids(u.arch.meta) if i not in known and i not in users]
            if missing:
                bad.append((u.path, f"meta.builds_on names {missing[0]!r}, which is not on the timeline"))
                del users[mid]
                changed = True
    return list(users.values()), [_set_aside(p, why, d if set_aside else None) for p, why in bad]


def _reason(exc: BaseException, p: Path) -> str:
    """The error's one line without the file's own name (the set-aside line starts with it)."""
    text = (str(exc).splitlines() or [type(exc).__name__])[0]
    if not isinstance(exc, (E.StudioError, OSError)):
        text = f"cannot be read ({type(exc).__name__}: {text})"
    for name in (str(p), p.name):
        if text.startswith(f"{name}: "):
            return text[len(name) + 2:]
    return text


def _set_aside(p: Path, reason: str, d: Path | None) -> SetAside:
    if d is None:
        return SetAside(p.name, reason)
    target = d / REJECTED / p.name
    n = 1
    while target.exists():
        target = d / REJECTED / f"{p.stem}.{n}{p.suffix}"
        n += 1
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(p, target)
    except OSError:
        return SetAside(p.name, reason)  # a read-only folder: skipped, not moved
    return SetAside(p.name, reason, target)


def _not_later(a: str, b: str) -> bool:
    """Date ``a`` is not after ``b`` (a month alone does not order against a day in it)."""
    if date_problem(a) or date_problem(b):
        return True
    (ya, ma, da), (yb, mb, db) = date_key(a), date_key(b)
    return (ya, ma) < (yb, mb) or ((ya, ma) == (yb, mb) and (da is None or db is None or da <= db))


def place(published: list[tuple[str, str]], users: list[UserMilestone]) -> list[str]:
    """The milestone ids in date order: the published ones as listed, each user milestone after
    the last entry not later than it (after the published ones of its month). A user milestone
    that names no lineage builds on the entry before it (``meta.builds_on`` is set)."""
    order = list(published)
    for u in sorted(users, key=lambda u: (date_key(u.date)[:2], date_key(u.date)[2] or 0, u.id)):
        at = max((k + 1 for k, (_i, d) in enumerate(order) if _not_later(d, u.date)), default=0)
        order.insert(at, (u.id, u.date))
        if not u.arch.meta.get("builds_on") and at > 0:
            u.arch.meta["builds_on"] = order[at - 1][0]
            u.arch.meta["builds_on_rule"] = NEAREST
    return [i for i, _d in order]


# ---------------------------------------------------------------------- adding and removing
def add(source, card: Card | None = None, known: set[str] = frozenset(), where: Path | None = None) -> UserMilestone:
    """Check a milestone YAML (or a config.json with its card) and write it into the folder
    (temp + rename). ``known``: every id on the timeline now. One LoadError when it cannot be
    added; nothing is written then."""
    from studio.core.formats.hf_config.build import find_config
    from studio.core.files.yamlio import atomic_write_text
    src = Path(source)
    if not src.is_file():
        raise E.LoadError(f"{src}: no such file")
    if find_config(src) is not None:
        text, data = _card_text(src, card)
    else:
        if card is not None:
            raise E.LoadError(f"{src.name}: the card (title, date, org, innovation, source) is for a config.json; "
                              "a milestone YAML states them in its meta")
        from studio.core.files.schema import MAX_YAML_BYTES, read_text
        from studio.core.files.yamlio import parse_yaml_text
        text = read_text(src, MAX_YAML_BYTES, "YAML file")
        data = parse_yaml_text(text, src.name)
    try:
        arch = architecture_of(data, src.name, src.stem)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, RecursionError) as exc:  # one line, not a trace
        raise E.LoadError(f"{src.name}: cannot be read ({type(exc).__name__}: {str(exc)[:200]})") from None
    if arch.id in known:
        raise E.LoadError(f"{src.name}: id {arch.id!r} is already on the timeline; give yours another id")
    missing = [i for i in lineage_ids(arch.meta) if i not in known]
    if missing:
        raise E.LoadError(f"{src.name}: meta.builds_on names {missing[0]!r}, which is not on the timeline")
    d = Path(where) if where is not None else folder()
    target = d / f"{arch.id}.yaml"
    if target.exists():
        raise E.LoadError(f"{target}: a file of that name is already in the folder; remove it first")
    try:
        atomic_write_text(target, text)
    except OSError as exc:  # a read-only or full disk: one line, and the temp file is gone
        raise E.LoadError(f"{d}: cannot write your milestone there ({exc.strerror or exc})") from None
    arch.meta["user_milestone"] = str(target)
    return UserMilestone(arch.id, target, arch)


def _card_text(src: Path, card: Card | None) -> tuple[str, dict]:
    import json

    import yaml

    from studio.core.formats.hf_config.build import load_hf_config
    if card is None:
        raise E.LoadError(f"{src}: a config.json needs a card: --title, --date, --org, --innovation and --source")
    card.check(src.name)
    try:
        load_hf_config(src)  # the file's own one-line refusals first (size, JSON, family)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, RecursionError) as exc:
        raise E.LoadError(f"{src}: cannot be read ({type(exc).__name__}: {str(exc)[:200]})") from None
    data = {"schema_version": 1, "id": card.milestone_id(), "meta": card.meta(), "config_file": str(src.resolve()),
            "hf_config": json.loads(src.read_bytes().decode("utf-8"))}
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100), data


def remove(mid: str, published: set[str] = frozenset(), where: Path | None = None) -> Path:
    """Delete the file of the user's milestone ``mid``; returns its path."""
    if mid in published:
        raise E.LoadError(f"{mid!r} is a published milestone; only milestones you added can be removed")
    users, _bad = scan(set(published), where, set_aside=False)
    hit = next((u for u in users if u.id == mid), None)
    if hit is None:
        raise E.LoadError(f"{mid!r} is not one of your milestones ('archstudio timeline list' shows them)")
    try:
        hit.path.unlink()
    except OSError as exc:
        raise E.LoadError(f"{hit.path}: cannot remove it ({exc.strerror or exc})") from None
    return hit.path


# ---------------------------------------------------------------------- reading outside the app
def timeline_now(set_aside: bool = False) -> tuple[list[str], list[UserMilestone], list[SetAside]]:
    """(milestone ids in date order, the user's milestones, files set aside), from the presets
    and the folder: what the app's timeline shows, for the CLI."""
    from studio.core.files.presets import preset_infos, preset_ids
    published = [(i.id, i.date) for i in preset_infos() if i.group == "milestone" and not i.problem]
    users, bad = scan(set(preset_ids()), set_aside=set_aside)
    return place(published, users), users, bad


def find(mid: str):
    """The user's milestone ``mid`` (its lineage placed as on the timeline), or None."""
    if not MILESTONE_ID.match(mid or ""):
        return None
    d = folder()
    if not d.is_dir() or not any(p.suffix.lower() in SUFFIXES for p in d.iterdir()):
        return None
    _order, users, _bad = timeline_now()
    return next((u.arch for u in users if u.id == mid), None)


def load_timeline_model(mid: str):
    """A milestone on the timeline by id: a preset, else one of the user's."""
    from studio.core.files.presets import is_preset, load_preset
    if is_preset(mid):
        return load_preset(mid)
    arch = find(mid)
    if arch is None:
        raise E.LoadError(f"unknown milestone {mid!r}; run 'archstudio timeline list' to list them")
    return arch
