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
from pathlib import Path

import yaml

from studio.core import errors as E
from studio.core.yamlio import architecture_from_data, atomic_write_bytes, atomic_write_text, read_yaml

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
            raise E.LoadError(f"{self.config_path}: schema_version {v!r} is not supported (this version reads {RUN_SCHEMA})")
        for key in ("architecture", "tokenizer"):
            if key not in data:
                raise E.LoadError(f"{self.config_path}: missing '{key}'")
        return data

    def write_config(self, data: dict) -> None:
        data = {"schema_version": RUN_SCHEMA, "kind": "run", **data}
        atomic_write_text(self.config_path, yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100))

    def architecture(self):
        cfg = self.read_config()
        return architecture_from_data(cfg["architecture"], str(self.config_path))

    def scale(self) -> str:
        return self.read_config().get("scale", "classroom")

    def tokenizer(self):
        from studio.core.tokenizers import load_tokenizer
        return load_tokenizer(self.tokenizer_dir, self.read_config()["tokenizer"])

    # ------------------------------------------------------------------ checkpoints
    def checkpoint_path(self, step: int | None = None) -> Path:
        return self.checkpoint_dir / ("latest.pt" if step is None else f"step-{step:06d}.pt")

    def save_checkpoint(self, payload: dict, step: int, keep_step_file: bool = True) -> Path:
        import torch
        buf = io.BytesIO()
        torch.save({"schema_version": RUN_SCHEMA, "step": int(step), **payload}, buf)
        data = buf.getvalue()
        if keep_step_file:
            atomic_write_bytes(self.checkpoint_path(step), data)
        atomic_write_bytes(self.checkpoint_path(None), data)
        return self.checkpoint_path(None)

    def load_checkpoint(self, step: int | None = None, map_location="cpu") -> dict:
        import pickle
        import zipfile

        import torch
        p = self.checkpoint_path(step)
        if not p.is_file():
            raise E.LoadError(f"{p}: no checkpoint; train the run first")
        try:
            ck = torch.load(p, map_location=map_location, weights_only=True)
        except (RuntimeError, EOFError, zipfile.BadZipFile, pickle.UnpicklingError, ValueError, OSError) as exc:
            msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise E.LoadError(f"{p}: unreadable or truncated checkpoint ({msg[:120]})") from None
        if not isinstance(ck, dict) or "model" not in ck:
            raise E.LoadError(f"{p}: not an archstudio checkpoint (no 'model' weights)")
        return ck

    def has_checkpoint(self) -> bool:
        return self.checkpoint_path(None).is_file()

    def build_model(self, step: int | None = None, map_location="cpu"):
        """The run's GraphModel with the checkpoint's weights loaded (eval mode)."""
        from studio.core.compiler import compile_architecture
        arch = self.architecture()
        model = compile_architecture(arch, self.scale())
        ck = self.load_checkpoint(step, map_location)
        missing, unexpected = model.load_state_dict(ck["model"], strict=False)
        missing = [k for k in missing if not k.endswith(("cos", "sin", "pe"))]
        if missing or unexpected:
            first = (missing or unexpected)[0]
            raise E.LoadError(f"{self.checkpoint_path(step)}: weights do not fit the run's architecture "
                              f"({len(missing)} missing, {len(unexpected)} unexpected, e.g. {first})")
        return model.eval()

    def initialize(self, arch, model_spec: str, tokenizer, training: dict | None = None,
                   data: dict | None = None, scale: str = "classroom") -> None:
        """Create run.yaml and tokenizer/ for a new run of ``arch`` (its ``scale`` dims as trained)."""
        from studio.core.yamlio import architecture_to_data
        self.path.mkdir(parents=True, exist_ok=True)
        self.tokenizer_dir.mkdir(exist_ok=True)
        desc = tokenizer.save(self.tokenizer_dir)
        self.write_config({"model": model_spec, "scale": scale, "architecture": architecture_to_data(arch),
                           "training": training or {}, "data": data or {}, "tokenizer": desc})

    # ------------------------------------------------------------------ metrics
    def append_metrics(self, record: dict) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        with open(self.metrics_path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")

    def metrics(self) -> list[dict]:
        if not self.metrics_path.is_file():
            return []
        out = []
        for line in self.metrics_path.read_text(encoding="utf-8").splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # a line cut by a crash: skip it, keep the rest
        return out
