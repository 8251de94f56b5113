"""What a lesson prepare works on: the request checked, and the index's entries with the asked
models added (studio.core.classroom.lesson.prepare; a damaged entry is named, never replaced)."""
from __future__ import annotations

from studio.core import errors as E


def check_request(lesson, ids: list, cfg) -> None:
    """One line for what cannot be prepared at all: an unknown preset id, no time, a file or a
    non-lesson folder as --out."""
    from studio.core.files.presets import is_preset
    for pid in ids:
        if not is_preset(pid):
            raise E.StudioError(f"{pid!r} is not a preset id; run 'archstudio presets' for the milestones")
    if cfg.steps is None and not cfg.minutes_per_model > 0:
        raise E.StudioError("--minutes-per-model must be positive")
    if lesson.path.exists() and not lesson.path.is_dir():
        raise E.StudioError(f"{lesson.path}: is a file; --out needs a folder for the lesson")
    if lesson.path.is_dir() and any(lesson.path.iterdir()) and not lesson.exists():
        raise E.StudioError(f"{lesson.path}: not empty and not a lesson folder; choose a new folder")


def _id_of(entry) -> str | None:
    v = entry.get("id") if isinstance(entry, dict) else None
    return v if isinstance(v, str) else None


def entries_to_prepare(lesson, index: dict, ids: list, pretrained: tuple):
    """(every entry of the index in order, the good ones, (line, asked) per damaged one, id ->
    good entry) with an entry added for each asked model the index does not list yet. A rerun
    never drops an entry; a damaged entry is named, not replaced (``asked``: for a model asked for)."""
    from studio.core.runs import tinyllamas as tl
    items, good, lines = lesson.sorted_entries(index) if lesson.exists() else ([], [], [])
    raw_bad = [m for m in items if all(m is not g for g in good)]
    named = {_id_of(m) for m in raw_bad} - {None}
    asked = set(ids) | {f"pretrained-{name}" for name in pretrained}
    bad = [(line, _id_of(m) in asked) for m, line in zip(raw_bad, lines)]
    known = {e["id"]: e for e in good}
    wanted = [(pid, {"id": pid, "run": pid, "status": "pending"}) for pid in ids]
    for name in pretrained:
        wanted.append((f"pretrained-{name}", {"id": f"pretrained-{name}", "run": f"pretrained-{name}",
                                              "status": "pending", "serves": list(tl.model(name).presets),
                                              "pretrained": name}))
    for key, entry in wanted:
        if key not in known and key not in named:
            known[key] = entry
            items.append(entry)
    return items, good, bad, known
