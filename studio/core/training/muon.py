"""Muon (Jordan et al., 2024) for the hidden 2-D weight matrices, AdamW for everything else
(embeddings, output head, norms, biases), in one optimizer so checkpoints hold one state dict.

Muon: Nesterov momentum, then the update matrix is replaced by its nearest semi-orthogonal
matrix (5 Newton–Schulz iterations of the quintic with coefficients 3.4445, -4.7750, 2.0315),
scaled by sqrt(max(1, rows/cols)). QK-clip (MuonClip) is not implemented.
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


class MuonAdamW(torch.optim.Optimizer):
    """Param groups with ``muon=True`` get Muon, the others AdamW."""

    def __init__(self, groups, lr=3e-3, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.0, momentum=0.95):
        super().__init__(groups, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, momentum=momentum,
                                      muon=False))

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            lr, wd = group["lr"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g, state = p.grad, self.state[p]
                if wd:
                    p.mul_(1 - lr * wd)
                if group["muon"]:
                    buf = state.setdefault("momentum_buffer", torch.zeros_like(p))
                    buf.mul_(group["momentum"]).add_(g)
                    update = g.add(buf, alpha=group["momentum"])  # Nesterov
                    scale = max(1.0, p.size(0) / p.size(1)) ** 0.5
                    p.add_(orthogonalize(update), alpha=-lr * scale)
                else:
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
