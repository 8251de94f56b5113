"""Look inside a compiled model: attention maps per layer/head and MoE routing per layer (Qt-free).

``inspect_model`` runs one captured forward in eval mode and returns an :class:`Inspection` of
plain numpy arrays that any thread may hold. The model is left as it was: training flag, the
MoE load buffers and the capture flags are restored, so inspecting between training steps
never changes the run (DeepSeek-V3's balancing bias only moves in training mode).
``RoutingHistory`` (studio.core.inspect.routing_history) is the training-time
accumulator: the trainer calls ``record(step, model)`` after each step and the GUI reads
bounded ``snapshot()``s.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from blocks.registry import get_spec
from studio.core import errors as E
from studio.core.inspect.routing_history import load_cv

REGION_OF_ATTR = {"layers": "layer", "encoder_layers": "encoder"}


def _kind(module) -> str:
    from studio.core.model.compiler import get_spec_kind
    try:
        return get_spec_kind(module)
    except KeyError:
        return ""


def _where(name: str) -> tuple[str, int, str]:
    """Module path -> (region, layer index, node id): ``layers.3.attention`` -> (layer, 3, attention)."""
    parts = name.split(".")
    if len(parts) >= 3 and parts[0] in REGION_OF_ATTR and parts[1].isdigit():
        return REGION_OF_ATTR[parts[0]], int(parts[1]), parts[-1]
    return parts[0], 0, parts[-1]  # e.g. the MTP module's own block: mtp.block.attention


def row_entropy_bits(p: np.ndarray) -> np.ndarray:
    """Entropy (bits) of each row of p (..., N); 0·log 0 counts as 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(p > 0, p * np.log2(np.where(p > 0, p, 1.0)), 0.0)
    return -t.sum(-1)


@dataclass(frozen=True, eq=False)
class AttentionMap:
    name: str  # module path, e.g. layers.2.attention
    node: str  # graph node id
    region: str  # encoder | layer | (other: a block outside the repeated regions)
    layer: int
    kind: str  # the block kind (attention | cross_attention | mla | ...)
    weights: np.ndarray  # (H, Tq, Tk) float32, rows sum to 1
    causal: bool
    window: int  # 0 = full attention
    n_kv_heads: int  # distinct key/value heads (= H for MHA and MLA, 1 for MQA)
    groups: tuple  # per KV head: the query heads that read it
    entropy: np.ndarray  # (H,) mean row entropy, bits
    cache_elems: int  # what this layer caches per token (elements)
    mha_cache_elems: int  # what plain MHA with the same heads would cache per token
    latent_dim: int = 0  # MLA: kv_lora_rank (the compressed latent)
    rope_dim: int = 0  # MLA: the decoupled RoPE key cached next to the latent
    queries: str = "tokens"  # which sequence the rows are: tokens | source
    keys: str = "tokens"  # which sequence the columns are
    geometry: str = "grouped"  # registry geometry: grouped (MHA/GQA/MQA) | latent (MLA) | cross

    @property
    def n_heads(self) -> int:
        return int(self.weights.shape[0])

    @property
    def mean(self) -> np.ndarray:
        """Head-averaged map (Tq, Tk)."""
        return self.weights.mean(0)

    def allowed(self) -> np.ndarray:
        """(Tq, Tk) bool: which keys each query may see at all (the causal mask and the window)."""
        _, Tq, Tk = self.weights.shape
        q, k = np.arange(Tq)[:, None], np.arange(Tk)[None, :]
        keep = np.ones((Tq, Tk), dtype=bool)
        if self.causal:
            keep &= k <= q
        if self.window:
            keep &= k > q - self.window
        return keep

    @property
    def group_of(self) -> list[int]:
        """KV head index of each query head."""
        out = [0] * self.n_heads
        for g, heads in enumerate(self.groups):
            for h in heads:
                out[h] = g
        return out

    @property
    def label(self) -> str:
        pre = {"encoder": "enc ", "layer": ""}.get(self.region, self.region + " ")
        what = {"grouped": "self" if self.causal else "self (bidirectional)",
                "cross": "cross", "latent": "MLA", "compressed": "compressed"}.get(self.geometry, self.kind)
        if self.window:
            what += f", window {self.window}"
        return f"{pre}L{self.layer} {what}"

    @property
    def sharing(self) -> str:
        if self.geometry == "latent":
            return (f"MLA: caches {self.cache_elems} numbers per token ({self.latent_dim} latent + {self.rope_dim} RoPE key) "
                    f"where MHA would cache {self.mha_cache_elems}")
        if self.geometry == "compressed":
            return (f"all {self.n_heads} heads share one key that is also the value; the last {self.window} tokens "
                    f"are kept as they are (the map: each row's share of what it gives them), older ones only pooled: "
                    f"{self.cache_elems} numbers cached per token where MHA would cache {self.mha_cache_elems}")
        if self.geometry == "cross" or self.n_kv_heads == self.n_heads:
            return "MHA: every head has its own keys/values"
        if self.n_kv_heads == 1:
            return f"MQA: all {self.n_heads} heads share one key/value head"
        return (f"GQA: {self.n_heads} query heads in {self.n_kv_heads} groups of {self.n_heads // self.n_kv_heads}; "
                f"caches {self.cache_elems} numbers per token where MHA would cache {self.mha_cache_elems}")


