"""Reading the trainer's pending steps: their loss tensors turned into StepMetrics in one host sync
(on an accelerator that saves a sync per step), the divergence check, and the metrics.jsonl records."""
from __future__ import annotations

import math
import time

import numpy as np
import torch

from studio.core import errors as E
from studio.core.training.events import StepMetrics
from studio.core.training.routing_readout import read_routing


class TrainingDiverged(E.StudioError):
    """The loss became NaN/Inf: the run stops (CLI exit 1), the last good checkpoint stays."""


def read_pending(t, final: bool = False) -> list[StepMetrics]:
    """The trainer ``t``'s pending steps (tensors) as StepMetrics, with one host sync for all of them,
    written to metrics.jsonl every ``log_interval`` steps; a NaN/Inf loss or gradient stops the run."""
    if not t.pending:
        return []
    zero = torch.zeros((), device=t.device)
    vals = torch.stack([torch.stack([p[2].float(), zero if p[3] is None else p[3].float(),
                                     zero if p[4] is None else p[4].float(), p[5].float()]) for p in t.pending])
    if t.world > 1:  # log the global batch's loss, not this rank's slice
        t.dist.all_reduce(vals)
        vals = vals / t.world
    rows = vals.double().tolist()
    now = time.perf_counter()
    dt = (now - t.t_window) / len(t.pending)
    t.t_window = now
    routing = read_routing(t.moe_layers)  # the latest step's, for the Routing dock's history (plain floats)
    loads = () if routing is None else tuple(np.array(x, dtype=np.float32) for x in routing.load)
    out = []
    for (stp, lr, _, aux_t, other_t, _), (ce, aux, other, gn) in zip(t.pending, rows):
        _check_finite(t, stp, ce, gn)
        t.train_time += dt
        t.recent.append(ce)
        eta = t.budget.remaining_s() if t.budget else (t.cfg.steps - stp) * (
            (t.used_s() - t.t_loop) / max(1, stp - t.loop_step))
        sm = StepMetrics(stp, t.tokens - t.n_tok * (t.step - stp), ce, lr, gn,
                         t.n_tok / dt if dt > 0 else 0.0, now - t.t_start, aux if t.moes else None,
                         other if other_t is not None and other else None, loads if stp == t.step else (),
                         t.data.bits_per_byte(ce), t.planned(), eta, routing if stp == t.step else None)
        if t.out is not None and (stp % max(1, t.cfg.log_interval) == 0 or (final and stp == t.step)):
            t.out.append_metrics(sm.record())
        out.append(sm)
    del t.recent[:-100]
    t.pending.clear()
    return out


def _check_finite(t, stp: int, ce: float, gn: float) -> None:
    if not math.isfinite(ce):
        kept = "(the last good checkpoint is kept); " if t.out is not None and t.out.has_checkpoint() else ""
        raise TrainingDiverged(f"the loss became {ce} at step {stp}; training stopped {kept}"
                               "try a lower learning rate (--lr)")
    if not math.isfinite(gn):
        raise TrainingDiverged(f"the gradient norm became {gn} at step {stp}; training stopped; "
                               "try a lower learning rate (--lr)")
