"""A training run in the app as one generator: prepare (data, tokenizer, model, RUN_DIR), then
``train_steps``' events, with weight snapshots copied between steps on request. A
:class:`ContinueRequest` continues a run folder for N more minutes instead, through the same
``prepare_resume`` as ``archstudio train --resume --minutes N``."""
from __future__ import annotations

import contextlib
import dataclasses
from typing import Iterator

from studio.core.jobs.control import JobControl


@dataclasses.dataclass(frozen=True)
class TrainRequest:
    arch: object                 # the Architecture to train (copied before use)
    model_spec: str              # what run.yaml records as MODEL
    data_spec: str | None        # None / quick / full / starter / path
    tokenizer: str | None        # bpe / byte / llama2 (None: the preset's default)
    vocab_size: int | None
    tokenizer_model: str | None
    config: object               # TrainConfig
    run_dir: str
    started_at: float | None = None  # time.perf_counter() at the click: where a time budget's clock starts


@dataclasses.dataclass(frozen=True)
class ContinueRequest:
    run_dir: str                 # the run to continue (its model, data, tokenizer and settings)
    minutes: float               # how many more minutes (a new time budget from where it stopped)
    threads: int | None = None
    started_at: float | None = None  # time.perf_counter() at the click: where the budget's clock starts


@dataclasses.dataclass(frozen=True)
class Continued:
    """A continuation is set up: it starts at ``from_step``; ``history`` holds the run's metrics so
    far (a MetricsHistory built in the worker), so the plots go on from where the run ended."""
    run_dir: str
    from_step: int
    from_tokens: int
    minutes: float
    history: object = dataclasses.field(repr=False, compare=False)


@dataclasses.dataclass(frozen=True)
class Status:
    text: str                    # what the preparation is doing now


@dataclasses.dataclass(frozen=True)
class Prepared:
    run_dir: str
    label: str                   # the data's label (says "not TinyStories" where it is not)
    params: int
    steps: int
    vocab: int
    tokenizer: str
    is_tinystories: bool

    def info(self) -> dict:
        return dataclasses.asdict(self)


def _continuation(r: ContinueRequest, control: JobControl, stack):
    """prepare_resume of ``r.run_dir`` with the folder locked for as long as ``stack`` is open;
    returns (model, data, RunDir, cfg, Continued, whether a checkpoint is resumed)."""
    from studio.core.runs.rundir import RunDir
    from studio.core.training import MetricsHistory
    from studio.core.training.resume import prepare_resume
    run = RunDir(r.run_dir)
    stack.enter_context(run.lock())  # an `archstudio train --resume` of the same folder is refused meanwhile
    control.notify(Status("reading the run and its data"))
    res = prepare_resume(run, str(run.read_config().get("model")), minutes=r.minutes, threads=r.threads,
                         say=lambda msg: control.notify(Status(msg)))
    history = MetricsHistory(4096)
    for rec in run.metrics():  # truncated to the checkpoint: what the continuation goes on from
        history.add_record(rec)
    continued = Continued(str(run.path), res.start, res.tokens, r.minutes, history)
    return res.model, res.data, run, res.cfg, continued, res.resume_from


def training_job(request: TrainRequest | ContinueRequest, control: JobControl) -> Iterator[object]:
    """Yields Prepared, Status("training"), every train_steps event and Snapshot copies.

    A snapshot is copied after the step when ``control.take("snapshot")`` and always after
    ``Finished`` (the final weights for Generate and the inspector). The model never leaves this
    generator: what the GUI shows of it travels in events (a MoE model's routing in
    ``StepMetrics.routing``) and snapshot copies.
    """
    from studio.core.training.setup import prepare_new_run
    r = request
    # torch.optim's first optimizer imports torch._dynamo (≈800 modules, seconds on a slow CPU),
    # which holds the GIL in chunks; do it while the panel says "preparing", not mid-training
    import torch._dynamo  # noqa: F401
    with contextlib.ExitStack() as stack:
        if isinstance(r, ContinueRequest):
            model, data, run, cfg, continued, resume = _continuation(r, control, stack)
            yield continued
        else:
            arch = r.arch.copy()  # editing the graph during training cannot corrupt the run
            model, data, run, cfg = prepare_new_run(arch, r.model_spec, r.data_spec, r.tokenizer, r.vocab_size,
                                                    r.tokenizer_model, r.config, r.run_dir,
                                                    lambda msg: control.notify(Status(msg)))
            continued, resume = None, False
        yield from _train(model, data, run, cfg, continued, resume, control, r.started_at)


def _train(model, data, run, cfg, continued, resume, control, started_at=None):
    from studio.core.state.run import Snapshot
    from studio.core.training import Finished, train_steps
    trained_arch = run.architecture()
    n = sum(p.numel() for p in {id(p): p for p in model.parameters()}.values())
    yield Prepared(str(run.path), data.label, n, cfg.steps, data.tokenizer.vocab_size, data.tokenizer.kind,
                   data.corpus.is_tinystories)
    if control.should_stop():
        return
    yield Status("training")
    extend = continued is not None  # a new time budget where the run stopped (resume.py)
    for ev in train_steps(model, data, cfg, control.should_stop, control.is_paused, run=run,
                          resume=resume, extend=extend, started_at=started_at):
        yield ev
        if control.take("snapshot") or isinstance(ev, Finished):
            state = {k: v.detach().clone().cpu() for k, v in model.state_dict().items()}
            yield Snapshot(trained_arch, state, ev.step, data.tokenizer)
