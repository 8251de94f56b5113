"""What a live experiment view shows, Qt-free: the curves, tables and samples an experiment's
events have built so far, or those of a finished folder (experiment.json) reopened later."""
from __future__ import annotations

from studio.core.experiments.common import (
    Finished,
    Point,
    Row,
    Stage,
    Text,
    read_result,
)


# milestone -> (x axis, y axis) of its result curve
AXES = {
    "2022-05-flashattention": ("context (tokens)", "peak memory naive ÷ tiled"),
    "2022-03-chinchilla": ("parameters N", "held-out loss (nats/token)"),
    "2025-01-deepseek-r1": ("RL step", "held-out accuracy"),
    "2024-09-o1": ("samples per problem", "held-out accuracy"),
    "2022-03-instructgpt": ("PPO iteration", "held-out instructions followed"),
    "2022-11-chatgpt": ("PPO iteration", "held-out conversations followed"),
}
# extra curves of experiment.json, under the names the live view gives them
EXTRA_CURVES = {"best_of_n_curve": "best-of-n with the checker", "greedy_curve": "held-out greedy accuracy",
                "reward_curve": "mean reward", "fit_curve": "fitted parabola", "hbm_ratio": "HBM accesses standard ÷ flash (paper)",
                "kl_to_sft_curve": "KL to SFT (nats per reply)", "rollout_followed_curve": "followed (PPO samples)",
                "second_budget_curve": "held-out loss at the smaller budget"}


class ExperimentHistory:
    def __init__(self, milestone: str = ""):
        self.reset(milestone)

    def reset(self, milestone: str = "") -> None:
        self.milestone = milestone
        self.series: dict[str, tuple[list, list]] = {}   # name -> (xs, ys), in arrival order
        self.tables: dict[str, list[tuple]] = {}          # name -> rows; the first row is the header
        self.texts: list[tuple[str, str]] = []
        self.status = "idle"                              # idle, running, done, stopped, failed
        self.message = ""
        self.result: dict | None = None
        self.path = None
        self.version = 0                                  # grows on every change (the view redraws on it)

    def feed(self, ev) -> None:
        if isinstance(ev, Point):
            xs, ys = self.series.setdefault(ev.series, ([], []))
            xs.append(float(ev.x))
            ys.append(float(ev.y))
        elif isinstance(ev, Row):
            self.tables.setdefault(ev.table, []).append(tuple(ev.cells))
        elif isinstance(ev, Text):
            self.texts.append((ev.label, ev.text))
        elif isinstance(ev, Stage):
            self.status, self.message = "running", ev.what
        elif isinstance(ev, Finished):
            self.status = "done"
            arrow = "higher is better" if ev.higher_is_better else "lower is better"
            self.message = f"{ev.metric}: before {ev.before:.4g}, after {ev.after:.4g} ({arrow}); {ev.wall_s:.0f} s"
            try:
                self.result = read_result(self.path) if self.path else None
            except Exception:  # noqa: BLE001  the live curves stay; the status line says it finished
                self.result = None
            for key, name in EXTRA_CURVES.items():  # what only the end knows: the fit, the paper's estimate
                if self.result and self.result.get(key) and key in ("fit_curve", "hbm_ratio"):
                    self.series[name] = ([float(x) for x, _ in self.result[key]],
                                         [float(y) for _, y in self.result[key]])
        else:
            return
        self.version += 1

    def fail(self, message: str) -> None:
        self.status, self.message = "failed", message
        self.version += 1

    def ended(self) -> None:
        """The job returned: without a Finished event it was stopped (its folder keeps the done parts)."""
        if self.status == "running":
            self.status, self.message = "stopped", "stopped: start it again on the same folder to continue"
            self.version += 1

    @classmethod
    def from_folder(cls, folder) -> ExperimentHistory:
        """A finished experiment as the view shows it: its curve(s) and the metric line."""
        data = read_result(folder)
        h = cls(str(data["milestone"]))
        h.path, h.result = str(folder), data
        x_label, y_label = AXES.get(h.milestone, ("x", "y"))
        h.series[y_label] = ([float(x) for x, _ in data["curve"]], [float(y) for _, y in data["curve"]])
        for key, name in EXTRA_CURVES.items():
            if data.get(key):
                h.series[name] = ([float(x) for x, _ in data[key]], [float(y) for _, y in data[key]])
        h.tables["result"] = _result_table(data, x_label, y_label)
        for key in ("samples_before", "samples_after"):
            items = data.get(key)  # o1's are counts (samples per problem), not sample lists
            for item in items if isinstance(items, list) else []:
                if isinstance(item, list) and len(item) >= 2:
                    mark = ("  ✓" if item[2] else "  ✗") if len(item) > 2 else ""
                    h.texts.append((key.replace("samples_", ""), f"{item[0]}{str(item[1]).split(chr(10))[0]}{mark}"))
        if isinstance(data.get("optimum"), dict) and data["optimum"]:
            h.texts.append(("compute-optimal", optimum_line(data["optimum"], data.get("paper_tokens_per_param"))))
        arrow = "higher is better" if data["higher_is_better"] else "lower is better"
        h.status = "done"
        h.message = f"{data['metric']}: before {data['before']:.4g}, after {data['after']:.4g} ({arrow})"
        h.version = 1
        return h


def _result_table(data: dict, x_label: str, y_label: str) -> list[tuple]:
    """The result curve as a table, with the extra curves that share its x values as more columns."""
    extra = {name: dict((float(x), y) for x, y in data[key]) for key, name in EXTRA_CURVES.items()
             if data.get(key) and key != "fit_curve"}
    rows = [(x_label, y_label, *extra)]
    for x, y in data["curve"]:
        rows.append((x if float(x) != int(x) else int(x), float(y),
                     *(v.get(float(x), "") for v in extra.values())))
    return rows


def optimum_line(o: dict, paper=None) -> str:
    """Chinchilla's fitted optimum in one line, next to the paper's tokens per parameter."""
    return (f"fitted optimum N* = {o['params']:,.0f} parameters, D* = {o['tokens']:,.0f} tokens: "
            f"{o['tokens_per_param']:.1f} tokens per parameter" + (f" (paper ≈ {paper:g})" if paper else ""))
