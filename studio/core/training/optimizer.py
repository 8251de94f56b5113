"""The optimizer a run trains with: AdamW with llama2.c's weight-decay groups (2-D weights decay,
norms and biases do not), or Muon for the hidden matrices beside AdamW for the rest (muon.py)."""
from __future__ import annotations

import torch

from studio.core import errors as E
from studio.core.training.config import TrainConfig, pick_device


def make_optimizer(model: torch.nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    if cfg.optimizer in ("muon", "muonclip"):
        from studio.core.training.muon import MuonAdamW, muon_groups
        from studio.core.training.speed import native_bf16
        ns = torch.bfloat16 if native_bf16(pick_device(cfg.device)) else torch.float32
        return MuonAdamW(muon_groups(model, cfg), lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), ns_dtype=ns)
    if cfg.optimizer != "adamw":
        raise E.StudioError(f"unknown optimizer {cfg.optimizer!r}; choose adamw, muon or muonclip")
    params = {id(p): p for p in model.parameters() if p.requires_grad}  # tied weights once
    decay = [p for p in params.values() if p.dim() >= 2]
    no_decay = [p for p in params.values() if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": cfg.weight_decay, "base_lr": cfg.lr},
              {"params": no_decay, "weight_decay": 0.0, "base_lr": cfg.lr}]
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), eps=1e-8)
