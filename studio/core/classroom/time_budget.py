"""Fitting a step count to a time budget by measuring this machine (lesson prepare sizes a model's
intervals with it; a race times its first real step instead, race_steps.py).

The schedule (warmup, cosine decay) needs the run's total steps up front, so a budget in
minutes is turned into steps by timing a few real training steps of the model on its data
(forward + backward, no optimizer step, gradients dropped: the weights stay untouched), then
leaving a margin for the evaluations and checkpoints the run also does.
"""
from __future__ import annotations

EVAL_MARGIN = 0.9  # share of the budget left for training steps (evals, checkpoints, samples take the rest)


def measure_step_seconds(model, data, batch_size: int, context: int, device: str = "cpu", precision: str = "fp32",
                         steps: int = 3) -> float:
    """Median seconds of one training step's forward + backward (after one untimed warm-up)."""
    import torch

    from studio.core.training.speed import fwd_bwd_seconds
    from studio.core.training.trainer import Batcher, is_encoder_decoder, pick_device
    dev = pick_device(device)
    model.to(dev).train()
    T = min(context, model.context)
    batcher = Batcher(data.train, T, is_encoder_decoder(model), dev)
    gen = torch.Generator().manual_seed(0)  # its own generator: the run's batch order is untouched
    rng = torch.get_rng_state()
    times = sorted(fwd_bwd_seconds(model, [batcher.sample(batch_size, gen) for _ in range(steps + 1)], dev,
                                   precision)[1:])
    model.zero_grad(set_to_none=True)
    torch.set_rng_state(rng)
    return times[len(times) // 2] * 1.15  # the optimizer step and clipping add roughly this much


def steps_for(seconds: float, step_seconds: float, minimum: int = 10) -> int:
    """Optimizer steps that fit ``seconds`` at ``step_seconds`` each, keeping the eval margin."""
    if seconds <= 0:
        return minimum
    return max(minimum, int(seconds * EVAL_MARGIN / max(1e-6, step_seconds)))
