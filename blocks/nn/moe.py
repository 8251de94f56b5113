"""Mixture of experts with dropless dispatch: GShard/Mixtral (coarse, softmax top-k) and
DeepSeekMoE (fine-grained routed + shared experts, sigmoid scores, auxiliary-loss-free bias).

Precision, as the reference implementations do it: the router's scores are computed in fp32
(Mixtral: ``softmax(router_logits, dtype=torch.float)``; DeepSeek-V3's gate likewise), and the
routed experts' weighted outputs are summed into an accumulator in the token stream's dtype, each
cast to it explicitly (Mixtral: ``current_hidden_states.to(hidden_states.dtype)``). Under bf16
autocast the experts compute in bf16 while the residual stream stays fp32, so without the cast
``index_add_`` refuses to add bf16 rows to fp32 ones."""
import torch
import torch.nn.functional as F
from torch import nn


def score_function(name: str, logits):
    """Router scores from logits: softmax (Mixtral), sigmoid (DeepSeek-V3) or √softplus (DeepSeek-V4)."""
    if name == "softmax":
        return logits.softmax(-1)
    return logits.sigmoid() if name == "sigmoid" else F.softplus(logits).sqrt()


class Expert(nn.Module):
    def __init__(self, dim: int, hidden: int, kind: str, bias: bool, limit: float = 0.0):
        super().__init__()
        self.kind, self.limit = kind, limit
        self.w1 = nn.Linear(dim, hidden, bias=bias)
        self.w2 = nn.Linear(hidden, dim, bias=bias)
        if kind == "swiglu":
            self.w3 = nn.Linear(dim, hidden, bias=bias)

    def forward(self, x):  # (N, dim) -> (N, dim)
        if self.kind == "swiglu":
            gate, up = self.w1(x), self.w3(x)
            if self.limit:  # DeepSeek-V4's swiglu_limit: bounds what one expert can add to the stream
                gate, up = gate.clamp(max=self.limit), up.clamp(-self.limit, self.limit)
            return self.w2(F.silu(gate) * up)
        return self.w2(F.relu(self.w1(x)) if self.kind == "relu" else F.gelu(self.w1(x)))


class MoE(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = c = cfg
        self.gate = nn.Linear(c.dim, c.n_experts, bias=False)  # the router
        self.experts = nn.ModuleList(Expert(c.dim, c.expert_hidden_dim, c.expert, c.expert_bias, c.swiglu_limit)
                                     for _ in range(c.n_experts))
        if c.n_shared:
            self.shared_experts = Expert(c.dim, c.n_shared * c.expert_hidden_dim, c.expert, c.expert_bias, c.swiglu_limit)
            if c.shared_gate:  # Qwen2-MoE: sigmoid(x · g) scales the shared experts' output
                self.shared_expert_gate = nn.Linear(c.dim, 1, bias=False)
        # Selection bias of auxiliary-loss-free balancing: a buffer, never a gradient target.
        self.register_buffer("expert_bias", torch.zeros(c.n_experts), persistent=c.bias_balancing)
        # Tokens routed to each expert in the last forward, for load plots (torchtitan-style).
        self.register_buffer("tokens_per_expert", torch.zeros(c.n_experts, dtype=torch.long), persistent=False)
        self.aux_loss = None
        self.capture = False
        self.last_routing = None  # (topk ids (N, k), gate weights (N, k)) after a captured forward

    def route(self, x):
        c = self.cfg
        logits = self.gate(x).float()  # (N, E); routing in fp32 whatever the experts compute in
        scores = score_function(c.score, logits)
        select = scores + self.expert_bias if c.bias_balancing else scores
        top_i = select.topk(c.top_k, dim=-1).indices  # (N, k)
        top_w = scores.gather(-1, top_i)
        if c.norm_topk:
            top_w = top_w / (top_w.sum(-1, keepdim=True) + 1e-20)
        return scores, top_i, top_w * c.route_scale

    def forward(self, x, tokens=None):  # x (B, T, dim); token ids are read only by hash routing (HashMoE)
        c = self.cfg
        B, T, D = x.shape
        xf = x.reshape(-1, D)
        scores, top_i, top_w = self.route(xf)
        flat = top_i.reshape(-1)
        counts = torch.bincount(flat, minlength=c.n_experts)
        order = flat.argsort(stable=True)
        token_of = order // c.top_k
        weight_of = top_w.reshape(-1)[order]
        out = self._dispatch(xf, counts, token_of, weight_of)
        if c.n_shared:
            shared = self.shared_experts(xf)
            if c.shared_gate:
                shared = torch.sigmoid(self.shared_expert_gate(xf)) * shared
            out = out + shared
        self.tokens_per_expert = counts.detach()
        self.aux_loss = self._aux_loss(scores, counts, xf.shape[0]) if self.training and c.aux_loss_weight > 0 else None
        if self.training and c.bias_balancing:
            with torch.no_grad():  # DeepSeek-V3: raise the bias of under-loaded experts, lower over-loaded
                self.expert_bias += c.bias_update_rate * torch.sign(counts.float().mean() - counts.float())
        self.last_routing = (top_i.detach(), top_w.detach()) if self.capture else None
        return out.view(B, T, D)

    @torch.compiler.disable
    def _dispatch(self, xf, counts, token_of, weight_of):
        """Each expert on the tokens routed to it, weighted, summed into an accumulator in the token
        stream's dtype (fp32 under autocast). Left to eager under torch.compile: the loop's shapes
        are the routed-token counts, data-dependent, so a compiled version is traced again for
        every new count."""
        out = torch.zeros_like(xf)
        start = 0
        for e, n in enumerate(counts.tolist()):  # dropless: every routed token is processed
            if n:
                idx = token_of[start:start + n]
                routed = self.experts[e](xf[idx]) * weight_of[start:start + n, None]
                out.index_add_(0, idx, routed.to(out.dtype))
                start += n
        return out

    def _aux_loss(self, scores, counts, n_tokens):
        """Switch/GShard balance loss: E · Σ_e f_e · P_e (f: routed fraction, P: mean score)."""
        c = self.cfg
        f = counts.float() / (n_tokens * c.top_k)
        p = scores / scores.sum(-1, keepdim=True) if c.score != "softmax" else scores
        return c.aux_loss_weight * c.n_experts * (f * p.mean(0)).sum()