@dataclass(frozen=True, eq=False)
class RoutingMap:
    name: str
    node: str
    region: str
    layer: int
    n_experts: int
    top_k: int
    n_shared: int  # shared experts: every token uses them (always on)
    score: str  # softmax | sigmoid
    top_i: np.ndarray  # (T, k) chosen experts per token
    top_w: np.ndarray  # (T, k) their gate weights (as the block applies them)
    scores: np.ndarray  # (T, E) router scores before top-k
    counts: np.ndarray  # (E,) tokens routed to each expert (the block's own buffer)
    expert_bias: np.ndarray  # (E,) auxiliary-loss-free selection bias (zeros when unused)
    bias_balancing: bool
    aux_weight: float

    @property
    def gate_matrix(self) -> np.ndarray:
        """(T, E): the gate weight of each chosen expert, 0 where the token did not choose it."""
        m = np.zeros((self.top_i.shape[0], self.n_experts), dtype=np.float32)
        np.put_along_axis(m, self.top_i, self.top_w, axis=1)
        return m

    @property
    def load(self) -> np.ndarray:
        tot = self.counts.sum()
        return self.counts / tot if tot else self.counts.astype(float)

    @property
    def cv(self) -> float:
        """Coefficient of variation of the expert load (0 = perfectly balanced)."""
        return load_cv(self.counts)

    @property
    def router_entropy(self) -> float:
        """Mean entropy (bits) of each token's normalised router scores; log2(E) = undecided."""
        p = self.scores / np.maximum(self.scores.sum(-1, keepdims=True), 1e-30)
        return float(row_entropy_bits(p).mean()) if len(p) else 0.0

    @property
    def collapsed(self) -> tuple:
        """Experts no token chose."""
        return tuple(int(e) for e in np.flatnonzero(self.counts == 0))

    @property
    def label(self) -> str:
        return f"{'enc ' if self.region == 'encoder' else ''}L{self.layer} {self.node}"


@dataclass(frozen=True, eq=False)
class Inspection:
    arch_id: str
    label: str  # where the weights came from: "untrained", "checkpoint step 200", ...
    token_ids: np.ndarray  # (T,)
    tokens: tuple  # display strings of token_ids
    source_tokens: tuple  # encoder input (encoder-decoder models), else ()
    attention: tuple = field(default_factory=tuple)  # AttentionMap per attention block, model order
    routing: tuple = field(default_factory=tuple)  # RoutingMap per MoE block

    def axis_tokens(self, amap: AttentionMap) -> tuple[tuple, tuple]:
        side = {"tokens": self.tokens, "source": self.source_tokens}
        return side[amap.queries], side[amap.keys]

    def layer_maps(self, region: str, layer: int) -> list[AttentionMap]:
        return [a for a in self.attention if a.region == region and a.layer == layer]


