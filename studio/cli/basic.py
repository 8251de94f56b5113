"""presets, info, validate: pure Python, no torch, no Qt (fast cold start)."""
from __future__ import annotations

import sys

from studio.cli.output import print_json


def cmd_presets(args) -> int:
    from studio.core.presets import preset_infos
    infos = preset_infos()
    if args.json:
        print_json([{"id": i.id, "date": i.date, "title": i.title, "group": i.group, "org": i.org} for i in infos])
        return 0
    group = None
    for i in infos:
        if i.group != group:
            group = i.group
            print("Milestones" if group == "milestone" else "\nBuild your own (recipes)")
        print(f"  {i.date or '':8} {i.id:32} {i.title}")
    return 0


def _default_scale(arch, scale):
    if scale:
        return scale
    return "paper" if "paper" in arch.scales else next(iter(arch.scales))


def cmd_info(args) -> int:
    from studio.core.accounting import human_bytes, humanize
    from studio.core.info import model_info
    from studio.core.presets import load_model
    arch = load_model(args.model)
    scale = _default_scale(arch, args.scale)
    info = model_info(arch, scale)
    if args.json:
        from studio.core.info import node_configs
        info["nodes"] = node_configs(arch, scale)  # every block's resolved settings (per layer where they differ)
        print_json(info)
        return 0
    prov = info["provenance"]
    print(f"{info['title']} ({info['date']}) — {info['scale']} scale")
    rows = [("parameters (total)", humanize(info["params_total"]), info["params_total"], "params_total"),
            ("parameters (active / token)", humanize(info["params_active"]), info["params_active"], "params_active"),
            ("embedding parameters", humanize(info["params_embedding"]), info["params_embedding"], "params_embedding"),
            ("MTP module parameters", humanize(info["params_mtp"]), info["params_mtp"], "params_mtp"),
            ("KV cache per token (bf16)", human_bytes(info["kv_cache_bytes_per_token"]), info["kv_cache_bytes_per_token"], "kv_cache_bytes_per_token"),
            (f"forward FLOPs per token @ {info['context']}", humanize(info["flops_per_token"]), info["flops_per_token"], "flops_per_token")]
    for label, human, exact, key in rows:
        exact_s = f"{exact:,}" if isinstance(exact, int) else "—"
        print(f"  {label:34} {human:>12}  ({exact_s}; {prov.get(key, 'computed')})")
    if info["published"]:
        pub = ", ".join(f"{k} {humanize(v) if isinstance(v, (int, float)) or v is None else v}"
                        for k, v in info["published"].items() if k not in ("source", "note"))
        print(f"  published: {pub} — {info['published'].get('source', '')}")
        if info["published"].get("note"):
            print(f"  note: {info['published']['note']}")
    for key, text in (info.get("notes") or {}).items():  # gap / seed / reported notes of a preset
        print(f"  {key.replace('_', ' ')}: {' '.join(str(text).split())}")
    return 0


def cmd_validate(args) -> int:
    from studio.core.presets import load_model
    from studio.core.validate import validate
    arch = load_model(args.model)
    issues = validate(arch, args.scale)
    for i in issues:
        print(f"{i.node}: {i.message}" + (" (warning)" if i.severity == "warning" else ""))
    errors = [i for i in issues if i.severity == "error"]
    if not issues:
        print(f"{arch.id}: no issues")
    return 1 if errors else 0
