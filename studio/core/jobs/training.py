"""A training run in the app as one generator: prepare (data, tokenizer, model, RUN_DIR), then
``train_steps``' events, with weight snapshots copied between steps on request."""
from __future__ import annotations

import dataclasses
from typing import Callable, Iterator

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


def training_job(request: TrainRequest, control: JobControl,
                 on_step: Callable[[int, object], None] | None = None) -> Iterator[object]:
    """Yields Prepared, Status("training"), every train_steps event and Snapshot copies.

    A snapshot is copied after the step when ``control.take("snapshot")`` and always after
    ``Finished`` (the final weights for Generate and the inspector). ``on_step(step, model)``
    runs right after each step in this thread (the routing history reads the live model).
    """
    from studio.core.state.run import Snapshot
    from studio.core.training import Finished, StepMetrics, train_steps
    from studio.core.training.setup import prepare_new_run
    r = request
    # torch.optim's first optimizer imports torch._dynamo (≈800 modules, seconds on a slow CPU),
    # which holds the GIL in chunks; do it while the panel says "preparing", not mid-training
    import torch._dynamo  # noqa: F401
    arch = r.arch.copy()  # editing the graph during training cannot corrupt the run
    model, data, run, cfg = prepare_new_run(arch, r.model_spec, r.data_spec, r.tokenizer, r.vocab_size,
                                            r.tokenizer_model, r.config, r.run_dir,
                                            lambda msg: control.notify(Status(msg)))
    trained_arch = run.architecture()
    n = sum(p.numel() for p in {id(p): p for p in model.parameters()}.values())
    yield Prepared(str(run.path), data.label, n, cfg.steps, data.tokenizer.vocab_size, data.tokenizer.kind,
                   data.corpus.is_tinystories)
    if control.should_stop():
        return
    yield Status("training")
    for ev in train_steps(model, data, cfg, control.should_stop, control.is_paused, run=run):
        if isinstance(ev, StepMetrics) and on_step is not None:
            on_step(ev.step, model)
        yield ev
        if control.take("snapshot") or isinstance(ev, Finished):
            state = {k: v.detach().clone().cpu() for k, v in model.state_dict().items()}
            yield Snapshot(trained_arch, state, ev.step, data.tokenizer)
