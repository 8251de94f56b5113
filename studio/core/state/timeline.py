"""Timeline: the published milestones (and "Build your own" recipes), which one the slider is
on, and whether Play is on. Qt-free and evented; the Document follows it, never the reverse
(the StudioModel wires that). The timeline always lists the published presets: an edited copy
is a document of its own, never a replacement of its milestone.
"""
from __future__ import annotations

from dataclasses import dataclass

from psygnal import Signal

from studio.core.files import presets as P
from studio.core.files import user_milestones as U
from studio.core.model.architecture import Architecture
from studio.core.errors import StudioError


def _fast_meta(pid: str) -> dict:
    """A preset's meta for the strip, read with libyaml's safe loader when present (the slider
    must paint before all 28 presets are parsed; full loading happens lazily and is checked)."""
    import yaml
    text = P._preset_text(f"{pid}.yaml")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the safe loader, in C when available
    data = yaml.load(text, Loader=loader)  # noqa: S506  safe loader only
    if not isinstance(data, dict):
        raise ValueError("not a mapping")
    return data.get("meta") or {}


@dataclass(frozen=True)
class UserMilestoneInfo(P.PresetInfo):
    """A timeline entry the user added (studio.core.files.user_milestones): ``path`` is its file."""
    path: str = ""


def readable_infos():
    """The timeline's published entries, skipping (and naming) any preset file that cannot be
    read, so a broken or not-yet-written preset never keeps the app from starting."""
    infos, broken = [], {}
    t = P.timeline()
    for group, ids in (("milestone", t["milestones"]), ("recipe", t["recipes"])):
        for pid in ids:
            try:
                m = _fast_meta(pid)
            except Exception as exc:  # noqa: BLE001  reported in the status bar instead
                broken[pid] = str(exc).splitlines()[0]
                continue
            infos.append(P.PresetInfo(pid, str(m.get("date", "")), str(m.get("title", pid)), group,
                                      str(m.get("org", "")), str(m.get("short", "")), str(m.get("short_label", ""))))
    return infos, broken


def with_user_milestones(published: list, where=None):
    """The published entries with the user's milestones placed among the milestones in date
    order: (infos, {id: Architecture}, [SetAside]). Bad files are set aside, never raised."""
    users, set_aside = U.scan(set(P.preset_ids()), where)
    milestones = [i for i in published if i.group == "milestone"]
    order = U.place([(i.id, i.date) for i in milestones], users)
    by_id = {i.id: i for i in milestones}
    for u in users:
        m = u.arch.meta
        by_id[u.id] = UserMilestoneInfo(u.id, u.date, str(m.get("title", u.id)), "milestone", str(m.get("org", "")),
                                        str(m.get("short", "")), str(m.get("short_label", "")), path=str(u.path))
    recipes = [i for i in published if i.group != "milestone"]
    return [by_id[i] for i in order] + recipes, {u.id: u.arch for u in users}, set_aside


