"""The model a generation or inspection job runs: untrained, a run folder's checkpoint, or a snapshot."""
from __future__ import annotations

import dataclasses
from pathlib import Path


@dataclasses.dataclass(frozen=True)
class WeightsSource:
    """Where the weights come from. ``kind``: untrained | run | snapshot."""
    kind: str
    label: str
    arch: object = None        # Architecture (untrained; snapshot: the trained copy)
    path: str = ""             # RUN_DIR (run)
    snapshot: object = dataclasses.field(default=None, repr=False)  # studio.core.state.run.Snapshot
    version: int = 0           # bumped by the owner for every new source (cache key)

    def cache_key(self):
        return (self.kind, self.path, id(self.arch), id(self.snapshot), self.version)


def source_for(run_state, arch) -> WeightsSource | None:
    """The weights that belong to the document on screen: its live snapshot, its run folder's
    latest checkpoint, or (no run) fresh random weights of ``arch``'s classroom scale."""
    snap = run_state.snapshot
    if snap is not None:
        title = snap.arch.meta.get("title", snap.arch.id) if snap.arch is not None else "model"
        return WeightsSource("snapshot", f"{title}, training snapshot at step {snap.step}", arch=snap.arch,
                             snapshot=snap)
    rd = run_state.run_dir
    if rd is not None and Path(rd, "checkpoints", "latest.pt").is_file():
        return WeightsSource("run", run_label(rd), path=str(rd))
    if arch is None or "classroom" not in getattr(arch, "scales", {}):
        return None
    title = arch.meta.get("title", arch.id)
    return WeightsSource("untrained", f"{title}, classroom scale, untrained (fresh random weights)", arch=arch)


def run_label(path) -> str:
    from studio.core.errors import StudioError
    from studio.core.runs.rundir import RunDir
    try:
        cfg = RunDir(path).read_config()
        meta = (cfg.get("architecture") or {}).get("meta") or {}
        model = str(meta.get("title") or cfg.get("model", ""))  # "stories260K (llama2.c import)", not the base preset
    except (StudioError, AttributeError):
        model = ""
    p = Path(path)
    where = f"{p.parent.name}/{p.name}" if p.parent.name else p.name
    return f"{model or 'run'} — {where}, latest checkpoint"


def load(source: WeightsSource):
    """(model in eval mode, tokenizer). Builds torch modules: call it in the job's thread."""
    import torch

    from studio.core.model.compiler import compile_architecture
    from studio.core.tokenizers.byte_level import ByteTokenizer
    if source.kind == "run":
        from studio.core.runs.rundir import RunDir
        run = RunDir(source.path)
        return run.build_model().eval(), run.tokenizer()
    if source.kind == "snapshot":
        snap = source.snapshot
        model = compile_architecture(snap.arch, "classroom", check=False)
        from studio.core.runs.weights import load_weights  # strict: one line naming what does not fit
        load_weights(model, snap.state, "training snapshot")
        return model.eval(), snap.tokenizer or ByteTokenizer()
    torch.manual_seed(0)  # "untrained" is the same picture every time for the same milestone
    return compile_architecture(source.arch, "classroom").eval(), ByteTokenizer()
