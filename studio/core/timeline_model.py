"""TimelineModel: the Qt-free, evented state behind the main window.

Which milestone the slider is on, which scale the numbers are shown at, whether Play is on,
what compare mode compares, and the custom (edited) models branched from milestones. Views
subscribe to the psygnal signals and keep no copy of this state.

Canonical presets are loaded once and cached (scrubbing must stay fast); the architecture a
view receives is a private copy, so edits never touch the cache. Edited copies are kept per
milestone so that moving the slider away and back never throws custom work away.
"""
from __future__ import annotations

from dataclasses import dataclass

from psygnal import Signal

from studio.core import presets as P
from studio.core.architecture import Architecture
from studio.core.errors import StudioError


@dataclass(frozen=True)
class TimelinePoint:
    """One figure of the timeline chart (paper scale; None where undisclosed)."""
    id: str
    params_total: float | None
    kv_bytes: float | None


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


def _readable_infos():
    """The timeline's entries, skipping (and naming) any preset file that cannot be read, so a
    broken or not-yet-written preset never keeps the app from starting."""
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
                                      str(m.get("org", "")), str(m.get("short", ""))))
    return infos, broken


class TimelineModel:
    architecture_changed = Signal(object)  # the new current Architecture
    index_changed = Signal(int)
    scale_changed = Signal(str)
    playing_changed = Signal(bool)
    edited_changed = Signal(bool)  # the current model became / stopped being a custom one
    compare_changed = Signal(object)  # (left id, right id) or None
    load_failed = Signal(str, str)  # preset id, one-line reason (the slider stays where it was)

    def __init__(self, scale: str = "paper", start: str | int | None = 0):
        self.infos, self.broken = _readable_infos()
        self.ids = [i.id for i in self.infos]
        self.scale = scale
        self.playing = False
        self.compare: tuple[str, str] | None = None
        self._canon: dict[str, Architecture] = {}
        self._custom: dict[str, Architecture] = {}
        self._series: dict[str, TimelinePoint] = {}
        self._acc: dict[tuple, object] = {}  # (preset id or id(arch), scale, version) -> Accounting
        self.version = 0  # bumped by every edit of the current model (cache key)
        self.external: Architecture | None = None  # a model opened from a file (not on the timeline)
        self.index = -1
        self.arch: Architecture | None = None
        if start is not None and self.ids:
            self.set_index(self.ids.index(start) if isinstance(start, str) else int(start))

    # ------------------------------------------------------------------ reading
    @property
    def milestone_ids(self) -> list[str]:
        return [i.id for i in self.infos if i.group == "milestone"]

    @property
    def recipe_ids(self) -> list[str]:
        return [i.id for i in self.infos if i.group == "recipe"]

    @property
    def current_id(self) -> str | None:
        """The milestone on screen; None while a model opened from a file (not branched from a
        milestone) is shown."""
        if self.external is not None:
            return None
        return self.ids[self.index] if 0 <= self.index < len(self.ids) else None

    @property
    def current_info(self):
        return self.infos[self.index] if 0 <= self.index < len(self.ids) else None

    def info(self, preset_id: str):
        return self.infos[self.ids.index(preset_id)]

    def canonical(self, preset_id: str) -> Architecture:
        """The cached, never-edited preset (callers must not mutate it)."""
        arch = self._canon.get(preset_id)
        if arch is None:
            arch = self._canon[preset_id] = P.load_preset(preset_id)
        return arch

    def is_edited(self, preset_id: str | None = None) -> bool:
        pid = preset_id or self.current_id
        return pid in self._custom

    @property
    def edited_ids(self) -> list[str]:
        return [i for i in self.ids if i in self._custom]

    def title(self, preset_id: str | None = None) -> str:
        pid = preset_id or self.current_id
        if pid is None:
            return self.arch.meta.get("title", self.arch.id) if self.arch else ""
        t = self.info(pid).title
        return f"{t} (edited)" if pid in self._custom else t

    # ------------------------------------------------------------------ moving
    def set_index(self, index: int) -> None:
        if not self.ids:
            return
        index = max(0, min(len(self.ids) - 1, int(index)))
        if index == self.index and self.external is None and self.arch is not None:
            return
        pid = self.ids[index]
        try:
            arch = self._custom.get(pid) or self.canonical(pid).copy()
        except StudioError as exc:
            self.broken[pid] = str(exc)
            self.load_failed.emit(pid, str(exc))
            return
        self.index, self.external = index, None
        self.arch = arch
        self.index_changed.emit(index)
        self.architecture_changed.emit(arch)

    def set_current(self, preset_id: str) -> None:
        self.set_index(self.ids.index(preset_id))

    def step(self, delta: int) -> None:
        self.set_index((self.index if self.index >= 0 else 0) + delta)

    def first(self) -> None:
        self.set_index(0)

    def last(self) -> None:
        self.set_index(len(self.ids) - 1)

    def set_scale(self, scale: str) -> None:
        if scale != self.scale:
            self.scale = scale
            self.scale_changed.emit(scale)

    def set_playing(self, on: bool) -> None:
        if bool(on) != self.playing:
            self.playing = bool(on)
            self.playing_changed.emit(self.playing)

    def advance_play(self) -> bool:
        """One Play tick: next milestone; stop at the last one. Returns whether still playing."""
        if self.index >= len(self.milestone_ids) - 1:
            self.set_playing(False)
            return False
        self.step(1)
        return True

    def set_compare(self, pair: tuple[str, str] | None) -> None:
        self.compare = tuple(pair) if pair else None
        self.compare_changed.emit(self.compare)

    # ------------------------------------------------------------------ custom models
    def mark_edited(self) -> None:
        """Called after an edit to the current architecture: it becomes a custom model."""
        pid = self.current_id
        if self.external is not None or pid is None:
            return
        was = pid in self._custom
        self._custom[pid] = self.arch
        self._series.pop(pid, None)
        self.touch()
        if not was:
            self.edited_changed.emit(True)

    def reset_to_milestone(self) -> None:
        pid = self.current_id
        if pid is None or pid not in self._custom:
            return
        del self._custom[pid]
        self._series.pop(pid, None)
        self.arch = self.canonical(pid).copy()
        self.edited_changed.emit(False)
        self.architecture_changed.emit(self.arch)

    def set_custom(self, preset_id: str | None, arch: Architecture) -> None:
        """Show ``arch`` (from a project file): branched from ``preset_id`` when it is on the timeline."""
        if preset_id in self.ids:
            self._custom[preset_id] = arch
            self._series.pop(preset_id, None)
            self.index, self.external = self.ids.index(preset_id), None
            self.arch = arch
            self.index_changed.emit(self.index)
            self.edited_changed.emit(True)
        else:
            self.external, self.arch = arch, arch
        self.architecture_changed.emit(arch)

    def cache_key(self, scale: str | None = None):
        """A key under which views may cache what they derive from the current model, or None
        when it is a custom (editable) one whose content can change under the same key."""
        pid = self.current_id
        if self.external is not None or pid is None or pid in self._custom:
            return None
        return pid, scale or self.scale

    def touch(self) -> None:
        """The current architecture was edited in place: drop its cached figures."""
        self.version += 1

    def accounting(self, scale: str | None = None, preset_id: str | None = None):
        """Accounting of the current model (or of a canonical preset), cached: scrubbing is fast."""
        from studio.core.accounting import account
        scale = scale or self.scale
        if preset_id is None and self.external is not None:
            key, arch = (id(self.arch), scale, "custom", self.version), self.arch
        else:
            pid = preset_id or self.current_id
            if pid in self._custom:  # one key per custom model and edit, whoever asks
                key, arch = (pid, scale, "custom", self.version), self._custom[pid]
            else:
                key, arch = (pid, scale, 0), (self.arch if preset_id is None else self.canonical(pid))
        acc = self._acc.get(key)
        if acc is None:
            if len(self._acc) > 512:  # edited models add one entry per edit; keep the cache bounded
                self._acc = {k: v for k, v in self._acc.items() if v is not None and k[2] == 0}
            acc = self._acc[key] = account(arch, scale)
        return acc

    def warm(self) -> None:
        """Load every preset and its figures once (idle time after start-up), so scrubbing is O(1)."""
        for pid in self.ids:
            self.warm_one(pid)
        self.series()

    def warm_one(self, pid: str) -> bool:
        try:
            for sc in self.canonical(pid).scales:
                self.accounting(sc, pid)
            return True
        except StudioError as exc:
            self.broken[pid] = str(exc)
            return False

    def discard_custom(self) -> None:
        self._custom.clear()
        self._series.clear()

    # ------------------------------------------------------------------ chart data
    def series(self) -> list[TimelinePoint]:
        """Paper-scale params and KV bytes per token of every timeline entry (cached)."""
        out = []
        for pid in self.ids:
            pt = self._series.get(pid)
            if pt is None:
                try:
                    arch = self._custom.get(pid) or self.canonical(pid)
                    scale = "paper" if "paper" in arch.scales else next(iter(arch.scales))
                    acc = self.accounting(scale, pid)
                    hidden = scale == "paper" and arch.meta.get("disclosure") in ("undisclosed", "stand-in")
                    pt = TimelinePoint(pid, None if hidden else acc.params_total,
                                       None if hidden else acc.kv_cache_bytes_per_token)
                except Exception:  # noqa: BLE001  an edited model may be mid-edit and invalid
                    pt = TimelinePoint(pid, None, None)
                self._series[pid] = pt
            out.append(pt)
        return out

    def invalidate_series(self, preset_id: str | None = None) -> None:
        self._series.pop(preset_id or self.current_id, None)

    def llama2c_compatible(self) -> dict[str, bool]:
        """Which milestones export to llama2.c unchanged (empty when the exporter is absent)."""
        try:
            from studio.core.llama2c import check_llama2c
        except ImportError:
            return {}
        out = {}
        for pid in self.ids:
            try:
                out[pid] = not [i for i in check_llama2c(self.canonical(pid))
                                if getattr(i, "severity", "error") == "error"]
            except Exception:  # noqa: BLE001  a marker is optional, never fatal
                out[pid] = False
        return out
