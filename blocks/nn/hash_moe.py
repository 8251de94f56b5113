"""Hash-routed experts: DeepSeek-V4's first MoE layers pick experts by token id, not by a router.

DeepSeek-V4 (§2.1): in the first ``num_hash_layers`` (3) MoE layers a frozen table ``tid2eid``
(vocab_size × top_k, shipped in the checkpoint as ``layers.N.ffn.gate.tid2eid``) names each token's
experts; the learned gate still scores them, so the chosen experts' weights are learned while
*which* experts run is fixed. Early layers see little more than the token itself, so a table
spreads the load evenly without a router that must first learn to balance.

The released checkpoint's table is data we do not have; this block fills its own from a seeded
random permutation per token id (every token gets ``top_k`` distinct experts).
"""
import torch

from blocks.nn.moe import MoE, score_function


def hash_table(vocab_size: int, n_experts: int, top_k: int, seed: int) -> torch.Tensor:
    """(vocab_size, top_k) int64: the first top_k experts of a seeded random order per token id."""
    g = torch.Generator().manual_seed(seed)
    return torch.rand(vocab_size, n_experts, generator=g).argsort(dim=-1)[:, :top_k].contiguous()


class HashMoE(MoE):
    def __init__(self, cfg):
        super().__init__(cfg)
        self.register_buffer("tid2eid", hash_table(cfg.vocab_size, cfg.n_experts, cfg.top_k, cfg.hash_seed))
        self.last_tokens = None  # (N,) token ids of the last forward: route() reads them

    def route(self, x, tokens=None):
        """x: (N, dim); tokens: (N,) or None (the last forward's). Returns scores, expert ids, weights."""
        c = self.cfg
        ids = (self.last_tokens if tokens is None else tokens).reshape(-1)
        scores = score_function(c.score, self.gate(x).float())  # (N, E): the gate still weighs them
        top_i = self.tid2eid[ids]  # (N, k): which experts is a lookup, not a choice
        top_w = scores.gather(-1, top_i)
        if c.norm_topk:
            top_w = top_w / (top_w.sum(-1, keepdim=True) + 1e-20)
        return scores, top_i, top_w * c.route_scale

    def forward(self, x, tokens):  # x (B, T, dim), tokens (B, T) token ids
        if tokens.shape != x.shape[:2]:
            raise ValueError(f"hash routing needs one token id per position: tokens {tuple(tokens.shape)}, "
                             f"stream {tuple(x.shape[:2])}")
        if int(tokens.max()) >= self.cfg.vocab_size:
            raise ValueError(f"token id {int(tokens.max())} is outside the hash table's {self.cfg.vocab_size} rows")
        self.last_tokens = tokens.reshape(-1)
        return super().forward(x)
