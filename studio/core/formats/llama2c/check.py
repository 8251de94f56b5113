"""Can this architecture run in llama2.c? Every reason it cannot, each naming its block and the fix.

run.c hard-codes one network (LLAMA2C-FORMAT.md §5): token embedding (unscaled) → L × [x +=
attention(rmsnorm(x)) with interleaved RoPE θ 10000 and GQA; x += SwiGLU(rmsnorm(x))] →
rmsnorm → classifier, RMSNorm eps 1e-5, no biases. The check matches the graph's topology to
that network, which also tells the exporter which block plays which llama2.c role when the
block ids differ from llama2.c's names.
"""
from __future__ import annotations

from dataclasses import dataclass

from blocks.registry import get_spec
from studio.core import errors as E
from studio.core.model.resolve import resolve
from studio.core.model.validate import Issue, errors_only, validate

ROLES = ("tokens", "tok_embeddings", "rope", "attention_norm", "attention", "add_attn", "ffn_norm",
         "feed_forward", "add_ffn", "norm", "output")

# Which block can fill which run.c role, and why the others cannot, are registry traits
# (BlockSpec.llama2c / llama2c_fix): a new block kind needs no change here.


@dataclass
class Match:
    """Which block plays each llama2.c role (ids of the graph) and the dims of the header."""
    ids: dict[str, str]
    dims: dict
    tied: bool

    def key_of(self, name: str) -> str:
        """llama2.c tensor name → this graph's state-dict key."""
        parts = name.split(".")
        if parts[0] == "layers":
            return ".".join(["layers", parts[1], self.ids[parts[2]]] + parts[3:])
        if parts[0] == "output" and self.tied:
            return f"{self.ids['tok_embeddings']}.weight"
        return ".".join([self.ids[parts[0]]] + parts[1:])


def _layers_text(layers, n):
    return "" if len(layers) == n else " (layer" + ("s " if len(layers) > 1 else " ") + ", ".join(map(str, layers)) + ")"


def check_llama2c(arch, scale: str = "classroom", tokenizer=None) -> list[Issue]:
    """Every reason the architecture (at ``scale``) cannot be exported to llama2.c; [] when it can."""
    return _check(arch, scale, tokenizer)[0]


def match_llama2c(arch, scale: str = "classroom", tokenizer=None) -> Match:
    """The role mapping for export; raises StudioError listing every reason when incompatible."""
    issues, m = _check(arch, scale, tokenizer)
    if issues:
        raise E.StudioError("not exportable to llama2.c: " + "; ".join(map(str, issues)))
    return m


def _check(arch, scale, tokenizer):
    issues: list[Issue] = []

    def add(node, msg):
        if not any(i.node == node and i.message == msg for i in issues):
            issues.append(Issue(node, msg))

    errs = errors_only(validate(arch, scale))
    if errs:  # a graph that does not build has no llama2.c form to speak of
        return [Issue(i.node, f"{i.message} (fix the model first)") for i in errs], None
    g = arch.graph
    res = resolve(arch, scale).require()
    dims = dict(res.dims)
    n_layers = arch.repeat("layer", scale)
    # ---------------------------------------------------------------- each block's kind and settings
    per_node: dict[str, list] = {}
    encoder = [nid for nid, node in g.nodes.items() if node.region == "encoder"]
    if encoder:
        add("encoder", f"llama2.c is decoder-only: delete the encoder blocks ({', '.join(encoder)})")
    for nid, node in g.nodes.items():
        if node.region == "encoder":
            continue
        variants = [(v.layer, v.kind, v.config) for v in res.node(nid).layers]
        per_node[nid] = variants
        by_msg: dict[str, list[int]] = {}
        for layer, kind, cfg in variants:
            for msg in _config_problems(kind, cfg, dims):
                by_msg.setdefault(msg, []).append(layer)
        for msg, layers in by_msg.items():
            add(nid, msg + (_layers_text(layers, len(variants)) if node.region == "layer" else ""))
        for field in ("dim", "hidden_dim", "n_heads", "kv_heads"):
            values = {getattr(c, field) for _, _, c in variants if hasattr(c, field)}
            if len(values) > 1:
                add(nid, f"{field} differs between layers ({', '.join(map(str, sorted(values)))}); "
                         f"llama2.c's header has one {field.replace('kv_heads', 'n_kv_heads')} for all layers")
    # ---------------------------------------------------------------- topology
    ids, structural = _match_topology(arch)
    for node, msg in structural:
        add(node, msg)
    m = None
    if not structural and not issues:
        emb = res.node(ids["tok_embeddings"]).config
        attn = per_node[ids["attention"]][0][2]
        ffn = per_node[ids["feed_forward"]][0][2]
        head = res.node(ids["output"]).config
        if head.vocab_size != emb.vocab_size:
            add(ids["output"], f"vocab_size {head.vocab_size} differs from the embedding's {emb.vocab_size}")
        m = Match(ids, {"dim": emb.dim, "hidden_dim": ffn.hidden_dim, "n_layers": n_layers, "n_heads": attn.n_heads,
                        "n_kv_heads": attn.kv_heads, "vocab_size": emb.vocab_size,
                        "seq_len": int(dims.get("context") or res.node(ids["rope"]).config.context)},
                  head.tie_to == ids["tok_embeddings"])
    # ---------------------------------------------------------------- tokenizer.bin layout
    if tokenizer is not None:
        from studio.core.tokenizers.llama2c_bin import layout_problems
        try:
            from studio.core.tokenizers import llama2c_tokenizer_bytes
            from studio.core.tokenizers.llama2c_bin import Llama2cTokenizer, parse_tokenizer_bin
            if isinstance(tokenizer, Llama2cTokenizer):  # already parsed and validated from its file
                pieces = tokenizer.pieces
            else:  # judge exactly the bytes the exporter would write
                pieces = parse_tokenizer_bin(llama2c_tokenizer_bytes(tokenizer), "tokenizer")[2]
            for msg in layout_problems(pieces):
                add("tokenizer", msg)
        except E.StudioError as exc:
            add("tokenizer", str(exc))
        want = m.dims["vocab_size"] if m else dims.get("vocab_size")
        if want and tokenizer.vocab_size != want:
            add("tokenizer", f"{tokenizer.vocab_size} tokens but the model's vocab_size is {want}; "
                             "tokenizer.bin must hold exactly vocab_size entries")
    return issues, (m if not issues else None)


