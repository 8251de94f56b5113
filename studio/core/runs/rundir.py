"""RUN_DIR: a training run folder (layout in the shared CLI contract).

    run.yaml                 schema_version, kind: run, model, architecture (full YAML data, its
                             classroom scale = the dims actually trained), scale, training,
                             data {source, path, sha256}, tokenizer {kind, vocab_size, ...}
    tokenizer/               the tokenizer's files; tokenizer.bin (llama2.c layout) always
    checkpoints/step-NNNNNN.pt, checkpoints/latest.pt
    metrics.jsonl            one JSON object per logged step / eval

Checkpoints are dicts of tensors and plain values written atomically and read with
``torch.load(weights_only=True)``: {"schema_version", "step", "model", "optimizer", "schedule",
"rng", "data_pos"}.
"""
from __future__ import annotations

import io
import json
import stat
from pathlib import Path

import yaml

from studio.core import errors as E
from studio.core.files.schema import short
from studio.core.files.yamlio import architecture_from_data, atomic_write_bytes, atomic_write_text, read_yaml

RUN_SCHEMA = 1


class RunDir:
    def __init__(self, path):
        self.path = Path(path)

    # ------------------------------------------------------------------ layout
    @property
    def config_path(self) -> Path:
        return self.path / "run.yaml"

    @property
    def tokenizer_dir(self) -> Path:
        return self.path / "tokenizer"

    @property
    def checkpoint_dir(self) -> Path:
        return self.path / "checkpoints"

    @property
    def metrics_path(self) -> Path:
        return self.path / "metrics.jsonl"

    def exists(self) -> bool:
        return self.config_path.is_file()

    def is_empty(self) -> bool:
        return not self.path.exists() or not any(self.path.iterdir())

    # ------------------------------------------------------------------ run.yaml
    def read_config(self) -> dict:
        if not self.path.is_dir():
            raise E.LoadError(f"{self.path}: no such run folder")
        if not self.exists():
            raise E.LoadError(f"{self.path}: not a run folder (no run.yaml); train or import a model into it first")
        data = read_yaml(self.config_path)
        v = data.get("schema_version")
        if not isinstance(v, int) or v > RUN_SCHEMA:
            raise E.LoadError(f"{self.config_path}: schema_version {short(v)} is not supported (this version reads {RUN_SCHEMA})")
        for key in ("architecture", "tokenizer"):
            if key not in data:
                raise E.LoadError(f"{self.config_path}: missing '{key}'")
        from studio.core.files.file_schemas import RUN, check
        return check(data, RUN, str(self.config_path))

    def write_config(self, data: dict) -> None:
        data = {"schema_version": RUN_SCHEMA, "kind": "run", **data}
        atomic_write_text(self.config_path, yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100))

    def architecture(self):
        cfg = self.read_config()
        arch = architecture_from_data(cfg["architecture"], str(self.config_path))
        from studio.core.model.bounds import scale_problems
        sc = cfg.get("scale", "classroom")
        if sc in arch.scales:  # the trained scale is built, whatever its name: the built bounds apply
            probs = scale_problems({"classroom": arch.scales[sc]}, arch.regions)
            if probs:
                path, msg = probs[0]
                raise E.LoadError(f"{self.config_path}: architecture.{path.replace('classroom', sc, 1)}: {msg}")
        return arch

    def scale(self) -> str:
        return self.read_config().get("scale", "classroom")

    def tokenizer(self):
        from studio.core.tokenizers import load_tokenizer
        return load_tokenizer(self.tokenizer_dir, self.read_config()["tokenizer"])

    # ------------------------------------------------------------------ checkpoints
    def checkpoint_path(self, step: int | None = None) -> Path:
        return self.checkpoint_dir / ("latest.pt" if step is None else f"step-{step:06d}.pt")

    def save_checkpoint(self, payload: dict, step: int, keep_step_file: bool = True) -> Path:
        """step-NNNNNN.pt then latest.pt, each atomic; the payload carries a checksum of every
        tensor so that a bit flip is found on load instead of loading silently."""
        import torch
        from studio.core.runs.checkpoints import payload_digest
        body = {"schema_version": RUN_SCHEMA, "step": int(step), **payload}
        body["checksum"] = payload_digest(body)
        self.own_folder(self.checkpoint_dir)
        buf = io.BytesIO()
        torch.save(body, buf)
        data = buf.getvalue()
        if keep_step_file:
            atomic_write_bytes(self.checkpoint_path(step), data)
        atomic_write_bytes(self.checkpoint_path(None), data)
        return self.checkpoint_path(None)

    def load_checkpoint(self, step: int | None = None, map_location="cpu", expect: dict | None = None) -> dict:
        """One checkpoint, fully checked (readable, checksum, step; with ``expect``, the model's own
        state dict, its shapes before any data is read). Without ``step``: latest.pt, or, when it is
        missing or damaged (a kill between the two writes, a bit flip), the newest complete step file."""
        from studio.core.runs.checkpoints import read_checkpoint
        if step is not None:
            return read_checkpoint(self.checkpoint_path(step), map_location, expect)
        first_error = None
        for p in self.checkpoint_candidates():
            try:
                return read_checkpoint(p, map_location, expect)
            except E.LoadError as exc:
                first_error = first_error or exc
        if first_error is not None:
            raise first_error
        raise E.LoadError(f"{self.checkpoint_path(None)}: no checkpoint; train the run first")

    def checkpoint_candidates(self) -> list[Path]:
        """latest.pt, then step files newest first (the order resume tries them)."""
        d = self.checkpoint_dir
        try:
            steps = sorted((p for p in d.glob("step-*.pt") if p.is_file()), key=lambda p: p.name, reverse=True)
        except OSError:
            steps = []
        latest = self.checkpoint_path(None)
        return ([latest] if latest.is_file() else []) + steps

    def has_checkpoint(self) -> bool:
        return bool(self.checkpoint_candidates())

    def build_model(self, step: int | None = None, map_location="cpu"):
        """The run's GraphModel with the checkpoint's weights loaded (eval mode)."""
        from studio.core.model.compiler import compile_architecture
        arch = self.architecture()
        from studio.core.runs.weights import load_weights
        model = compile_architecture(arch, self.scale())
        ck = self.load_checkpoint(step, map_location, expect=model.state_dict())
        load_weights(model, ck["model"], f"{self.checkpoint_dir} (weights for run.yaml's architecture)")
        return model.eval()

    def initialize(self, arch, model_spec: str, tokenizer, training: dict | None = None,
                   data: dict | None = None, scale: str = "classroom") -> None:
        """Create run.yaml and tokenizer/ for a new run of ``arch`` (its ``scale`` dims as trained)."""
        from studio.core.files.yamlio import architecture_to_data
        self.path.mkdir(parents=True, exist_ok=True)
        self.tokenizer_dir.mkdir(exist_ok=True)
        self.own_folder(self.tokenizer_dir)
        desc = tokenizer.save(self.tokenizer_dir)
        self.write_config({"model": model_spec, "scale": scale, "architecture": architecture_to_data(arch),
                           "training": training or {}, "data": data or {}, "tokenizer": desc})

    # ------------------------------------------------------------------ metrics
    def append_metrics(self, record: dict) -> None:
        """One line appended; a metrics.jsonl that is a symlink is refused, never followed (the
        line would land in the file it leads to, outside the run)."""
        import os
        self.path.mkdir(parents=True, exist_ok=True)
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
        try:
            fd = os.open(self.metrics_path, flags | getattr(os, "O_NONBLOCK", 0), 0o666)
        except OSError as exc:
            why = "it is a symbolic link; remove it" if self.metrics_path.is_symlink() else (exc.strerror or str(exc))
            raise E.StudioError(f"{self.metrics_path}: cannot append the metrics ({why})") from None
        with os.fdopen(fd, "a", encoding="utf-8") as fh:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise E.StudioError(f"{self.metrics_path}: is not a regular file; remove it")
            fh.write(json.dumps(record) + "\n")

    def own_folder(self, folder: Path) -> Path:
        """``folder`` (one inside the run folder) when it is a real folder, not a symlink that
        would make the run write its files somewhere else."""
        if folder.is_symlink():
            raise E.StudioError(f"{folder}: is a symbolic link; a run writes only into its own folders (remove the link)")
        return folder

    def metrics(self) -> list[dict]:
        """The typed records, decimated to a few thousand per kind (the newest of each kind always
        in): studio.core.runs.metrics; a damaged or wrong-typed line is skipped, a metrics.jsonl
        that is not a regular file reads as no metrics."""
        return self.read_metrics().curve

    def read_metrics(self, points: int = 4096):
        """studio.core.runs.metrics.Metrics of this run: last records, counts, decimated curve."""
        from studio.core.runs.metrics import read_metrics
        return read_metrics(self.metrics_path, points)

    def truncate_metrics(self, step: int) -> None:
        """Keep only records up to ``step`` (resume replays the steps after its checkpoint, which
        would otherwise be logged twice and plot as zig-zags)."""
        from studio.core.runs.metrics import truncate_metrics
        truncate_metrics(self.metrics_path, step)

    def lock(self):
        """An exclusive lock on this run folder for a training process (see checkpoints.RunLock)."""
        from studio.core.runs.checkpoints import RunLock
        return RunLock(self.path)
