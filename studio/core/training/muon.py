"""Muon (Jordan et al., 2024) for the hidden 2-D weight matrices, AdamW for everything else
(embeddings, output head, norms, biases), in one optimizer so checkpoints hold one state dict.

Muon: Nesterov momentum, then the update matrix is replaced by its nearest semi-orthogonal
matrix (5 Newton–Schulz iterations of the quintic with coefficients 3.4445, -4.7750, 2.0315),
scaled by sqrt(max(1, rows/cols)). The iterations run in bf16 where the hardware has it natively
(as in Jordan's reference implementation; AMX halves their time for the classroom LLaMAs), in fp32
elsewhere. QK-clip (MuonClip) is not implemented.
"""
from __future__ import annotations

import torch

NS_COEFFS = (3.4445, -4.7750, 2.0315)


def orthogonalize(g: torch.Tensor, steps: int = 5, eps: float = 1e-7) -> torch.Tensor:
    a, b, c = NS_COEFFS
    x = g.float()
    tall = x.size(0) > x.size(1)
    if tall:
        x = x.T
    x = x / (x.norm() + eps)  # spectral norm <= Frobenius norm <= 1: inside the iteration's basin
    for _ in range(steps):
        A = x @ x.T
        B = b * A + c * A @ A
        x = a * x + B @ x
    return (x.T if tall else x).to(g.dtype)


def orthogonalize_batch(gs: list[torch.Tensor], steps: int = 5, eps: float = 1e-7,
                        dtype: torch.dtype = torch.float32) -> list[torch.Tensor]:
    """``orthogonalize`` of each matrix, same-shaped ones stacked into one batched iteration: a
    small model's ~35 hidden matrices take ~4 batched runs of bmm instead of ~500 tiny matmuls
    (at stories260K the per-matrix loop cost a third of a training step)."""
    a, b, c = NS_COEFFS
    out: list[torch.Tensor | None] = [None] * len(gs)
    by_shape: dict[tuple, list[int]] = {}
    for i, g in enumerate(gs):
        r, k = g.shape
        by_shape.setdefault((min(r, k), max(r, k)), []).append(i)  # wide orientation: rows <= cols
    for idx in by_shape.values():
        x = torch.stack([gs[i].float().T if gs[i].size(0) > gs[i].size(1) else gs[i].float() for i in idx])
        x = (x / (x.flatten(1).norm(dim=1)[:, None, None] + eps)).to(dtype)
        for _ in range(steps):
            A = torch.bmm(x, x.transpose(1, 2))
            B = torch.baddbmm(A, A, A, beta=b, alpha=c)  # b*A + c*A@A
            x = torch.baddbmm(x, B, x, beta=a)           # a*x + B@x
        for j, i in enumerate(idx):
            o = x[j].T if gs[i].size(0) > gs[i].size(1) else x[j]
            out[i] = o.to(gs[i].dtype)
    return out


class MuonAdamW(torch.optim.Optimizer):
    """Param groups with ``muon=True`` get Muon, the others AdamW."""

    def __init__(self, groups, lr=3e-3, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.0, momentum=0.95,
                 ns_dtype: torch.dtype = torch.float32):
        super().__init__(groups, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, momentum=momentum,
                                      muon=False))
        self.ns_dtype = ns_dtype  # bf16 where the hardware has it natively, as the reference Muon runs it

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            lr, wd = group["lr"], group["weight_decay"]
            if group["muon"]:
                self._muon_step(group, lr, wd)
                continue
            for p in group["params"]:
                if p.grad is None:
                    continue
                g, state = p.grad, self.state[p]
                if wd:
                    p.mul_(1 - lr * wd)
                b1, b2 = group["betas"]
                if not state:
                    state["step"] = torch.zeros((), dtype=torch.float32)
                    state["exp_avg"] = torch.zeros_like(p)
                    state["exp_avg_sq"] = torch.zeros_like(p)
                state["step"] += 1
                t = float(state["step"])
                state["exp_avg"].lerp_(g, 1 - b1)
                state["exp_avg_sq"].mul_(b2).addcmul_(g, g, value=1 - b2)
                denom = (state["exp_avg_sq"] / (1 - b2 ** t)).sqrt_().add_(group["eps"])
                p.addcdiv_(state["exp_avg"], denom, value=-lr / (1 - b1 ** t))
        return None

    def _muon_step(self, group, lr, wd):
        params = [p for p in group["params"] if p.grad is not None]
        updates = []
        for p in params:
            state = self.state[p]
            if wd:
                p.mul_(1 - lr * wd)
            buf = state.setdefault("momentum_buffer", torch.zeros_like(p))
            buf.mul_(group["momentum"]).add_(p.grad)
            updates.append(p.grad.add(buf, alpha=group["momentum"]))  # Nesterov
        for p, o in zip(params, orthogonalize_batch(updates, dtype=self.ns_dtype)):
            p.add_(o, alpha=-lr * max(1.0, p.size(0) / p.size(1)) ** 0.5)


def muon_groups(model, cfg) -> list[dict]:
    """Hidden matrices -> Muon (lr cfg.muon_lr); embeddings, head, 1-D params -> AdamW (lr cfg.lr)."""
    params = {id(p): (n, p) for n, p in model.named_parameters() if p.requires_grad}
    skip = {id(model.embedding_weight)}
    head = getattr(model, getattr(model, "head_id", ""), None)
    if head is not None and getattr(head, "weight", None) is not None:
        skip.add(id(head.weight))
    for n, p in model.named_parameters():
        if "embed" in n.split(".")[-2:][0] or n.endswith(("positions.weight", "pe")):
            skip.add(id(p))
    muon = [p for i, (_, p) in params.items() if p.dim() == 2 and i not in skip]
    adam_decay = [p for i, (_, p) in params.items() if p.dim() >= 2 and i in skip]
    adam_rest = [p for i, (_, p) in params.items() if p.dim() < 2 or (p.dim() > 2 and i not in skip)]
    groups = [{"params": muon, "muon": True, "lr": cfg.muon_lr, "base_lr": cfg.muon_lr, "weight_decay": cfg.weight_decay},
              {"params": adam_decay, "lr": cfg.lr, "base_lr": cfg.lr, "weight_decay": cfg.weight_decay},
              {"params": adam_rest, "lr": cfg.lr, "base_lr": cfg.lr, "weight_decay": 0.0}]
    return [g for g in groups if g["params"]]
