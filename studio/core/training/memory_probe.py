"""Measure the peak memory of real tensors during a training step (CPU or GPU alike).

A TorchDispatchMode sees every tensor an op produces; it tracks each distinct storage until
its weak reference dies, so the running sum is the bytes of live tensor storage and its
maximum is the step's peak. This checks the accounting's training-memory estimate.
"""
from __future__ import annotations

import torch
from torch.multiprocessing.reductions import StorageWeakRef
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten


class LiveTensorBytes(TorchDispatchMode):
    def __init__(self, preexisting=()):
        super().__init__()
        self.live: dict[int, tuple[StorageWeakRef, int]] = {}
        self.current = self.peak = 0
        for t in preexisting:
            self._track(t)

    def _track(self, t: torch.Tensor) -> None:
        st = t.untyped_storage()
        key = st._cdata
        if key in self.live:
            return
        n = st.nbytes()
        self.live[key] = (StorageWeakRef(st), n)
        self.current += n
        self.peak = max(self.peak, self.current)

    def _sweep(self) -> None:
        for key, (ref, n) in list(self.live.items()):
            if ref.expired():
                del self.live[key]
                self.current -= n

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        self._sweep()
        for t in tree_flatten(out)[0]:
            if isinstance(t, torch.Tensor):
                self._track(t)
        return out


def measure_training_step(model, batch: int, context: int, vocab: int, lr: float = 1e-3, seed: int = 0) -> int:
    """Peak bytes of live tensors over one steady-state AdamW step (the second one, so the
    optimizer state already exists): weights, optimizer state, activations, gradients."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, vocab, (batch, context), generator=g)
    opt = torch.optim.AdamW(model.parameters(), lr=lr)
    model.train()
    _, loss = model(x, targets=x, source=x)  # warm-up step: creates the optimizer state
    loss.backward()
    opt.step()
    opt.zero_grad(set_to_none=True)
    del loss
    state = [t for s in opt.state.values() for t in s.values() if isinstance(t, torch.Tensor)]
    with LiveTensorBytes(list(model.parameters()) + state) as probe:
        _, loss = model(x, targets=x, source=x)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
    return probe.peak