def _as_ids(tokens) -> np.ndarray:
    ids = np.asarray(tokens.detach().cpu() if hasattr(tokens, "detach") else tokens, dtype=np.int64)
    if ids.ndim == 2:
        if ids.shape[0] != 1:
            raise E.StudioError(f"inspection takes one sequence, got a batch of {ids.shape[0]}")
        ids = ids[0]
    if ids.ndim != 1 or ids.size == 0:
        raise E.StudioError("inspection needs at least one token")
    return ids


def _attention_map(name, module, kind, w, source_model: bool) -> AttentionMap:
    c = module.cfg
    region, layer, node = _where(name)
    H = int(w.shape[0])
    spec = get_spec(kind)
    geometry = spec.geometry or "grouped"
    if geometry == "latent":
        n_kv, cache = H, spec.kv_elems(c)
        mha = H * (c.qk_nope_head_dim + c.qk_rope_head_dim) + H * c.v_head_dim
        extra = {"latent_dim": c.kv_lora_rank, "rope_dim": c.qk_rope_head_dim}
        causal, window = c.causal, 0
    elif geometry == "compressed":  # DeepSeek-V4: one shared key = value head; the map is its window part
        n_kv, cache, mha = 1, spec.kv_elems(c), 2 * H * c.head_dim
        extra, causal, window = {}, True, c.sliding_window
    elif geometry == "cross":
        n_kv, hd = H, c.dim // c.n_heads
        cache = mha = 2 * H * hd
        extra, causal, window = {}, False, 0
    else:
        n_kv, hd = c.kv_heads, c.hd
        cache, mha = 2 * n_kv * hd, 2 * H * hd  # what the layer would keep per token (a decoder's cache)
        extra, causal, window = {}, c.causal, c.window
    group = H // n_kv
    groups = tuple(tuple(range(g * group, (g + 1) * group)) for g in range(n_kv))  # llama's repeat_kv order
    keys = "source" if source_model and (region == "encoder" or geometry == "cross") else "tokens"
    queries = "source" if source_model and region == "encoder" else "tokens"
    return AttentionMap(name=name, node=node, region=region, layer=layer, kind=kind, weights=w, causal=causal,
                        window=window, n_kv_heads=n_kv, groups=groups, entropy=row_entropy_bits(w).mean(-1),
                        cache_elems=cache, mha_cache_elems=mha, queries=queries, keys=keys, geometry=geometry, **extra)


