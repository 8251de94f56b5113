"""A Hugging Face config.json → an Architecture: the family's milestone graph at the config's
numbers (the paper scale, accounted exactly) and a classroom scale that trains on a laptop.

The classroom scale follows the usual rule of the presets: the family milestone's own
classroom dims (width, depth, heads, vocabulary, context, MLA ranks, expert width), keeping
what makes this config what it is — its grouped-query ratio, tied or untied head, QK-norm,
biases, sliding window (capped at half the context), and as many experts, routed and shared,
and leading dense layers as the classroom model has room for.
"""
from __future__ import annotations

import copy
import json
from pathlib import Path

from studio.core import errors as E
from studio.core.formats.hf_config.families import BASE_PRESET, Settings, read_settings

MAX_BYTES = 1 << 20  # DeepSeek-V3's config.json is 1.7 kB


def find_config(spec) -> Path | None:
    """The config.json a MODEL argument names (a file called config.json, another .json file that
    states a model_type, or a folder holding a config.json and no run), else None: an architecture
    written as JSON (which is YAML too) still loads as one."""
    p = Path(spec)
    if p.is_dir():
        return p / "config.json" if (p / "config.json").is_file() and not (p / "run.yaml").exists() else None
    if p.suffix != ".json" or not p.is_file():
        return None
    return p if p.name == "config.json" or _states_model_type(p) else None


def _states_model_type(p: Path) -> bool:
    try:
        data = json.loads(p.read_bytes()[:MAX_BYTES].decode("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return False
    return isinstance(data, dict) and "model_type" in data and "nodes" not in data


def load_hf_config(path) -> object:
    """The Architecture for a config.json (LoadError naming the key when it cannot be built)."""
    p = Path(path)
    try:
        raw = p.read_bytes()[: MAX_BYTES + 1]
    except OSError as exc:
        raise E.LoadError(f"{p}: cannot read ({exc.strerror or exc})") from None
    if len(raw) > MAX_BYTES:
        raise E.LoadError(f"{p}: larger than {MAX_BYTES:,} bytes; a model config.json is a few kB")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise E.LoadError(f"{p}: not a JSON config ({str(exc).splitlines()[0][:80]})") from None
    if not isinstance(data, dict):
        raise E.LoadError(f"{p}: a config.json holds one JSON object, not a {type(data).__name__}")
    if isinstance(data.get("text_config"), dict) and "model_type" not in data.get("text_config", {}):
        raise E.LoadError(f"{p}: a multimodal config; pass the text model's own config.json")
    return architecture_from_settings(read_settings(data, str(p)), p, data)


def architecture_from_settings(s: Settings, path: Path, data: dict):
    from studio.core.files.presets import resolved_data
    from studio.core.files.yamlio import architecture_from_data
    base = copy.deepcopy(resolved_data(BASE_PRESET[s.family]))  # a cached mapping: never edit it in place
    nodes = base["nodes"]
    paper = {k: v for k, v in s.paper.items() if v is not None}
    base["scales"] = {"paper": paper, "classroom": classroom_dims(paper, base["scales"]["classroom"])}
    _set(nodes, "attention", s.attention)
    _set(nodes, "feed_forward", s.ffn)
    for norm in ("attention_norm", "ffn_norm", "norm"):
        _set(nodes, norm, {"eps": s.eps})
    from blocks.registry import get_spec
    if get_spec(nodes["attention"]["kind"]).geometry == "latent":  # MLA's own latent norms
        _set(nodes, "attention", {"eps": s.eps})
    _set(nodes, "rope", {"theta": s.theta})
    output = nodes["output"].setdefault("config", {})
    if s.tied:
        output["tie_to"] = "tok_embeddings"
    else:
        output.pop("tie_to", None)
    if not s.mtp and "mtp" in nodes:
        del nodes["mtp"]
        base["edges"] = [e for e in base["edges"] if "mtp" not in str(e)]
    name = path.parent.name if path.name == "config.json" else path.stem
    base["id"] = f"hf-{name}"
    base["meta"] = _meta(s, path, name, data)
    base["training"] = {}
    base.pop("extends", None)
    return architecture_from_data(base, str(path))


def _set(nodes: dict, nid: str, values: dict) -> None:
    if values:
        nodes[nid].setdefault("config", {}).update(values)


def classroom_dims(paper: dict, base: dict) -> dict:
    """The family milestone's classroom dims, with this config's ratios and choices kept."""
    c = dict(base)
    nh = c.get("n_heads") or 1
    if paper.get("n_kv_heads"):
        want = max(1, round(nh * paper["n_kv_heads"] / paper["n_heads"]))
        c["n_kv_heads"] = max(k for k in range(1, nh + 1) if nh % k == 0 and k <= want)
    if "local_window" in paper:
        c["local_window"] = min(paper["local_window"], c["context"] // 2)
    for key in ("n_experts", "top_k", "n_shared"):
        if key in paper and key in c and paper[key] is not None:
            c[key] = min(paper[key], c[key]) if paper[key] else 0
    if paper.get("n_shared") and "n_shared" not in c:  # a family milestone without shared experts
        c["n_shared"] = 1
    if "top_k" in c and "n_experts" in c:
        c["top_k"] = min(c["top_k"], c["n_experts"])
    if "first_k_dense" in paper:
        c["first_k_dense"] = min(paper["first_k_dense"], max(1, c.get("first_k_dense") or 1), c["n_layers"] - 1)
    if "q_lora_rank" not in paper:
        c.pop("q_lora_rank", None)
    c.pop("head_dim", None)
    return c


def _meta(s: Settings, path: Path, name: str, data: dict) -> dict:
    named = data.get("architectures")  # informative only: a damaged list names the family instead
    arch = named[0] if isinstance(named, list) and named and isinstance(named[0], str) else s.family
    src = f"{path} (model_type {s.family}, {arch})"
    notes = "; ".join(s.notes)
    meta = {"title": f"{name} (config.json)", "org": "Hugging Face config.json", "date": "",
            "short": f"{arch} built from its config.json as this block library's {s.family} graph",
            "config_source": src, "disclosure": "disclosed", "imported_from": str(path),
            "family_member": f"{name}: the numbers of its config.json", "builds_on": BASE_PRESET[s.family]}
    if notes:
        meta["gap_note"] = notes
    from studio.core.model.provenance import COMPUTED_FIGURES
    meta["provenance"] = {k: "computed-from-config" for k in COMPUTED_FIGURES}  # source: config_source
    return meta
