"""What a race view shows, Qt-free: per model the held-out bits-per-byte points against tokens,
training FLOPs and wall time, the latest training loss, and the final table.

Fed with the race's events (studio.core.classroom.race_events) as they arrive (live) or built from a saved race folder
(:meth:`RaceHistory.from_saved`). ``version`` grows with every change, so a view redraws from a
timer only when something is new (create curves once, ``setData`` on change).
"""
from __future__ import annotations

from dataclasses import dataclass, field

X_AXES = {"tokens": "tokens seen", "flops": "training FLOPs (6·N·D)", "wall_s": "wall time (s)"}


@dataclass
class RacerCurve:
    name: str
    tokens: list = field(default_factory=list)
    flops: list = field(default_factory=list)
    wall_s: list = field(default_factory=list)
    bpb: list = field(default_factory=list)
    last_loss: float | None = None
    step: int = 0

    def xs(self, axis: str) -> list:
        return {"tokens": self.tokens, "flops": self.flops, "wall_s": self.wall_s}[axis]


class RaceHistory:
    def __init__(self):
        self.reset()

    def reset(self, title: str = "") -> None:
        self.title = title
        self.curves: list[RacerCurve] = []
        self.table: list[dict] = []
        self.status = "idle"        # idle, running, done, stopped, failed
        self.message = ""
        self.steps = 0
        self.step = 0
        self.path = None
        self.version = 0

    def _curve(self, i: int, name: str) -> RacerCurve:
        while len(self.curves) <= i:
            self.curves.append(RacerCurve(name))
        return self.curves[i]

    def feed(self, ev) -> None:
        """One event of a race (studio.core.classroom.race_events, or the trainer's Preparing)."""
        from studio.core.classroom.race_events import RaceDone, RaceEnd, RaceEval, RaceStarted, RaceStep
        from studio.core.training.events import Preparing
        if isinstance(ev, Preparing):
            self.message = f"preparing: {ev.what}"
        elif isinstance(ev, RaceStarted):
            self.reset(ev.title)
            self.status, self.steps, self.message = "running", ev.steps, ev.message
        elif isinstance(ev, RaceStep):
            c = self._curve(ev.model, ev.name)
            c.last_loss, c.step = ev.loss, ev.step
            self.step, self.steps = max(self.step, ev.step), ev.steps
        elif isinstance(ev, RaceEval):
            c = self._curve(ev.model, ev.name)
            c.tokens.append(ev.tokens)
            c.flops.append(ev.flops)
            c.wall_s.append(ev.wall_s)
            c.bpb.append(ev.val_bpb)
        elif isinstance(ev, RaceEnd):
            self.status = "done" if isinstance(ev, RaceDone) else "stopped"
            self.message, self.table, self.steps = ev.message, [dict(r) for r in ev.table], ev.steps
        else:
            return
        self.version += 1

    def fail(self, message: str) -> None:
        self.status, self.message = "failed", message
        self.version += 1

    @classmethod
    def from_saved(cls, saved) -> "RaceHistory":
        """From studio.core.classroom.race.SavedRace (race.yaml + each model's metrics.jsonl)."""
        h = cls()
        h.reset(str(saved.index.get("title", "")))
        h.path = saved.path
        for m in saved.index.get("models") or []:
            c = RacerCurve(str(m.get("name")))
            for r in saved.curves.get(c.name, []):
                if r.get("val_bpb") is None:
                    continue
                c.tokens.append(r.get("tokens", 0))
                c.flops.append(r.get("flops", 0.0))
                c.wall_s.append(r.get("elapsed_s", 0.0))
                c.bpb.append(r["val_bpb"])
                c.step = int(r.get("step", 0))
            h.curves.append(c)
        h.table = list(saved.table)
        h.status = str(saved.index.get("status", "done"))
        h.steps = int(saved.index.get("steps") or 0)
        h.step = int(saved.index.get("steps_done") or max((c.step for c in h.curves), default=0))
        h.message = f"reopened {saved.path}"
        if h.status == "running":  # its process ended without finishing (killed, power cut)
            h.status = "interrupted"
            of = f" of {h.steps}" if h.steps else ""  # a timed race's steps are known at its end
            h.message = f"reopened {saved.path}: interrupted at step {h.step}{of} (no final table)"
            h.table = h._partial_table(saved)
        h.version = 1
        return h

    def _partial_table(self, saved) -> list[dict]:
        """Rows from the last eval of each model when the race never wrote its final table."""
        rows = []
        for m, c in zip(saved.index.get("models") or [], self.curves):
            if not c.bpb:
                continue
            rows.append({"name": c.name, "params": m.get("params"), "params_active": m.get("params_active"),
                         "tokens": c.tokens[-1], "flops": c.flops[-1],
                         "tokens_per_s": c.tokens[-1] / c.wall_s[-1] if c.wall_s[-1] else 0.0,
                         "val_bpb": c.bpb[-1], "sample": "(interrupted: no sample)"})
        return rows

    def leader(self) -> str | None:
        """The model with the lowest latest held-out bits per byte (None before the first eval)."""
        scored = [(c.bpb[-1], c.name) for c in self.curves if c.bpb]
        return min(scored)[1] if scored else None
