"""MODEL as every command and File → Open take it: a preset id, an architecture YAML, a project
file, a run folder (the architecture it trained) or a Hugging Face config.json (or the folder
holding one). One dispatcher over the file formats, each parsed by its own module."""
from __future__ import annotations

from pathlib import Path

from studio.core import errors as E
from studio.core.files.presets import apply_extends, is_preset, load_preset
from studio.core.files.file_schemas import check_architecture
from studio.core.files.yamlio import architecture_from_data, read_yaml


def load_model(spec: str):
    """MODEL as the CLI accepts it: a preset id (or a milestone the user added), an architecture YAML file or a project file
    (and, for convenience, a run folder or its run.yaml: the architecture that run trained)."""
    if is_preset(spec):
        return load_preset(spec)
    p = Path(spec)
    if not p.exists():
        from studio.core.files.user_milestones import find
        arch = find(spec)  # a milestone the user added to the timeline
        if arch is not None:
            return arch
        raise E.LoadError(f"{spec}: neither a preset id nor an existing file; run 'archstudio presets' for ids")
    from studio.core.formats.hf_config.build import find_config, load_hf_config
    if find_config(p) is not None:  # a Hugging Face config.json (or a folder holding one)
        return load_hf_config(find_config(p))
    if p.is_dir() or p.name == "run.yaml":
        from studio.core.runs.rundir import RunDir
        return RunDir(p if p.is_dir() else p.parent).architecture()
    data = read_yaml(p)
    if data.get("kind") == "project" or "architecture" in data:
        from studio.core.files.project import load_project
        return load_project(p).architecture
    if data.get("extends"):
        data = check_architecture(data, str(p), partial=True)  # types first: graph_ops: 1.5 is one line
        base = apply_extends(data, str(p))
        base.pop("extends", None)
        return architecture_from_data(base, str(p))
    return architecture_from_data(data, str(p))
