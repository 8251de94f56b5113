"""presets, info, validate: pure Python, no torch, no Qt (fast cold start)."""
from __future__ import annotations


from studio.cli.output import print_json


def cmd_presets(args) -> int:
    from studio.core.files.presets import preset_infos
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
    from studio.core.model.info import model_info
    from studio.core.files.model_spec import load_model
    arch = load_model(args.model)
    scale = _default_scale(arch, args.scale)
    info = model_info(arch, scale)
    if args.json:
        from studio.core.model.info import node_configs
        info["nodes"] = node_configs(arch, scale)  # every block's resolved settings (per layer where they differ)
        print_json(info)
        return 0
    _print_info(info)
    return 0


def _print_info(info: dict) -> None:
    """Every figure with its provenance (and its source where a source states it), then the
    published figures, the notes and what the card lists (studio.core.model.provenance)."""
    from studio.core.model.accounting import human_bytes, humanize
    print(f"{info['title']} ({info['date']}) — {info['scale']} scale")
    if info["card"]["illustrative_graph"]:
        print("  ILLUSTRATIVE STAND-IN: the graph shows structure only; no figure is shown for it")
    figs = info["figures"]
    ctx = figs["context"]["value"]
    labels = {"params_total": "parameters (total)", "params_active": "parameters (active / token)",
              "params_embedding": "embedding parameters", "params_mtp": "MTP module parameters",
              "kv_cache_bytes_per_token": "KV cache per generated token (bf16)",
              "cross_kv_bytes_per_source_token": "cross-attn K/V per source token (bf16)",
              "flops_per_token": f"forward FLOPs per token @ {ctx if ctx is not None else '?'}",
              "context": "context (tokens)"}
    for key, label in labels.items():
        f = figs.get(key)
        if f is None:
            continue
        v = f["value"]
        human = (human_bytes(v) if "bytes" in key else f"{v:,}" if key == "context" else humanize(v)) \
            if v is not None else "undisclosed"
        exact_s = f"{v:,}" if isinstance(v, int) else "—"
        src = f" — {f['source']}" if f["provenance"] in ("published", "reported") and f["source"] else ""
        print(f"  {label:38} {human:>12}  ({exact_s}; {f['provenance']}{src})")
    pub = info.get("published_figures") or {}
    for key, f in pub.items():
        v = f["value"]
        shown = f"{humanize(v)} ({f['provenance']})" if isinstance(v, (int, float)) else f["provenance"] if v is None else str(v)
        print(f"  published {f['label'].lower()}: {shown} — {f['source']}")
    if info["published"].get("note"):
        print(f"  note: {info['published']['note']}")
    for key, text in (info.get("notes") or {}).items():  # gap / seed / reported notes of a preset
        print(f"  {key.replace('_', ' ')}: {' '.join(str(text).split())}")
    card = info["card"]
    for key, title in (("modelled", "modelled"), ("assumptions", "assumption"), ("illustrative", "illustrative or inferred"),
                       ("classroom_limits", "not visible at classroom scale")):
        for line in card[key]:
            print(f"  {title}: {line}")
    if card["citations"]:
        print("  builds on: " + "; ".join(f"{c['title']} <{c['link']}>" for c in card["citations"]))
    changes = card.get("changes") or {}
    if changes.get("items"):  # against the model it builds on (studio.core.model.lineage), headline first
        print(f"  what changed since {changes['since']}:")
        for item in changes["items"]:
            print(f"    {item['text']}")


def cmd_validate(args) -> int:
    from studio.core.files.model_spec import load_model
    from studio.core.model.validate import validate
    arch = load_model(args.model)
    issues = validate(arch, args.scale)
    for i in issues:
        print(f"{i.node}: {i.message}" + (" (warning)" if i.severity == "warning" else ""))
    errors = [i for i in issues if i.severity == "error"]
    if not issues:
        print(f"{arch.id}: no issues")
    return 1 if errors else 0
