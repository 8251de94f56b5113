"""compile(architecture) -> GraphModel: a real nn.Module that interprets the block graph.

Stem and head nodes become top-level submodules named by their node id; each repetition of
a repeated region is an nn.ModuleDict in ``layers`` (or ``encoder_layers``), so state-dict keys
read like llama2.c's: ``tok_embeddings.weight``, ``layers.3.attention.wq.weight``, ``output.weight``.
The forward walks a precomputed plan, so the interpreter adds only a dict lookup per block.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from blocks.registry import get_spec
from studio.core import errors as E
from studio.core.model.plan import build_plan
from studio.core.model.resolve import resolve
from studio.core.model.validate import errors_only, validate

REGION_ATTR = {"layer": "layers", "encoder": "encoder_layers"}


class RunContext:
    """What context-wanting blocks (MTP) may read during one forward."""

    def __init__(self, model, tokens, targets, values):
        self.model, self.tokens, self.targets, self._values = model, tokens, targets, values

    @property
    def embedding_weight(self):
        return getattr(self.model, self.model.embedding_id).weight

    @property
    def head(self):
        return getattr(self.model, self.model.head_id)

    def broadcasts(self, T: int) -> dict:
        out = {}
        for (src, sport, dst, dport) in self.model.plan.regions["layer"].broadcasts:
            v = self._values[(src, sport)]
            out[(dst, dport)] = tuple(t[:T] for t in v) if isinstance(v, tuple) else v
        return out


class RegionBlock(nn.Module):
    """One repetition of a region: its blocks in topological order."""

    def __init__(self, arch, rplan, scale: str, layer: int):
        super().__init__()
        res = resolve(arch, scale).require()
        inside = set(rplan.order)
        # Blocks are registered under their node ids (keys like layers.3.attention.wq.weight);
        # the plan is precomputed as (module, [(port, source)...]) so forward is a flat loop.
        self._steps = []
        for nid in rplan.order:
            v = res.node(nid).layers[layer]
            self.add_module(nid, v.spec.module_class()(v.config))
            feeds = [(e.dst_port, ("v", e.src)) for e in arch.graph.in_edges(nid) if e.src in inside]
            feeds += [(dp, ("x", None)) for (d, dp) in rplan.entry_targets if d == nid]
            feeds += [(dp, ("b", (d, dp))) for (_, _, d, dp) in rplan.broadcasts if d == nid]
            self._steps.append((nid, feeds))
        self._exit = rplan.exit[0] if rplan.exit else rplan.order[-1]

    def forward(self, x, broadcasts: dict):
        vals = {}
        for nid, feeds in self._steps:
            kw = {port: (vals[key] if src == "v" else x if src == "x" else broadcasts[key]) for port, (src, key) in feeds}
            vals[nid] = self._modules[nid](**kw)
        return vals[self._exit]


class GraphModel(nn.Module):
    def __init__(self, arch, scale: str = "classroom"):
        super().__init__()
        self.arch_id, self.scale = arch.id, scale
        self.plan = build_plan(arch)
        res = resolve(arch, scale).require()
        self.dims = dict(res.dims)
        self.context = int(self.dims.get("context", 256))
        g = arch.graph
        self.inputs: dict[str, str] = {}  # input node id -> "tokens" | "source"
        self.feeds: dict[str, list[tuple[str, str, str]]] = {}
        self.loss_nodes: list[str] = []
        self.length_fed: set[str] = set()
        for step, name in self.plan.steps:
            if step == "node":
                rn = res.node(name)
                cfg, spec = rn.config, rn.spec
                if spec.has("input"):
                    self.inputs[name] = cfg.name
                if spec.has("rotary"):  # RoPE tables are built for the sequence length
                    self.length_fed.add(name)
                self.add_module(name, spec.module_class()(cfg))
                self.feeds[name] = [(e.dst_port, e.src, e.src_port) for e in g.in_edges(name)]
                if not spec.outputs:
                    self.loss_nodes.append(name)
            else:
                rp = self.plan.regions[name]
                n = arch.repeat(name, scale)
                self.add_module(REGION_ATTR.get(name, name + "_layers"),
                                nn.ModuleList(RegionBlock(arch, rp, scale, i) for i in range(n)))
        heads = [n for n, node in g.nodes.items() if node.spec.has("lm_head")]
        self.head_id = heads[0]
        # The decoder's own table (fed by the "tokens" input): MTP and tied heads read it.
        decoder_inputs = {i for i, name in self.inputs.items() if name == "tokens"}
        embs = [n for n, node in g.nodes.items() if node.spec.has("token_table")]
        fed = [n for n in embs if any(e.src in decoder_inputs for e in g.in_edges(n))]
        own = [n for n in fed + embs if not res.node(n).config.tie_to]
        self.embedding_id = own[0] if own else None
        for nid, node in g.nodes.items():  # tied tables share one Parameter
            if node.region in REGION_ATTR or not hasattr(getattr(self, nid), "cfg"):
                continue
            tie = getattr(getattr(self, nid).cfg, "tie_to", "")
            if tie:
                getattr(self, nid).weight = getattr(self, tie).weight
        self.n_layers = arch.repeat("layer", scale)
        self._init_weights()
        for nid in self.loss_nodes:  # MTP: one more layer of the model's own kind (its last variant)
            m = getattr(self, nid)
            m.block = RegionBlock(arch, self.plan.regions["layer"], scale, self.n_layers - 1)
            m.block.apply(self._init_module)
            if getattr(m.cfg, "store_copies", False):
                with torch.no_grad():
                    m.embed.copy_(self.embedding_weight)
                    m.head.copy_(getattr(self, self.head_id).weight[: m.cfg.vocab_size])
        # the last forward's loss terms as detached tensors: reading them as numbers would wait for
        # the computation (and break a torch.compile graph), so the trainer reads them in batches
        self.last_loss_terms: dict[str, torch.Tensor] = {}

    @property
    def last_losses(self) -> dict[str, float]:
        return {k: float(v) for k, v in self.last_loss_terms.items()}

    @property
    def embedding_weight(self):
        return getattr(self, self.embedding_id).weight

    # -------------------------------------------------------------- init (llama2.c's scheme)
    def _init_module(self, m):
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, mean=0.0, std=0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)

    def _init_weights(self):
        self.apply(self._init_module)
        std = 0.02 / math.sqrt(2 * max(1, self.n_layers))
        for name, p in self.named_parameters():
            if name.endswith(("wo.weight", "w3.weight")):  # residual projections, as llama2.c
                nn.init.normal_(p, mean=0.0, std=std)
        for m in self.modules():
            cfg = getattr(m, "cfg", None)
            if getattr(cfg, "zero_init_output", False):
                for out in ("wo", "w2"):  # the projection back into the residual stream
                    if hasattr(m, out):
                        nn.init.zeros_(getattr(m, out).weight)

    # -------------------------------------------------------------- forward
    def forward(self, tokens, targets=None, source=None):
        """tokens: (B, T) int64 -> (logits (B, T, V), loss or None). Loss includes MoE aux and MTP."""
        T = tokens.shape[1]
        if T > self.context:
            raise ValueError(f"sequence of {T} tokens exceeds the model's context of {self.context}")
        vals: dict[tuple[str, str], object] = {}
        ctx = RunContext(self, tokens, targets, vals)
        aux = []
        for step, name in self.plan.steps:
            if step == "node":
                m = getattr(self, name)
                if name in self.inputs:
                    vals[(name, "tokens")] = source if self.inputs[name] == "source" and source is not None else tokens
                    continue
                kw = {port: vals[(src, sp)] for port, src, sp in self.feeds[name]}
                if getattr(m, "wants_context", False):
                    out = m(ctx=ctx, **kw)
                    if out is not None:
                        aux.append((name, m.cfg.loss_weight * out))
                    continue
                if not self.feeds[name] and name in self.length_fed:
                    out = m(T if not self.inputs or source is None else max(T, source.shape[1]))
                else:
                    out = m(**kw)
                spec_out = self._out_port(name)
                vals[(name, spec_out)] = out
            else:
                rp = self.plan.regions[name]
                x = vals[rp.entry]
                bc = {}
                for (src, sport, d, dp) in rp.broadcasts:
                    v = vals[(src, sport)]
                    bc[(d, dp)] = tuple(t[: x.shape[1]] for t in v) if isinstance(v, tuple) else v
                for block in getattr(self, REGION_ATTR.get(name, name + "_layers")):
                    x = block(x, bc)
                vals[rp.exit] = x
        logits = vals[(self.head_id, "logits")]
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1), ignore_index=-1)
            terms = {"ce": loss.detach()}
            for m in self.modules():
                a = getattr(m, "aux_loss", None)
                if a is not None:
                    aux.append(("moe_aux", a))
            for name, a in aux:
                terms[name] = terms[name] + a.detach() if name in terms else a.detach()
                loss = loss + a
            self.last_loss_terms = terms
        return logits, loss

    def _out_port(self, name):
        cache = self.__dict__.setdefault("_out_ports", {})
        if name not in cache:
            cache[name] = type(self)._port_of(getattr(self, name))
        return cache[name]

    @staticmethod
    def _port_of(module):
        kind = get_spec_kind(module)
        spec = get_spec(kind)
        return spec.outputs[0].name

    # -------------------------------------------------------------- inspection / generation
    def set_capture(self, on: bool = True):
        """Make attention blocks keep their weights and MoE blocks their routing on the next forward."""
        for m in self.modules():
            if hasattr(m, "capture"):
                m.capture = on

    @torch.no_grad()
    def generate(self, idx, max_new_tokens: int, temperature: float = 1.0, top_k: int | None = None,
                 top_p: float | None = None, stop_token: int | None = None, source=None, generator=None):
        """Append up to max_new_tokens to idx (B, T). temperature 0 = greedy (first max on ties)."""
        for _ in range(max_new_tokens):
            cond = idx[:, -self.context:]
            logits, _ = self(cond, source=source)
            logits = logits[:, -1, :].float()
            if temperature <= 0:
                nxt = logits.argmax(-1, keepdim=True)
            else:
                logits = logits / temperature
                if top_k:
                    v, _ = torch.topk(logits, min(top_k, logits.size(-1)))
                    logits[logits < v[:, [-1]]] = -float("inf")
                probs = F.softmax(logits, dim=-1)
                if top_p is not None and 0 < top_p < 1:
                    sp, si = probs.sort(-1, descending=True)
                    keep = sp.cumsum(-1) - sp <= top_p
                    sp = sp * keep
                    probs = torch.zeros_like(probs).scatter(-1, si, sp)
                    probs = probs / probs.sum(-1, keepdim=True)
                nxt = torch.multinomial(probs, 1, generator=generator)
            idx = torch.cat([idx, nxt], dim=1)
            if stop_token is not None and bool((nxt == stop_token).all()):
                break
        return idx


_KIND_BY_CLASS: dict[type, str] = {}


def get_spec_kind(module) -> str:
    cls = type(module)
    if cls not in _KIND_BY_CLASS:
        from blocks.registry import REGISTRY
        for spec in REGISTRY.values():
            if spec.module.endswith(":" + cls.__name__) and spec.module_class() is cls:
                _KIND_BY_CLASS[cls] = spec.kind
                break
    return _KIND_BY_CLASS[cls]


RESERVED_IDS = {"layers", "encoder_layers", "plan", "dims", "context", "inputs", "feeds", "loss_nodes",
                "head_id", "embedding_id", "n_layers", "last_losses", "last_loss_terms", "scale", "arch_id", "training", "length_fed"}


def compile_architecture(arch, scale: str = "classroom", check: bool = True) -> GraphModel:
    clash = sorted(n for n in arch.graph.nodes if n in RESERVED_IDS or n.startswith("_") or hasattr(nn.Module, n))
    if clash:
        raise E.StudioError(f"{clash[0]}: this block id is reserved by the model; rename the block")
    if check:
        errs = errors_only(validate(arch, scale))
        if errs:
            raise E.StudioError(f"{arch.id} cannot be built: {errs[0]}" + (f" (and {len(errs) - 1} more)" if len(errs) > 1 else ""))
    from studio.core.model.fits import check_fits
    check_fits(arch, scale)  # every dim in bounds, the whole model too large: refused before the allocator
    return GraphModel(arch, scale)


compile = compile_architecture  # noqa: A001  the name the design notes use
