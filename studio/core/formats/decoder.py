"""Which outside model family a trained graph is, for the exporters that name one (Hugging Face
``transformers`` classes, llama.cpp's GGUF architectures).

Three families are recognised, each by the blocks and settings its reference code hard-codes:

    llama        RMSNorm pre-norm, RoPE over the whole head, GQA/MQA attention, SwiGLU
    qwen2        the same with biases on q, k and v only (no output bias)
    qwen3        LLaMA's with QK-norm (RMSNorm of each head's q and k); qwen3_moe: with a softmax MoE
    mixtral      the same with a softmax top-k MoE of SwiGLU experts (renormalised, no shared)
    qwen2_moe    Mixtral's with q/k/v biases and a shared expert scaled by a sigmoid gate
    deepseek_v3  MLA, first_k dense SwiGLU layers then sigmoid-scored MoE with shared experts and
                 the auxiliary-loss-free selection bias; an MTP module is dropped with a note

The wiring is matched by the llama2.c checker's topology walk (the same pre-norm sandwich);
everything else — which block plays each part, settings, layers that differ — is judged here
from registry traits (a norm that fills llama2.c's RMSNorm role, grouped or latent attention
geometry, a dense SwiGLU or an expert mixture), and every reason a graph does not fit is
returned as an Issue naming its block.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from studio.core.formats.llama2c.check import match_decoder_roles
from studio.core.model.resolve import resolve
from studio.core.model.validate import Issue, errors_only, validate

FAMILY_GEOMETRIES = ("grouped", "latent")  # GQA/MQA (LLaMA, Qwen, Mixtral) and MLA (DeepSeek-V3)


def _no_family_has(spec) -> bool:
    """Blocks no family can hold whatever the wiring: mHC's residual streams and attention of another
    geometry (DeepSeek-V4's compressed attention, cross-attention). They are named first."""
    return spec.has("streams") or (spec.has("attention") and spec.geometry not in FAMILY_GEOMETRIES)


DENSE, EXPERTS = "dense SwiGLU", "mixture of experts"  # the two feed-forward shapes the families use
GATED_EXPERT = "swiglu"  # MoEConfig.expert value of a SwiGLU expert (a setting, not a block kind)
DROPPED = ("the {kind} block ({node}) is a training-only head with no {target} counterpart: dropped "
           "(next-token predictions are unchanged)")


@dataclass(frozen=True)
class DecoderPlan:
    family: str  # "llama" | "qwen2" | "qwen3" | "mixtral" | "qwen2_moe" | "qwen3_moe" | "deepseek_v3"
    ids: dict  # role -> node id (llama2.c role names: attention, feed_forward, ...)
    n_layers: int
    vocab_size: int
    context: int
    norm_eps: float
    rope_theta: float
    tied: bool
    attention: object  # the attention block's Config (one for every layer)
    ffn: tuple  # per layer: (DENSE or EXPERTS, Config)
    notes: tuple = field(default_factory=tuple)
    rope: object = None  # the RoPE block's Config: its YaRN or Llama 3 frequency scaling is written too

    @property
    def n_dense(self) -> int:
        """Leading dense layers (DeepSeek's first_k_dense_replace)."""
        return sum(1 for tag, _ in self.ffn if tag == DENSE)

    def ffn_config(self, tag: str):
        return next(c for t, c in self.ffn if t == tag)


def plan_decoder(arch, scale: str, target: str) -> tuple[DecoderPlan | None, list[Issue]]:
    """The family and settings of ``arch`` at ``scale``, or None and every reason it has none."""
    errs = errors_only(validate(arch, scale))
    if errs:
        return None, [Issue(i.node, f"{i.message} (fix the model first)") for i in errs]
    ids, structural = match_decoder_roles(arch, target)
    issues = [Issue(nid, f"{node.spec.title} ({node.kind}): no {target} model class has this block")
              for nid, node in arch.graph.nodes.items() if _no_family_has(node.spec)]
    issues += [Issue(n, m) for n, m in structural]
    notes: list[str] = []
    g = arch.graph
    for nid, node in g.nodes.items():
        if nid in ids.values():
            continue
        if node.spec.has("aux_head"):
            notes.append(DROPPED.format(kind=node.spec.title.lower(), node=nid, target=target))
        elif not structural:
            issues.append(Issue(nid, f"a {node.kind} block has no {target} counterpart; delete it"))
    if issues:
        return None, issues
    res = resolve(arch, scale).require()
    cfg = {role: [(v.spec, v.config) for v in res.node(nid).layers] for role, nid in ids.items()}
    add = _Collector(ids, issues)
    _check_common(cfg, add, target)
    attn_spec, attn = cfg["attention"][0]
    ffn = tuple((_ffn_tag(spec), c) for spec, c in cfg["feed_forward"])
    if any(getattr(c, "swiglu_limit", 0) for _, c in ffn):  # DeepSeek-V4's clamp: no family written has it
        add("feed_forward", f"its SwiGLU clamp (swiglu_limit) has no {target} counterpart; set it to 0")
    family = _family(attn_spec, ffn, add, target)
    if family == "llama" and attn.qkv_bias and not attn.bias:
        family = "qwen2"  # q/k/v biases, no output bias: Qwen2's attention
    if (family == "mixtral" and attn.qkv_bias and not attn.bias and not attn.qk_norm
            and all(c.n_shared and c.shared_gate for _, c in ffn)):
        family = "qwen2_moe"  # and a gated shared expert: Qwen2-MoE
    if family in ("llama", "mixtral") and attn.qk_norm:
        family = {"llama": "qwen3", "mixtral": "qwen3_moe"}[family]  # QK-norm: Qwen3's attention
        if abs(attn.qk_norm_eps - cfg["norm"][0][1].eps) > 1e-12:
            add("attention", f"QK-norm eps {attn.qk_norm_eps:g} differs from the RMSNorm eps "
                             f"{cfg['norm'][0][1].eps:g}; {target}'s Qwen3 uses one rms_norm_eps: set them equal")
        if attn.bias or attn.qkv_bias or any(getattr(c, "bias", False) for _, c in ffn):
            add("attention", f"has biases: {target}'s Qwen3 has none; turn bias off")
    if family == "qwen2" and any(c.bias for _, c in ffn):
        add("feed_forward", f"has biases: {target}'s Qwen2 feed-forward has none; turn bias off")
    if family in ("llama", "qwen2", "mixtral", "qwen2_moe", "qwen3", "qwen3_moe"):
        _check_attention(attn, cfg["rope"][0][1], family, add, target)
    elif family == "deepseek_v3":
        _check_deepseek(attn, cfg["rope"][0][1], ffn, add, target)
    if family in ("mixtral", "qwen2_moe", "qwen3_moe"):
        _check_moe(ffn, add, target, softmax=True, renormalised=family == "mixtral", gated_shared=family == "qwen2_moe")
    if issues:
        return None, issues
    eps = cfg["norm"][0][1].eps
    head = cfg["output"][0][1]
    return DecoderPlan(family, dict(ids), len(ffn), head.vocab_size, int(res.dims.get("context") or
                       cfg["rope"][0][1].context), eps, float(cfg["rope"][0][1].theta),
                       bool(head.tie_to), attn, ffn, tuple(notes), cfg["rope"][0][1]), []


class _Collector:
    def __init__(self, ids, issues):
        self.ids, self.issues = ids, issues

    def __call__(self, role: str, msg: str):
        issue = Issue(self.ids.get(role, role), msg)
        if issue not in self.issues:
            self.issues.append(issue)


def _check_common(cfg, add, target):
    for role, variants in cfg.items():
        if role != "feed_forward" and len({(spec.kind, c) for spec, c in variants}) > 1:
            add(role, f"its settings differ between layers; {target} has one setting for all layers")
        if role.endswith("norm") and any(spec.llama2c != "norm" for spec, _ in variants):
            add(role, f"a {variants[0][0].kind} where {target} has RMSNorm")
    eps = {c.eps for role, vs in cfg.items() if role.endswith("norm") for _, c in vs if hasattr(c, "eps")}
    if cfg["attention"][0][0].geometry == "latent":
        eps.add(cfg["attention"][0][1].eps)
    if len(eps) > 1:
        add("norm", f"RMSNorm eps differs between norms ({', '.join(f'{e:g}' for e in sorted(eps))}); "
                    f"{target} has one rms_norm_eps: set them equal")
    _check_rope_scaling(cfg["rope"][0][1], add, target)
    emb = cfg["tok_embeddings"][0][1]
    if getattr(emb, "scale", False):
        add("tok_embeddings", f"scales embeddings by √dim: {target} does not; turn scale off")
    head = cfg["output"][0][1]
    if head.softcap:
        add("output", f"logit soft-capping {head.softcap:g}: {target} has none here; set softcap to 0")
    if head.pad_vocab_to:
        add("output", f"padded to a multiple of {head.pad_vocab_to}: {target}'s head has exactly vocab_size rows; "
                      "set pad_vocab_to to 0")
    if head.vocab_size != emb.vocab_size:
        add("output", f"vocab_size {head.vocab_size} differs from the embedding's {emb.vocab_size}")


def _check_rope_scaling(rope, add, target):
    """YaRN and Llama 3 scaling are written (a factor ≤ 1 is no scaling, as in blocks/nn/rope.py); what
    no config expresses is refused: both at once (the app stretches by YaRN, then by Llama 3's rule;
    a config names one rope_type)."""
    if rope.yarn_factor > 1 and rope.llama3_factor > 1:
        add("rope", f"YaRN (×{rope.yarn_factor:g}) and Llama 3 scaling (×{rope.llama3_factor:g}) both on: {target} "
                    "applies one rope_type; set yarn_factor or llama3_factor to 0")


def _ffn_tag(spec) -> str:
    if spec.has("moe"):
        return EXPERTS
    return DENSE if spec.llama2c == "feed_forward" else spec.kind  # llama2.c's feed-forward role: SwiGLU


def _family(attn_spec, ffn, add, target) -> str:
    tags = [t for t, _ in ffn]
    grouped, latent = attn_spec.geometry == "grouped", attn_spec.geometry == "latent"
    if grouped and set(tags) == {DENSE}:
        return "llama"
    if grouped and set(tags) == {EXPERTS}:
        return "mixtral"
    if latent and tags[-1] == EXPERTS and set(tags) <= {DENSE, EXPERTS}:
        if tags != sorted(tags, key=lambda t: t == EXPERTS):
            add("feed_forward", f"dense and MoE layers interleave; {target}'s DeepSeek-V3 has dense layers first, "
                                "then MoE layers")
        return "deepseek_v3"
    if not (grouped or latent):
        add("attention", f"a {attn_spec.kind} block where {target} has self-attention")
    else:
        odd = sorted(set(tags) - {DENSE, EXPERTS})
        what = f"a {'/'.join(odd)} feed-forward" if odd else (
            "MoE layers with grouped-query attention mixed with dense ones" if grouped
            else "MLA with only dense SwiGLU layers")
        add("feed_forward", f"{what}: {target} has SwiGLU (LLaMA), softmax MoE (Mixtral) or MLA + MoE (DeepSeek-V3)")
    return ""


def _check_attention(attn, rope, family, add, target):
    if not attn.causal:
        add("attention", f"not causal: {target} generates left to right; turn causal on")
    if attn.window:
        add("attention", f"sliding window {attn.window}: this {target} class attends to the whole context; set window to 0")
    if attn.qkv_bias and not attn.bias and family == "mixtral":
        add("attention", f"biases on q, k, v: {target}'s Mixtral has none; turn qkv_bias off")
    if family in ("qwen2", "qwen2_moe") and attn.head_dim and attn.head_dim * attn.n_heads != attn.dim:
        add("attention", f"head_dim {attn.head_dim} × {attn.n_heads} heads ≠ dim {attn.dim}: {target}'s Qwen2 "
                         "takes head_dim = dim / heads; set head_dim to 0")
    if attn.bias and family in ("qwen2", "mixtral"):
        add("attention", f"has biases: {target}'s Mixtral has none; turn bias off")
    if rope.head_dim != attn.hd:
        add("rope", f"rotates {rope.head_dim} of {attn.hd} head dims: {target}'s {family} rotates the whole head; "
                    f"set the RoPE head_dim to {attn.hd}")


def _check_deepseek(attn, rope, ffn, add, target):
    if not attn.causal:
        add("attention", f"not causal: {target} generates left to right; turn causal on")
    if rope.head_dim != attn.qk_rope_head_dim:
        add("rope", f"rotates {rope.head_dim} dims but MLA's qk_rope_head_dim is {attn.qk_rope_head_dim}; set them equal")
    dense = {c.hidden_dim for t, c in ffn if t == DENSE}
    if len(dense) > 1:
        add("feed_forward", f"dense layers differ in width ({sorted(dense)}); {target} has one intermediate_size")
    if any(c.bias for t, c in ffn if t == DENSE):
        add("feed_forward", f"dense layers have biases: {target}'s DeepSeek-V3 has none; turn bias off")
    _check_moe(ffn, add, target, softmax=False)


def _check_moe(ffn, add, target, softmax: bool, renormalised: bool = True, gated_shared: bool = False):
    moes = {c for t, c in ffn if t == EXPERTS}
    if len(moes) > 1:
        add("feed_forward", f"MoE layers differ in their settings; {target} has one MoE setting for all layers")
    name = ("Mixtral" if renormalised else "Qwen2-MoE" if gated_shared else "Qwen3-MoE") if softmax else "DeepSeek-V3"
    for c in moes:
        if c.expert != GATED_EXPERT or c.expert_bias:
            add("feed_forward", f"{c.expert} experts{' with biases' if c.expert_bias else ''}: {target}'s {name} "
                                "experts are bias-free SwiGLU")
        if not c.norm_topk and renormalised:
            add("feed_forward", f"gate weights not renormalised: {target}'s {name} renormalises the top-k; turn norm_topk on")
        if softmax and gated_shared:
            if c.score != "softmax" or c.bias_balancing or c.route_scale != 1.0:
                add("feed_forward", f"{target}'s {name} routes by softmax with no selection bias and route_scale 1")
        elif softmax:
            if c.score != "softmax" or c.n_shared or c.bias_balancing or c.route_scale != 1.0:
                add("feed_forward", f"{target}'s {name} routes by softmax with no shared experts, no selection bias "
                                    "and route_scale 1 (a DeepSeek-style MoE needs MLA to export as DeepSeek-V3)")
        else:
            if c.score != "sigmoid":
                add("feed_forward", f"{c.score} router scores: {target}'s DeepSeek-V3 scores by sigmoid "
                                    "(DeepSeek-V2's softmax router is not exported)")
            if not c.n_shared:
                add("feed_forward", f"no shared expert: {target}'s DeepSeek-V3 always has n_shared_experts ≥ 1")
            if c.shared_gate:
                add("feed_forward", f"a gated shared expert (Qwen2-MoE): {target}'s DeepSeek-V3 adds it ungated; "
                                    "turn shared_gate off")
