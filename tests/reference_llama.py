"""A small hand-written LLaMA (in the style of llama2.c's model.py), the reference the compiled
graph is checked against. Independent of blocks/: own RMSNorm, RoPE (complex numbers), attention."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class RMSNorm(nn.Module):
    def __init__(self, dim, eps=1e-5):
        super().__init__()
        self.eps, self.weight = eps, nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def freqs_cis(hd, T, theta=10000.0):
    f = 1.0 / (theta ** (torch.arange(0, hd, 2).float() / hd))
    return torch.polar(torch.ones(T, hd // 2), torch.outer(torch.arange(T).float(), f))


def rotate(x, fc):  # x (B, T, H, hd): adjacent pairs as complex numbers
    xc = torch.view_as_complex(x.float().reshape(*x.shape[:-1], -1, 2))
    return torch.view_as_real(xc * fc[None, :, None, :]).flatten(3).type_as(x)


class Attention(nn.Module):
    def __init__(self, d, nh, nkv):
        super().__init__()
        self.nh, self.nkv, self.hd = nh, nkv, d // nh
        self.wq = nn.Linear(d, nh * self.hd, bias=False)
        self.wk = nn.Linear(d, nkv * self.hd, bias=False)
        self.wv = nn.Linear(d, nkv * self.hd, bias=False)
        self.wo = nn.Linear(nh * self.hd, d, bias=False)

    def forward(self, x, fc):
        B, T, _ = x.shape
        q = rotate(self.wq(x).view(B, T, self.nh, self.hd), fc)
        k = rotate(self.wk(x).view(B, T, self.nkv, self.hd), fc)
        v = self.wv(x).view(B, T, self.nkv, self.hd)
        rep = self.nh // self.nkv
        k = k[:, :, :, None, :].expand(B, T, self.nkv, rep, self.hd).reshape(B, T, self.nh, self.hd)
        v = v[:, :, :, None, :].expand(B, T, self.nkv, rep, self.hd).reshape(B, T, self.nh, self.hd)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.wo(y.transpose(1, 2).reshape(B, T, -1))


class FeedForward(nn.Module):
    def __init__(self, d, h):
        super().__init__()
        self.w1, self.w2, self.w3 = nn.Linear(d, h, bias=False), nn.Linear(h, d, bias=False), nn.Linear(d, h, bias=False)

    def forward(self, x):
        return self.w2(F.silu(self.w1(x)) * self.w3(x))


class Block(nn.Module):
    def __init__(self, d, nh, nkv, h):
        super().__init__()
        self.attention_norm, self.attention = RMSNorm(d), Attention(d, nh, nkv)
        self.ffn_norm, self.feed_forward = RMSNorm(d), FeedForward(d, h)

    def forward(self, x, fc):
        h = x + self.attention(self.attention_norm(x), fc)
        return h + self.feed_forward(self.ffn_norm(h))


class ReferenceLlama(nn.Module):
    def __init__(self, vocab, d, n_layers, nh, nkv, h, ctx, tied=False):
        super().__init__()
        self.tok_embeddings = nn.Embedding(vocab, d)
        self.layers = nn.ModuleList(Block(d, nh, nkv, h) for _ in range(n_layers))
        self.norm = RMSNorm(d)
        self.output = nn.Linear(d, vocab, bias=False)
        if tied:
            self.output.weight = self.tok_embeddings.weight
        self.register_buffer("fc", freqs_cis(d // nh, ctx), persistent=False)
        for name, p in self.named_parameters():
            if p.dim() == 2:
                nn.init.normal_(p, std=0.02 / (math.sqrt(2 * n_layers) if name.endswith(("wo.weight", "w3.weight")) else 1))

    def forward(self, tokens, targets=None):
        T = tokens.shape[1]
        x = self.tok_embeddings(tokens)
        for layer in self.layers:
            x = layer(x, self.fc[:T])
        logits = self.output(self.norm(x))
        loss = None if targets is None else F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))
        return logits, loss