class Timeline:
    """``index`` is None while the document on screen is not a published milestone (an edited
    copy, a project, an imported run): no tick is highlighted then."""
    index_changed = Signal(object)  # int | None
    playing_changed = Signal(bool)
    load_failed = Signal(str, str)  # preset id, one-line reason (the slider stays where it was)
    entries_changed = Signal()  # a user's milestone was added or removed (ids and infos are new)

    def __init__(self):
        self._published, self.broken = readable_infos()
        self.index: int | None = None
        self.playing = False
        self._anchor = 0  # where ←/→ step from while no milestone is selected
        self._canon: dict[str, Architecture] = {}
        self.set_aside: list = []  # the user's milestone files the timeline loads without (SetAside)
        self._read_user_milestones()

    def _read_user_milestones(self) -> None:
        for pid in getattr(self, "_user", {}):
            self._canon.pop(pid, None)
        self.infos, self._user, set_aside = with_user_milestones(self._published)
        self.set_aside += set_aside
        self._canon.update(self._user)
        self.ids = [i.id for i in self.infos]

    # ------------------------------------------------------------------ the user's milestones
    def is_user(self, preset_id: str | None) -> bool:
        return preset_id in self._user

    def add_user(self, path, card=None) -> str:
        """Add a milestone YAML (or a config.json with its Card) to the user's folder and to the
        timeline; returns its id. One StudioError when it cannot be added (nothing written)."""
        u = U.add(path, card, set(self.ids) | set(P.preset_ids()))
        self._entries_changed()
        return u.id

    def remove_user(self, preset_id: str) -> None:
        """Delete the user's milestone: off the timeline and out of the folder. When it is on
        screen, the entry before it is shown instead."""
        at = self.ids.index(preset_id) if preset_id in self.ids else None
        U.remove(preset_id, set(P.preset_ids()))
        was_current = at is not None and at == self.index
        self._entries_changed()
        if was_current:
            self.index = None
            self.set_index(max(0, at - 1))

    def _entries_changed(self) -> None:
        current = self.current_id
        anchor = self.ids[self._anchor] if 0 <= self._anchor < len(self.ids) else None
        self._read_user_milestones()
        self.index = self.ids.index(current) if current in self.ids else None
        self._anchor = self.ids.index(anchor) if anchor in self.ids else min(self._anchor, max(0, len(self.ids) - 1))
        self.entries_changed.emit()

    # ------------------------------------------------------------------ reading
    @property
    def milestone_ids(self) -> list[str]:
        return [i.id for i in self.infos if i.group == "milestone"]

    @property
    def recipe_ids(self) -> list[str]:
        return [i.id for i in self.infos if i.group == "recipe"]

    @property
    def current_id(self) -> str | None:
        return self.ids[self.index] if self.index is not None else None

    def info(self, preset_id: str):
        return self.infos[self.ids.index(preset_id)]

    def predecessor(self, preset_id: str) -> str | None:
        """The entry before ``preset_id`` in its group (the 2017 Transformer and the first recipe have none)."""
        if preset_id not in self.ids:
            return None
        group = self.info(preset_id).group
        same = [i.id for i in self.infos if i.group == group]
        k = same.index(preset_id)
        return same[k - 1] if k > 0 else None

    def canonical(self, preset_id: str) -> Architecture:
        """The cached, never-edited preset (callers must not mutate it; documents get copies)."""
        arch = self._canon.get(preset_id)
        if arch is None:
            arch = self._canon[preset_id] = P.load_preset(preset_id)
        return arch

    def try_canonical(self, preset_id: str) -> Architecture | None:
        try:
            return self.canonical(preset_id)
        except StudioError as exc:
            self.broken[preset_id] = str(exc)
            return None

    # ------------------------------------------------------------------ moving
    def set_index(self, index: int | None, anchor: int | None = None) -> None:
        """Select an entry (None: none; ``anchor``: where ←/→ then step from, by default the
        entry that was selected). A preset that cannot be loaded is named through
        ``load_failed`` and the selection stays where it was."""
        if index is None:
            if anchor is not None:
                self._anchor = anchor
            if self.index is not None:
                if anchor is None:
                    self._anchor = self.index
                self.index = None
                self.index_changed.emit(None)
            return
        if not self.ids:
            return
        index = max(0, min(len(self.ids) - 1, int(index)))
        if index == self.index:
            return
        pid = self.ids[index]
        try:
            self.canonical(pid)
        except StudioError as exc:
            self.broken[pid] = str(exc)
            self.load_failed.emit(pid, str(exc))
            return
        self.index = self._anchor = index
        self.index_changed.emit(index)

    def set_current(self, preset_id: str) -> None:
        self.set_index(self.ids.index(preset_id))

    def step(self, delta: int) -> None:
        self.set_index((self.index if self.index is not None else self._anchor) + delta)

    def first(self) -> None:
        self.set_index(0)

    def last(self) -> None:
        """End: the latest dated milestone (2026), not the last "Build your own" recipe."""
        self.set_index(len(self.milestone_ids) - 1)

    def set_playing(self, on: bool) -> None:
        if bool(on) != self.playing:
            self.playing = bool(on)
            self.playing_changed.emit(self.playing)

    def advance_play(self) -> bool:
        """One Play tick: next milestone; stop at the last one. Returns whether still playing."""
        if self.index is not None and self.index >= len(self.milestone_ids) - 1:
            self.set_playing(False)
            return False
        self.step(1)
        return True
