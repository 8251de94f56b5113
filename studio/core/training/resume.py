"""Continuing a RUN_DIR, shared by ``archstudio train --resume`` and the app's "Train N more min":
the checks, the model and data the run trained with, the settings it continues with, and the
record of the continuation in run.yaml (``continued``) and metrics.jsonl (a ``resume`` record).

    r = prepare_resume(RunDir(path), model_spec, minutes=2.0, threads=1)
    for ev in train_steps(r.model, r.data, r.cfg, run=r.run, resume=r.resume_from, extend=r.extend): ...

With ``minutes`` the trainer starts a new time budget where the run stopped (budget.py: the
schedule re-warms from its floor and decays again by the end of the extra minutes).
"""
from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

from studio.core import errors as E
from studio.core.training import setup as S


@dataclasses.dataclass
class Resumed:
    run: object          # RunDir
    model: object        # the run's model with its latest weights (train mode), or a rebuilt one at step 0
    data: object         # TokenData: the run's corpus through the run's tokenizer
    cfg: object          # TrainConfig the continuation trains with
    start: int           # the step it continues from
    resume_from: bool    # False: no checkpoint yet, the same run again from step 0
    extend: bool         # a new time budget (minutes given): train_steps(extend=...)
    corpus: object
    tokenizer: object
    tokens: int = 0      # training tokens seen at ``start``


def continuable(run_dir) -> str | None:
    """None when the run in ``run_dir`` can be continued, else one line saying why not (cheap:
    no torch, no data read; the data and the lock are checked when it starts)."""
    from studio.core.runs.rundir import RunDir
    if run_dir is None:
        return "this model has no trained run yet: Start one first"
    run = RunDir(run_dir)
    if not run.path.is_dir():
        return f"its run folder {run.path} is gone"
    try:
        cfg = run.read_config()
    except E.StudioError as exc:
        return str(exc)
    if not cfg.get("model"):
        return f"{run.path}/run.yaml does not say which model it trains"
    if not run.has_checkpoint():
        return f"the run in {run.path.name} has no checkpoint to continue from"
    return None