def _config_problems(kind, cfg, dims) -> list[str]:
    spec = get_spec(kind)
    if not spec.llama2c:
        return [spec.llama2c_problem(cfg)]
    role = spec.llama2c
    out = []
    if getattr(cfg, "bias", False) or getattr(cfg, "qkv_bias", False):
        out.append("has biases: llama2.c has none; turn bias off")
    if role == "norm" and abs(cfg.eps - 1e-5) > 1e-12:
        out.append(f"eps {cfg.eps:g}: run.c hard-codes 1e-5; set eps to 1e-5")
    if role == "tok_embeddings" and cfg.scale:
        out.append("scales embeddings by √dim: run.c does not; turn scale off")
    if role == "rope" and cfg.theta != 10000.0:
        out.append(f"θ {cfg.theta:g}: run.c hard-codes RoPE θ 10000; set theta to 10000")
    for setting, what in (("yarn_factor", "YaRN"), ("llama3_factor", "Llama 3 frequency scaling")):
        if role == "rope" and getattr(cfg, setting) > 1:  # run.c rotates by θ alone: the scaling would be lost
            out.append(f"{what} ×{getattr(cfg, setting):g}: run.c has plain RoPE; set {setting} to 0")
    if role == "attention":
        if cfg.head_dim and cfg.head_dim * cfg.n_heads != cfg.dim:
            out.append(f"head_dim {cfg.head_dim} × n_heads {cfg.n_heads} ≠ dim {cfg.dim}: run.c needs head_dim = dim / n_heads; "
                       "set head_dim to 0")
        if cfg.qk_norm:
            out.append("QK-norm: run.c does not normalize queries and keys; turn qk_norm off")
        if cfg.window:
            out.append(f"sliding window {cfg.window}: run.c attends to the whole context; set window to 0")
        if not cfg.causal:
            out.append("not causal: run.c generates left to right; turn causal on")
    if role == "output":
        if cfg.softcap:
            out.append(f"logit soft-capping {cfg.softcap:g}: run.c has none; set softcap to 0")
        if cfg.pad_vocab_to:
            out.append(f"padded to a multiple of {cfg.pad_vocab_to}: run.c's classifier has exactly vocab_size rows; set pad_vocab_to to 0")
    return out


def match_decoder_roles(arch, target: str) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """The pre-norm decoder's roles for any exporter that reads this network shape (Hugging Face,
    GGUF): (role → node id, [(node, problem)]), each problem worded for ``target``."""
    ids, problems = _match_topology(arch)
    return ids, [(n, m.replace(" (θ 10000)", "").replace("llama2.c", target).replace("run.c", target))
                 for n, m in problems]


