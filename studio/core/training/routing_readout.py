"""Reading a model's MoE routing right after a training step, as a frozen :class:`RoutingSample`.

It runs where the model is (the trainer, on the worker thread) and copies every layer's numbers
to the host in one transfer, so the event that carries them holds plain floats only and the GUI
never reads a module the trainer is still updating.
"""
from __future__ import annotations

import math

import torch

from studio.core.training.events import RoutingSample


def moe_layers(model) -> list[tuple[str, torch.nn.Module]]:
    """(name, module) of every MoE block: the modules that keep a ``tokens_per_expert`` buffer."""
    return [(n, m) for n, m in model.named_modules() if isinstance(getattr(m, "tokens_per_expert", None), torch.Tensor)]


def read_routing(named_moes) -> RoutingSample | None:
    """Each layer's last-forward expert load (fractions), aux loss and balancing bias; None without MoE."""
    if not named_moes:
        return None
    rows = []
    for _, m in named_moes:
        counts = m.tokens_per_expert.detach().float()
        bias = getattr(m, "expert_bias", None)
        bias = torch.zeros_like(counts) if bias is None else bias.detach().float().to(counts.device)
        aux = getattr(m, "aux_loss", None)
        aux = (counts.new_full((1,), math.nan) if aux is None  # a block without a balance loss
               else torch.as_tensor(aux).detach().float().reshape(-1)[:1].to(counts.device))
        rows.append(torch.cat([counts, bias, aux]))
    host = torch.cat(rows).cpu().tolist()  # one transfer for all layers
    load, aux_out, bias_out, at = [], [], [], 0
    for _, m in named_moes:
        n = m.tokens_per_expert.numel()
        counts = host[at:at + n]
        total = sum(counts)
        load.append(tuple(c / total for c in counts) if total else tuple(counts))
        bias_out.append(tuple(host[at + n:at + 2 * n]))
        aux_out.append(host[at + 2 * n])
        at += 2 * n + 1
    return RoutingSample(tuple(n for n, _ in named_moes), tuple(load), tuple(aux_out), tuple(bias_out))
