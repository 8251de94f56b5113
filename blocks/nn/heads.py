"""Output heads: the LM head (tied/untied, padded, soft-capped) and DeepSeek-V3's MTP module."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from blocks.nn.norms import RMSNorm


class LMHead(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        if not cfg.tie_to:  # a tied head gets the embedding's Parameter assigned by the compiler
            self.weight = nn.Parameter(torch.empty(cfg.rows, cfg.dim))
            nn.init.normal_(self.weight, std=0.02)
            if cfg.zero_init:
                nn.init.zeros_(self.weight)

    def forward(self, x):  # (B, T, dim) -> (B, T, vocab)
        logits = F.linear(x, self.weight)[..., : self.cfg.vocab_size]
        if self.cfg.softcap:
            logits = self.cfg.softcap * torch.tanh(logits / self.cfg.softcap)
        return logits


class MTP(nn.Module):
    """Predicts token t+2 from the main model's hidden state at t and the embedding of t+1.

    ``block`` (one transformer layer of the model's own kind) is attached by the compiler.
    """

    def __init__(self, cfg):
        super().__init__()
        self.cfg = c = cfg
        self.enorm = RMSNorm(dim=c.dim, eps=c.eps)
        self.hnorm = RMSNorm(dim=c.dim, eps=c.eps)
        self.eh_proj = nn.Linear(2 * c.dim, c.dim, bias=False)
        self.norm = RMSNorm(dim=c.dim, eps=c.eps)
        if c.store_copies:
            self.embed = nn.Parameter(torch.empty(c.vocab_size, c.dim))
            self.head = nn.Parameter(torch.empty(c.vocab_size, c.dim))
        self.block = None
        self.wants_context = True

    def forward(self, x, ctx):
        """x: (B, T, dim) main hidden; ctx gives tokens, targets, the shared embedding/head and rope."""
        if ctx.targets is None:
            return None
        embed = self.embed if self.cfg.store_copies else ctx.embedding_weight
        head = self.head if self.cfg.store_copies else ctx.head
        e = F.embedding(ctx.tokens[:, 1:], embed)  # token t+1 for every position t < T-1
        h = self.eh_proj(torch.cat([self.hnorm(x[:, :-1]), self.enorm(e)], dim=-1))
        h = self.norm(self.block(h, ctx.broadcasts(h.shape[1])))
        logits = head(h) if callable(head) else F.linear(h, head)[..., : self.cfg.vocab_size]
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), ctx.targets[:, 1:].reshape(-1), ignore_index=-1)