def _match_topology(arch):
    """Find each llama2.c role by following the wires; (ids, [(node, problem)])."""
    g = arch.graph
    kinds = {nid: n.kind for nid, n in g.nodes.items()}
    specs = {nid: n.spec for nid, n in g.nodes.items()}

    def role(nid):  # the run.c role a block can fill ("" = none)
        return specs[nid].llama2c

    problems: list[tuple[str, str]] = []
    ids: dict[str, str] = {}
    inputs = [n for n in kinds if specs[n].has("input")]
    if len(inputs) != 1:
        return ids, [("model", f"{len(inputs)} input blocks: llama2.c reads one token sequence (decoder-only)")]
    ids["tokens"] = inputs[0]
    outs = g.out_edges(inputs[0])
    if len(outs) != 1 or role(outs[0].dst) != "tok_embeddings":
        return ids, [(inputs[0], "must feed exactly one token embedding, as llama2.c does")]
    ids["tok_embeddings"] = outs[0].dst
    ropes = [n for n in kinds if specs[n].has("rotary")]
    if len(ropes) != 1:
        problems.append(("model", "llama2.c rotates q and k with RoPE (θ 10000): add one RoPE block wired to attention"
                         if not ropes else f"{len(ropes)} RoPE blocks: llama2.c has one"))
    else:
        ids["rope"] = ropes[0]
    layer = [n for n in g.nodes.values() if n.region == "layer"]
    if not layer:
        return ids, [("model", "no repeated layer region: llama2.c runs n_layers identical blocks")]
    from studio.core.model.plan import build_plan
    rp = build_plan(arch).regions["layer"]
    if rp.entry is None or rp.entry[0] != ids["tok_embeddings"]:
        between = f" ({rp.entry[0]} sits in between)" if rp.entry else ""
        problems.append((ids["tok_embeddings"], f"the layers must read the embedding directly{between}: llama2.c "
                         "feeds the embedding straight into the first layer"))
    reported = {k for n, k in kinds.items() if not role(n)}  # already named by their kind's own message
    stray = [n for n, k in kinds.items() if g.node(n).region == "stem" and n not in ids.values() and k not in reported]
    for n in stray:
        problems.append((n, f"a {kinds[n]} in the stem has no llama2.c counterpart; delete it"))
    # the pre-norm sandwich: x -> norm -> mixer -> add.y ; x -> add.x  (twice)
    stream_src = [t for t in rp.entry_targets]

    def sublayer(targets, norm_role, mix_role, add_role, want_mix, label):
        tnodes = {d: p for d, p in targets}
        adds = [d for d, p in tnodes.items() if specs[d].has("residual") and p == "x"]
        others = [d for d in tnodes if d not in adds]
        if len(adds) != 1 or len(others) != 1:
            problems.append(("layer", f"the {label} sublayer is not pre-norm x + {label}(rmsnorm(x)) as in llama2.c"))
            return None
        add_id, norm_id = adds[0], others[0]
        if not specs[norm_id].has("norm"):
            problems.append((norm_id, "receives the residual stream directly (no norm before it): llama2.c normalizes "
                                      "before each sublayer (pre-norm); put an RMSNorm in front of it"))
            return None
        mix = g.out_edges(norm_id)
        if len(mix) != 1 or specs[mix[0].dst].has("residual"):
            problems.append((norm_id, f"must feed exactly the {label} block (llama2.c's pre-norm wiring)"))
            return None
        mix_id = mix[0].dst
        back = g.out_edges(mix_id)
        if len(back) != 1 or back[0].dst != add_id or back[0].dst_port != "y":
            problems.append((mix_id, f"its output must go only into {add_id}.y (x + {label}(norm(x)))"))
            return None
        if not specs[mix_id].has(want_mix):
            problems.append((mix_id, f"a {kinds[mix_id]} where llama2.c has {label}"))
        ids[norm_role], ids[mix_role], ids[add_role] = norm_id, mix_id, add_id
        return add_id

    first = sublayer(stream_src, "attention_norm", "attention", "add_attn", "attention", "attention")
    if first:
        nxt = [(e.dst, e.dst_port) for e in g.out_edges(first)]
        second = sublayer(nxt, "ffn_norm", "feed_forward", "add_ffn", "ffn", "feed-forward")
        if second:
            if rp.exit is None or rp.exit[0] != second:
                problems.append((second, "must end the layer (llama2.c's layer is attention then feed-forward)"))
            extra = [n.id for n in layer if n.id not in ids.values() and n.kind not in reported]
            for n in extra:
                problems.append((n, f"a {kinds[n]} inside the layer has no llama2.c counterpart; delete it"))
            if rp.exit:
                after = [e for e in g.out_edges(rp.exit[0]) if g.node(e.dst).region != "layer"
                         and kinds[e.dst] not in reported]  # an MTP head also reads the last layer
                norm = after[0].dst if len(after) == 1 else None
                head = g.out_edges(norm) if norm else []
                if not norm or not specs[norm].has("norm") or len(head) != 1 or not specs[head[0].dst].has("lm_head"):
                    problems.append(("head", "llama2.c ends with rmsnorm → classifier; wire the last layer into one "
                                             "RMSNorm and that into the LM head"))
                else:
                    ids["norm"], ids["output"] = norm, head[0].dst
    if "attention" in ids and "rope" in ids and role(ids["attention"]) == "attention":
        if g.input_edge(ids["attention"], "rope") is None or g.input_edge(ids["attention"], "rope").src != ids["rope"]:
            problems.append((ids["attention"], f"its rope input must come from {ids['rope']}: run.c rotates q and k in every layer"))
    if "output" in ids:
        tie = str(arch.graph.node(ids["output"]).config.get("tie_to", ""))
        if tie and tie != ids["tok_embeddings"]:
            problems.append((ids["output"], f"tied to {tie}, not to the token embedding {ids['tok_embeddings']}"))
    heads_extra = [n for n, node in g.nodes.items() if node.region == "head" and n not in ids.values()
                   and node.kind not in reported and "output" in ids]
    for n in heads_extra:
        problems.append((n, f"a {kinds[n]} after the layers has no llama2.c counterpart; delete it"))
    return ids, problems
