"""DeepSeek-V4's hybrid attention: a sliding window plus compressed entries (CSA / HCA, §2.3).

Every layer attends to its last ``sliding_window`` tokens uncompressed. Beyond that:

    sliding  nothing else (V4-Flash's first two layers)
    hca      Heavily Compressed Attention: every m' = 128 tokens are pooled into one entry and
             every query sees all earlier entries (dense over the compressed sequence)
    csa      Compressed Sparse Attention: every m = 4 tokens pooled (two overlapping series, so an
             entry covers 2m tokens at stride m), and a lightning indexer keeps the top-k entries
             for each query (k = 512 in V4-Flash, 1024 in V4-Pro)

Pooling (eqs. 9-12 / 20-23): C = H·W_kv, Z = H·W_z; an entry is Σ_j softmax_j(Z_j + B_j) ⊙ C_j over
its window, B a learned per-slot position bias, then RMS-normalised and rotated at the window's
first position. All heads share one key that is also the value (shared-KV MQA, head_dim 512);
RoPE rotates the trailing rope_head_dim dims, and the output's rope dims are rotated back (the
value was rotated as the key). Each head has a learned attention sink (a logit with no value).
The output projection is grouped: g head groups each go to o_lora_rank dims, then one mix to dim.

Training-time form: the whole sequence at once, no cache. Names follow the reference code
(wq_a, wq_b, wkv, wo_a, wo_b, compressor.ape, indexer.weights_proj).
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from blocks.nn.norms import RMSNorm
from blocks.nn.rope import apply_rope


def rope_tail(x, cos, sin):
    """Rotate the trailing 2·cos.shape[-1] dims of x (B, T, H, hd); the leading dims carry no position."""
    r = 2 * cos.shape[-1]
    return torch.cat([x[..., :-r], apply_rope(x[..., -r:], cos, sin)], dim=-1)


def visible_entries(T: int, n: int, ratio: int, device) -> torch.Tensor:
    """(T, n) bool: query t sees entry w once its whole window has passed, w < (t + 1) // ratio."""
    return torch.arange(n, device=device)[None, :] < ((torch.arange(T, device=device) + 1) // ratio)[:, None]


class Compressor(nn.Module):
    """x (B, T, dim) -> (B, T // m, width): one pooled, normalised, rotated entry per m tokens."""

    def __init__(self, dim: int, width: int, ratio: int, overlap: int, eps: float):
        super().__init__()
        self.width, self.ratio, self.overlap = width, ratio, overlap
        self.wkv = nn.Linear(dim, overlap * width, bias=False)   # C (CSA: two series Ca | Cb)
        self.wgate = nn.Linear(dim, overlap * width, bias=False)  # Z, the pooling scores
        self.ape = nn.Parameter(torch.zeros(ratio, overlap * width))  # B, per slot of the window
        self.norm = RMSNorm(dim=width, eps=eps)

    def forward(self, x, cos, sin):
        B, T, _ = x.shape
        m, w = self.ratio, self.width
        n = T // m  # whole windows only: a partial one is not an entry yet
        if n == 0:  # a sequence shorter than one window: nothing pooled yet
            return x.new_zeros(B, 0, w)
        kv = self.wkv(x[:, : n * m]).view(B, n, m, -1)
        score = (self.wgate(x[:, : n * m]).view(B, n, m, -1) + self.ape).float()
        if self.overlap == 2:  # entry i pools window i's Cb and window i-1's Ca: 2m tokens, stride m
            kv_a, kv_b = kv.split(w, dim=-1)
            score_a, score_b = score.split(w, dim=-1)
            kv = torch.cat([F.pad(kv_a, (0, 0, 0, 0, 1, 0))[:, :n], kv_b], dim=2)  # (B, n, 2m, w)
            score = torch.cat([F.pad(score_a, (0, 0, 0, 0, 1, 0), value=float("-inf"))[:, :n], score_b], dim=2)
        pooled = (kv.float() * score.softmax(dim=2)).sum(dim=2).type_as(kv)  # (B, n, w)
        entries = self.norm(pooled).unsqueeze(2)  # (B, n, 1, w)
        return rope_tail(entries, cos[: n * m: m], sin[: n * m: m]).squeeze(2)  # rotated at position i·m


class LightningIndexer(nn.Module):
    """Scores every compressed entry for every query, I_t,s = Σ_h w_t,h · ReLU(q_t,h · k_s), keeps the top-k."""

    def __init__(self, c):
        super().__init__()
        self.cfg = c
        self.wq_b = nn.Linear(c.q_lora_rank, c.index_n_heads * c.index_head_dim, bias=False)
        self.weights_proj = nn.Linear(c.dim, c.index_n_heads, bias=False)
        self.compressor = Compressor(c.dim, c.index_head_dim, c.compress_ratio, 2, c.eps)

    def forward(self, x, q_latent, cos, sin):
        """-> chosen (B, T, n) bool: the entries each query attends to (at most index_topk, all visible)."""
        c = self.cfg
        B, T, _ = x.shape
        k_index = self.compressor(x, cos, sin)  # (B, n, ihd)
        n = k_index.shape[1]
        q_index = rope_tail(self.wq_b(q_latent).view(B, T, c.index_n_heads, c.index_head_dim), cos, sin)
        scores = F.relu(torch.einsum("bthd,bsd->bths", q_index.float(), k_index.float())) / math.sqrt(c.index_head_dim)
        weights = self.weights_proj(x).float() / math.sqrt(c.index_n_heads)  # (B, T, ih)
        index = (scores * weights.unsqueeze(-1)).sum(dim=2)  # (B, T, n)
        visible = visible_entries(T, n, c.compress_ratio, x.device)
        index = index.masked_fill(~visible, float("-inf"))
        top = index.topk(min(c.index_topk, n), dim=-1).indices  # (B, T, k)
        chosen = torch.zeros(B, T, n, dtype=torch.bool, device=x.device).scatter_(-1, top, True)
        return chosen & visible, index  # a query with fewer than k visible entries keeps only those


def indexer_loss(index, entry_probs, chosen):
    """KL(attention ‖ indexer) over each query's chosen entries (DeepSeek-V3.2's sparse-stage indexer
    training): the top-k selection passes no gradient, so this is what teaches the indexer.
    index, entry_probs: (B, T, n) index scores and the main attention's weights summed over heads."""
    rows = chosen.any(-1)  # queries that attend to at least one entry
    if not bool(rows.any()):
        return index.new_zeros(())
    target = entry_probs.detach().masked_fill(~chosen, 0.0)
    target = target / target.sum(-1, keepdim=True).clamp_min(1e-12)
    log_q = index.masked_fill(~chosen, float("-inf")).log_softmax(-1).masked_fill(~chosen, 0.0)
    kl = (target * (target.clamp_min(1e-12).log() - log_q)).sum(-1)  # (B, T)
    return kl[rows].mean()


class CompressedAttention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = c = cfg
        self.wq_a = nn.Linear(c.dim, c.q_lora_rank, bias=False)
        self.q_norm = RMSNorm(dim=c.q_lora_rank, eps=c.eps)
        self.wq_b = nn.Linear(c.q_lora_rank, c.n_heads * c.head_dim, bias=False)
        self.wkv = nn.Linear(c.dim, c.head_dim, bias=False)  # the one shared key = value head
        self.kv_norm = RMSNorm(dim=c.head_dim, eps=c.eps)
        group_in = c.n_heads * c.head_dim // c.o_groups
        self.wo_a = nn.Linear(group_in, c.o_groups * c.o_lora_rank, bias=False)  # block-diagonal: group g uses rows g
        self.wo_b = nn.Linear(c.o_groups * c.o_lora_rank, c.dim, bias=False)
        self.sinks = nn.Parameter(torch.zeros(c.n_heads))
        self.compressor = Compressor(c.dim, c.head_dim, c.compress_ratio, c.overlap, c.eps) if c.compresses else None
        self.indexer = LightningIndexer(c) if c.mode == "csa" else None
        self.capture, self.last_weights = False, None
        # the indexer's KL loss; the model adds it to the loss with the other auxiliary terms (MoE balance)
        self.aux_loss, self._index = None, None
        self.track_max_logit, self.max_logit = False, None

    def keys_and_mask(self, x, q_latent, kv, cos, sin):
        """Keys (B, S, hd) = the window's tokens then the compressed entries, and (B, T, S) may-attend."""
        c = self.cfg
        B, T, _ = x.shape
        pos = torch.arange(T, device=x.device)
        window = (pos[None, :] <= pos[:, None]) & (pos[None, :] > pos[:, None] - c.sliding_window)  # (T, T)
        if self.compressor is None:
            return kv, window.expand(B, T, T)
        entries = self.compressor(x, cos, sin)  # (B, n, hd)
        n = entries.shape[1]
        if self.indexer is not None:
            seen, self._index = self.indexer(x, q_latent, cos, sin)  # CSA: the top-k entries
        else:
            seen = visible_entries(T, n, c.compress_ratio, x.device).expand(B, T, n)  # HCA: all earlier
        return torch.cat([kv, entries], dim=1), torch.cat([window.expand(B, T, T), seen], dim=-1)

    def forward(self, x, rope):
        c = self.cfg
        cos, sin = rope
        B, T, _ = x.shape
        q_latent = self.q_norm(self.wq_a(x))  # (B, T, q_lora_rank)
        q = self.wq_b(q_latent).view(B, T, c.n_heads, c.head_dim)
        q = rope_tail(F.rms_norm(q.float(), (c.head_dim,), eps=c.eps).type_as(q), cos, sin)  # weightless per-head norm
        kv = rope_tail(self.kv_norm(self.wkv(x)).unsqueeze(2), cos, sin).squeeze(2)  # (B, T, hd)
        keys, keep = self.keys_and_mask(x, q_latent, kv, cos, sin)  # (B, S, hd), (B, T, S)
        logits = torch.einsum("bthd,bsd->bhts", q.float(), keys.float()) / math.sqrt(c.head_dim)
        logits = logits.masked_fill(~keep[:, None], float("-inf"))
        if self.track_max_logit:  # MuonClip reads the step's largest logit per head
            m = logits.detach().amax(dim=(0, 2, 3))
            self.max_logit = m if self.max_logit is None else torch.maximum(self.max_logit, m)
        sink = self.sinks.float().view(1, -1, 1, 1).expand(B, -1, T, 1)  # a logit with no value behind it
        probs = torch.cat([logits, sink], dim=-1).softmax(dim=-1)[..., :-1]  # (B, nh, T, S)
        if self.capture:  # the map: how each query splits what it gives the window's tokens (sink and pools left out)
            window = probs[..., :T].detach()
            self.last_weights = window / window.sum(-1, keepdim=True).clamp_min(1e-30)
        else:
            self.last_weights = None
        self.aux_loss = None
        if self.indexer is not None and self.training and c.index_loss_weight > 0:
            self.aux_loss = c.index_loss_weight * indexer_loss(self._index, probs[..., T:].sum(1), keep[..., T:])
        y = torch.einsum("bhts,bsd->bthd", probs, keys.float()).type_as(x)  # value = key
        y = rope_tail(y, cos, -sin)  # undo the rotation the value carried as a key
        groups = y.reshape(B, T, c.o_groups, -1)  # (B, T, g, nh·hd / g)
        w = self.wo_a.weight.view(c.o_groups, c.o_lora_rank, -1)  # (g, o_lora, nh·hd / g)
        mixed = torch.einsum("btgi,goi->btgo", groups, w.type_as(groups)).reshape(B, T, -1)
        return self.wo_b(mixed)