def _record_continuation(run, start: int, tokens: int, minutes, steps) -> None:
    cfg = run.read_config()
    entry = {"from_step": int(start), "at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    entry.update({"minutes": float(minutes)} if minutes is not None else {"steps": int(steps)})
    earlier = cfg.get("continued") if isinstance(cfg.get("continued"), list) else []
    run.write_config({k: v for k, v in cfg.items() if k not in ("schema_version", "kind")}
                     | {"continued": earlier + [entry]})
    run.append_metrics({"kind": "resume", "step": int(start), "tokens": int(tokens),
                        **{k: v for k, v in entry.items() if k != "from_step"}})


def check_optimizer_state(state, model, cfg, where: str) -> None:
    """The checkpoint's optimizer state against the optimizer this run builds (its groups, their
    sizes, and each moment's shape); one LoadError line instead of torch's ValueError at resume,
    or a broadcasting error at the first step."""
    import torch

    from studio.core.training.trainer import make_optimizer
    opt = make_optimizer(model, cfg)
    try:
        opt.load_state_dict(state)
    except (ValueError, KeyError, TypeError, IndexError, RuntimeError, AttributeError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:120]
        raise E.LoadError(f"{where}: optimizer: its state does not fit this run's {cfg.optimizer} optimizer ({first})") from None
    for group in opt.param_groups:
        for p in group["params"]:
            for name, t in opt.state.get(p, {}).items():
                if isinstance(t, torch.Tensor) and t.dim() and t.shape != p.shape:
                    raise E.LoadError(f"{where}: optimizer: {name} of a {list(p.shape)} weight is "
                                      f"{list(t.shape)}; the state belongs to another model")
                if isinstance(t, torch.Tensor) and t.is_floating_point() and not bool(torch.isfinite(t).all()):
                    raise E.LoadError(f"{where}: optimizer: its {name} holds NaN or infinity")


def check_sample_state(ck: dict, device: str, where: str) -> None:
    """The sampling generator's state is for the run's device (a CPU state is 5,056 bytes, a CUDA
    one 16); the CPU generator states were tried when the checkpoint was read."""
    import torch

    from studio.core.training.trainer import pick_device
    state = (ck.get("rng") or {}).get("sample")
    try:
        torch.Generator(device=pick_device(device)).set_state(state)
    except (RuntimeError, TypeError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:80]
        raise E.LoadError(f"{where}: rng.sample: not a random generator's state for {device} ({first})") from None


def prepare_resume(run, model_spec: str, *, data_spec: str | None = None, kind: str | None = None,
                   vocab_size: int | None = None, steps: int | None = None, minutes: float | None = None,
                   speed: dict | None = None, threads: int | None = None, device: str = "cpu",
                   write: bool = True, say: Callable[[str], None] = lambda msg: None) -> Resumed:
    """Everything ``train_steps(..., resume=True)`` needs to continue ``run`` (a RunDir, locked by
    the caller). ``steps``: continue up to this total; ``minutes``: train this many more minutes;
    neither: finish what the run's own settings say. ``speed``: precision/compile given now (else
    the run's own). ``write=False`` (torchrun ranks other than 0) changes nothing on disk."""
    from studio.core.data import load_corpus, tokenize_corpus
    from studio.core.training.trainer import TrainConfig
    if minutes is not None and steps:
        raise E.StudioError("--minutes and --steps both set how long to train; give one of them")
    corpus = load_corpus(data_spec) if data_spec else None
    cfg_run = S.check_resume(run, model_spec, corpus.sha256 if corpus else None, kind, vocab_size)
    imported = (cfg_run.get("data") or {}).get("source") == S.IMPORTED
    tok = run.tokenizer()
    known = set(TrainConfig.__dataclass_fields__)
    stored = {k: v for k, v in (cfg_run.get("training") or {}).items() if k in known}
    resume_from, tokens = True, 0
    if run.has_checkpoint():  # checked before anything is rewritten
        model = run.build_model().train()
        ck = run.load_checkpoint(expect=model.state_dict())
        start, tokens = int(ck["step"]), int((ck.get("data_pos") or {}).get("tokens", 0))
    else:  # killed before its first checkpoint: the same run again from step 0 (same seed, same init)
        model = S.build_model(run.architecture(), int(stored.get("seed", 1337))).train()
        start, resume_from = 0, False
        say(f"{run.path} has no checkpoint yet: starting it again from step 0")
    if imported:  # first training of imported weights: the chosen (or default) data, recorded now
        corpus = corpus or load_corpus(None)
        cfg_run = {**cfg_run, "data": corpus.describe()}
        if write:
            run.write_config({k: v for k, v in cfg_run.items() if k not in ("schema_version", "kind")})
        say(f"continuing the imported model on {corpus.label}")
    elif corpus is None:
        corpus = load_corpus((cfg_run.get("data") or {}).get("source"))
        if corpus.sha256 != (cfg_run.get("data") or {}).get("sha256"):
            raise E.StudioError(f"{run.path}: its data {corpus.name!r} changed since the run started; cannot resume")
    over = dict(speed or {})
    cfg = TrainConfig.from_record(stored, steps=steps or stored.get("steps", 200), threads=threads, device=device,
                                  **over)
    if resume_from and ck.get("optimizer"):  # imported weights have none: a fresh optimizer then
        check_optimizer_state(ck["optimizer"], model, cfg, str(run.checkpoint_dir))
        check_sample_state(ck, cfg.device, str(run.checkpoint_dir))
    if minutes is not None:  # N more minutes (also after a run counted in steps)
        cfg = dataclasses.replace(cfg, minutes=minutes)
    elif steps:  # a step count replaces the run's time budget
        cfg = dataclasses.replace(cfg, minutes=None, eval_interval=cfg.eval_interval or 50)
    if write:
        if steps or minutes is not None or over:
            run.write_config({k: v for k, v in run.read_config().items() if k not in ("schema_version", "kind")}
                             | {"training": S.training_record(cfg)})
        run.truncate_metrics(start)  # the steps after the checkpoint are trained (and logged) again
        if steps or minutes is not None:
            _record_continuation(run, start, tokens, minutes, steps)
    say(f"resuming {run.path} at step {start} " + (f"for {cfg.minutes:g} more minutes" if minutes is not None
                                                   else f"of {cfg.steps}"))
    data = tokenize_corpus(corpus, tok)
    return Resumed(run, model, data, cfg, start, resume_from, minutes is not None, corpus, tok, tokens)

