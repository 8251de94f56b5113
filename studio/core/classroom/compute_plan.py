"""Compute planner: how much training a model wants, how much its run has had, how long the rest takes.

(The compiler's execution plan lives in ``studio.core.model.plan``; this module is about compute budgets.)

* Training FLOPs ≈ 6·N·D (forward 2·N·D + backward 4·N·D; Kaplan et al. 2020), with N the
  parameters used per token (the active ones of a mixture of experts).
* Compute-optimal tokens D ≈ 20·N (Hoffmann et al. 2022, "Chinchilla"), beside nanochat's
  measured ratio of 10.5 tokens per parameter. Both are applied to the total parameter count.
* A run's progress comes from its RUN_DIR: tokens seen (metrics.jsonl, else the checkpoint's
  step × batch × context recorded in run.yaml) and this machine's measured tokens/s, which give
  an ETA to each optimum; a run short of the Chinchilla optimum is flagged "under-trained".
* At paper scale a milestone's published training tokens (``meta.training_tokens`` with its
  source) are set against its own Chinchilla optimum.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from studio.core import errors as E

CHINCHILLA_TOKENS_PER_PARAM = 20.0
CHINCHILLA_SOURCE = "Hoffmann et al. 2022 (Training Compute-Optimal Large Language Models)"
NANOCHAT_TOKENS_PER_PARAM = 10.5
NANOCHAT_SOURCE = ("karpathy/nanochat base_train.py target_param_data_ratio 10.5, measured by its scaling-law "
                   "runs (it counts matrices + lm_head, without embeddings)")
FLOPS_RULE = "6·N·D (Kaplan et al. 2020; N = parameters active per token)"


def training_flops(params_active: float, tokens: float) -> float:
    return 6.0 * float(params_active) * float(tokens)


@dataclass(frozen=True)
class RunProgress:
    """What a RUN_DIR says about its training so far."""
    path: str
    model: str
    tokens_seen: int | None         # None: unknown (an imported model's own history)
    steps: int | None
    tokens_per_s: float | None      # measured on the machine that trained it
    train_seconds: float | None
    val_bpb: float | None
    imported: bool = False
    skipped_records: int = 0        # metrics.jsonl lines that were damaged or wrong-typed (not used)


@dataclass(frozen=True)
class ComputePlan:
    id: str
    title: str
    scale: str
    params_total: int
    params_active: int
    chinchilla_tokens: float
    nanochat_tokens: float
    chinchilla_flops: float
    nanochat_flops: float
    run: RunProgress | None = None
    tokens_seen: int | None = None
    tokens_per_param_seen: float | None = None
    training_flops_seen: float | None = None
    eta_chinchilla_s: float | None = None   # at the run's measured tokens/s; 0 when reached
    eta_nanochat_s: float | None = None
    under_trained: bool | None = None       # tokens seen < Chinchilla optimum; None without a run
    paper: "PaperPoint | None" = None
    sources: dict = field(default_factory=lambda: {"chinchilla": CHINCHILLA_SOURCE, "nanochat": NANOCHAT_SOURCE,
                                                   "flops": FLOPS_RULE})

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class PaperPoint:
    """A milestone at paper scale: its published training tokens against its Chinchilla optimum."""
    id: str
    date: str
    title: str
    params: float | None             # published total where there is one, else computed
    params_provenance: str
    params_active: float | None
    training_tokens: float | None
    tokens_source: str
    tokens_provenance: str           # published, reported or undisclosed
    tokens_per_param: float | None
    tokens_per_active_param: float | None
    chinchilla_tokens: float | None
    vs_chinchilla: float | None      # training tokens / Chinchilla optimum
    training_flops: float | None     # 6 · active params · training tokens

    def as_dict(self) -> dict:
        return asdict(self)


# ---------------------------------------------------------------------------- a run's progress
def run_progress(run_dir) -> RunProgress:
    from studio.core.runs.rundir import RunDir
    run = RunDir(run_dir)
    cfg = run.read_config()
    m = run.read_metrics()  # typed and streamed (studio.core.runs.metrics): a wrong-typed record is skipped
    imported = (cfg.get("data") or {}).get("source") == "llama2c-import"
    tokens, step = m.max_tokens, m.max_step
    if tokens is None and not imported:
        tokens, step = 0, 0
    rates = [float(r["tokens_per_s"]) for r in m.recent_steps if r.get("tokens_per_s")]
    tps = sorted(rates)[len(rates) // 2] if rates else None  # median: robust to a slow first step
    elapsed = max((float(r["elapsed_s"]) for r in m.of_kind("step") if "elapsed_s" in r), default=None)
    bpb = float(m.last["eval"]["val_bpb"]) if "val_bpb" in m.last.get("eval", {}) else None
    return RunProgress(str(run.path), str(cfg.get("model", "")), tokens, step, tps, elapsed, bpb, imported, m.skipped)


# ---------------------------------------------------------------------------- the plan
def plan_model(arch, scale: str = "classroom", run_dir=None, run_arch=None) -> ComputePlan:
    """The compute plan of ``arch`` at ``scale``; with ``run_dir`` the run's progress toward it.

    With a run, N is that of the architecture the run trained (its vocabulary may differ from
    the preset's classroom scale), passed as ``run_arch`` or read from the RUN_DIR."""
    from studio.core.model.accounting import account
    progress = None
    if run_dir is not None:
        from studio.core.runs.rundir import RunDir
        progress = run_progress(run_dir)
        if run_arch is None:
            run_arch = RunDir(run_dir).architecture()
        scale = RunDir(run_dir).scale()
    measured = run_arch if run_arch is not None else arch
    acc = account(measured, scale)
    n, n_act = acc.params_total, acc.params_active
    d_chin, d_nano = CHINCHILLA_TOKENS_PER_PARAM * n, NANOCHAT_TOKENS_PER_PARAM * n
    seen = per_param = flops_seen = eta_c = eta_n = under = None
    if progress is not None and progress.tokens_seen is not None:
        seen = progress.tokens_seen
        per_param = seen / n if n else None
        flops_seen = training_flops(n_act, seen)
        under = seen < d_chin
        if progress.tokens_per_s:
            eta_c = max(0.0, d_chin - seen) / progress.tokens_per_s
            eta_n = max(0.0, d_nano - seen) / progress.tokens_per_s
    paper = paper_point(arch) if "paper" in arch.scales and (arch.meta or {}).get("date") else None
    return ComputePlan(arch.id, str((arch.meta or {}).get("title", arch.id)), scale, n, n_act, d_chin, d_nano,
                       training_flops(n_act, d_chin), training_flops(n_act, d_nano), progress, seen, per_param,
                       flops_seen, eta_c, eta_n, under, paper)


def paper_point(arch) -> PaperPoint:
    from studio.core.model.info import model_info
    info = model_info(arch, "paper")
    meta = arch.meta or {}
    pub = info.get("published") or {}
    computed_total, computed_active = info.get("params_total"), info.get("params_active")
    if isinstance(pub.get("params_total"), (int, float)):
        params, prov = float(pub["params_total"]), "published"
        if isinstance(pub.get("params_active"), (int, float)):
            active = float(pub["params_active"])
        elif computed_total:  # published total, the graph's active share of it
            active = params * computed_active / computed_total
        else:
            active = params
    elif computed_total:
        params, active = float(computed_total), float(computed_active)
        prov = info["provenance"].get("params_total", "computed")
    else:
        params, prov, active = None, "undisclosed", None
    tt = meta.get("training_tokens") or {}
    tokens = float(tt["tokens"]) if isinstance(tt.get("tokens"), (int, float)) else None
    tprov = str(tt.get("provenance", "published")) if tokens is not None else "undisclosed"
    chin = CHINCHILLA_TOKENS_PER_PARAM * params if params else None
    return PaperPoint(
        arch.id, str(meta.get("date", "")), str(meta.get("title", arch.id)), params, prov, active, tokens,
        str(tt.get("source", "")), tprov,
        tokens / params if tokens and params else None,
        tokens / active if tokens and active else None,
        chin, tokens / chin if tokens and chin else None,
        training_flops(active, tokens) if tokens and active else None)


def timeline_points() -> list[PaperPoint]:
    """Every milestone in slider order at paper scale (undisclosed ones included, as such)."""
    from studio.core.files.presets import load_preset, timeline
    return [paper_point(load_preset(pid)) for pid in timeline()["milestones"]]


def plan_for(model_spec: str, run_dir=None) -> ComputePlan:
    """``archstudio plan MODEL [--run RUN_DIR]``: MODEL as every command accepts it."""
    from studio.core.files.presets import is_preset
    from studio.core.files.model_spec import load_model
    arch = load_model(model_spec)
    if run_dir is not None:
        from studio.core.runs.rundir import RunDir
        run = RunDir(run_dir)
        model = str(run.read_config().get("model", ""))
        if is_preset(model_spec) and model and model != model_spec:
            raise E.StudioError(f"{run.path} trained {model!r}, not {model_spec!r}; pass that run's MODEL "
                                "(or leave out --run)")
    return plan_model(arch, "classroom" if "classroom" in arch.scales else next(iter(arch.scales)), run_dir)


def human_duration(seconds: float | None) -> str:
    if seconds is None:
        return "unknown"
    s = int(round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    if s < 86400 * 2:
        return f"{s // 3600} h {s % 3600 // 60:02d} min"
    days = s / 86400
    return f"{days:,.0f} days" if days < 365 * 3 else f"{days / 365:,.0f} years"