def inspect_model(model, tokens, tokenizer, source=None, label: str = "") -> Inspection:
    """One captured forward of ``tokens`` (ids: list, (T,) or (1, T)); ``source`` feeds an
    encoder-decoder model's encoder (defaults to the tokens themselves, as the model does)."""
    import torch

    ids = _as_ids(tokens)
    src_ids = _as_ids(source) if source is not None else None
    limit = int(getattr(model, "context", len(ids)))
    if len(ids) > limit or (src_ids is not None and len(src_ids) > limit):
        raise E.StudioError(f"the prompt has {max(len(ids), len(src_ids) if src_ids is not None else 0)} tokens; "
                            f"this model sees at most {limit}: shorten it")
    mods = [(n, m, _kind(m)) for n, m in model.named_modules() if hasattr(m, "capture")]
    moes = [(n, m) for n, m, k in mods if k and get_spec(k).has("moe")]
    saved = [(m, m.tokens_per_expert.clone(), m.aux_loss, m.last_routing) for _, m in moes]
    router_in: dict[str, object] = {}
    def keep_input(n):  # the compiler calls blocks with keyword ports: MoE.forward(x=...)
        return lambda mod, args, kwargs, out: router_in.__setitem__(n, (args[0] if args else kwargs["x"]).detach())
    hooks = [m.register_forward_hook(keep_input(n), with_kwargs=True) for n, m in moes]
    was_training = model.training
    counts = {}
    try:
        for _, m, _ in mods:
            m.capture = True
            if hasattr(m, "last_weights"):
                m.last_weights = None
        for _, m in moes:  # blocks the forward skips (MTP's without targets) must not report stale routing
            m.last_routing = None
        model.eval()
        dev = next(model.parameters()).device
        x = torch.as_tensor(ids, device=dev)[None]
        src = torch.as_tensor(src_ids, device=dev)[None] if src_ids is not None else None
        with torch.no_grad():
            model(x, source=src)
            scores = {}
            for n, m in moes:
                if n not in router_in:
                    continue
                xf = router_in[n].reshape(-1, router_in[n].shape[-1])
                scores[n] = m.route(xf)[0].float().cpu().numpy()
                counts[n] = m.tokens_per_expert.cpu().numpy().astype(np.int64)
        attn = []
        source_model = "source" in getattr(model, "inputs", {}).values()
        for n, m, k in mods:
            if k and get_spec(k).has("attention") and m.last_weights is not None:
                w = m.last_weights[0].float().cpu().numpy()
                attn.append(_attention_map(n, m, k, w, source_model))
        routing = []
        for n, m in moes:
            if m.last_routing is None or n not in scores:
                continue
            c = m.cfg
            ti, tw = (t.cpu().numpy() for t in m.last_routing)
            region, layer, node = _where(n)
            routing.append(RoutingMap(
                name=n, node=node, region=region, layer=layer, n_experts=c.n_experts, top_k=c.top_k,
                n_shared=c.n_shared, score=c.score, top_i=ti.astype(np.int64), top_w=tw.astype(np.float32),
                scores=scores[n], counts=counts[n], expert_bias=m.expert_bias.float().cpu().numpy().copy(),
                bias_balancing=c.bias_balancing, aux_weight=c.aux_loss_weight))
    finally:
        for h in hooks:
            h.remove()
        for _, m, _ in mods:
            m.capture = False
            if hasattr(m, "last_weights"):
                m.last_weights = None
        for m, tpe, aux, lr in saved:
            m.tokens_per_expert, m.aux_loss, m.last_routing = tpe, aux, lr
        model.train(was_training)
    show = tokenizer.display_piece if tokenizer is not None else str
    toks = tuple(show(int(t)) for t in ids)
    if "source" in getattr(model, "inputs", {}).values():
        stoks = tuple(show(int(t)) for t in src_ids) if src_ids is not None else toks
    else:
        stoks = ()
    return Inspection(arch_id=getattr(model, "arch_id", ""), label=label, token_ids=ids, tokens=toks,
                      source_tokens=stoks, attention=tuple(attn), routing=tuple(routing))


def to_json(ins: Inspection, digits: int = 6) -> dict:
    """The inspect.json layout of the CLI contract, plus labels that say which block each entry is."""
    def r(a):
        return np.round(a.astype(np.float64), digits).tolist()
    return {
        "model": ins.arch_id,
        "weights": ins.label,
        "tokens": list(ins.tokens),
        "token_ids": [int(t) for t in ins.token_ids],
        "source_tokens": list(ins.source_tokens),
        "attention_layers": [{"name": a.name, "label": a.label, "kind": a.kind, "n_heads": a.n_heads,
                              "n_kv_heads": a.n_kv_heads, "groups": [list(g) for g in a.groups],
                              "causal": a.causal, "window": a.window, "queries": a.queries, "keys": a.keys,
                              "entropy_bits": r(a.entropy), "cache_elems_per_token": a.cache_elems,
                              "mha_cache_elems_per_token": a.mha_cache_elems} for a in ins.attention],
        "attention": [r(a.weights) for a in ins.attention],
        "routing_layers": [{"name": m.name, "label": m.label, "n_experts": m.n_experts, "top_k": m.top_k, "n_shared": m.n_shared,
                            "cv": round(m.cv, digits), "router_entropy_bits": round(m.router_entropy, digits),
                            "collapsed": list(m.collapsed), "expert_bias": r(m.expert_bias)} for m in ins.routing],
        "routing": [[[[int(e), round(float(w), digits)] for e, w in zip(ti, tw)] for ti, tw in zip(m.top_i, m.top_w)]
                    for m in ins.routing],
        "expert_counts": [[int(c) for c in m.counts] for m in ins.routing],
    }
