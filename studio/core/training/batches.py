"""Batches of token windows, held-out evaluation and the live sample text."""
from __future__ import annotations

import numpy as np
import torch

from studio.core import errors as E
from studio.core.tokenizers import BOS

SAMPLE_TEMPERATURE = 0.8  # the live sample and the Generate defaults: a young model still writes on
SAMPLE_TOP_P = 0.9        # past the first full stop, without the tail of unlikely tokens


def is_encoder_decoder(model) -> bool:
    return "source" in getattr(model, "inputs", {}).values()


class Batcher:
    """Random windows of the token stream, as llama2.c's batches. For an encoder-decoder model a
    window of 2T tokens is split: the encoder reads the first T, the decoder starts from BOS and
    predicts the next T. A batch is gathered with one vectorized index (no per-row Python)."""

    def __init__(self, tokens: np.ndarray, T: int, encdec: bool, device):
        self.tokens, self.T, self.encdec, self.device = tokens, T, encdec, device
        self.span = 2 * T if encdec else T + 1
        if len(tokens) <= self.span:
            raise E.StudioError(f"the training data has {len(tokens):,} tokens, too few for windows of {self.span}; "
                                "use more data or a smaller --context")
        self._offsets = np.arange(self.span, dtype=np.int64)
        self._pin = getattr(device, "type", "cpu") == "cuda"  # page-locked: the copy overlaps compute

    def windows(self, starts) -> tuple:
        idx = np.asarray(starts, dtype=np.int64)[:, None] + self._offsets
        w = torch.from_numpy(self.tokens[idx].astype(np.int64))
        if self._pin:
            w = w.pin_memory()
        if self.encdec:
            T = self.T
            src, y = w[:, :T], w[:, T:]
            x = torch.cat([torch.full((len(w), 1), BOS, dtype=torch.long), y[:, :-1]], 1)
        else:
            src, x, y = None, w[:, :-1], w[:, 1:]
        to = (lambda t: None if t is None else t.to(self.device, non_blocking=True))
        return to(x), to(y), to(src)

    def sample(self, B: int, gen: torch.Generator) -> tuple:
        starts = torch.randint(0, len(self.tokens) - self.span, (B,), generator=gen).numpy()
        return self.windows(starts)

    def fixed(self, B: int) -> tuple:
        """B evenly spaced windows, drawing no random numbers (warm-up and probes)."""
        return self.windows(np.linspace(0, len(self.tokens) - self.span - 1, B).astype(np.int64))


def eval_batcher(val: np.ndarray, T: int, encdec: bool, device) -> Batcher:
    # a tiny validation split still gets evaluated, on shorter windows
    span_T = T if len(val) > (2 * T if encdec else T + 1) else max(2, (len(val) - 1) // (2 if encdec else 1) - 1)
    return Batcher(val, span_T, encdec, device)


@torch.no_grad()
def evaluate(model, val_batcher: Batcher, batches: int, B: int) -> float:
    """Mean cross-entropy over fixed, evenly spaced windows of the held-out split."""
    was = model.training
    model.eval()
    n = max(1, batches * B)
    starts = np.linspace(0, len(val_batcher.tokens) - val_batcher.span - 1, n).astype(int)
    losses = []
    for i in range(0, n, B):
        x, y, src = val_batcher.windows(starts[i:i + B])
        model(x, y, source=src)
        losses.append(model.last_loss_terms["ce"])
    model.train(was)
    return float(np.mean([float(v) for v in losses]))


@torch.no_grad()
def sample_text(model, tokenizer, n_tokens: int, gen: torch.Generator, device, prompt: str = "",
                temperature: float = SAMPLE_TEMPERATURE, top_k: int | None = None,
                top_p: float | None = SAMPLE_TOP_P) -> str:
    was = model.training
    model.eval()
    ids = tokenizer.encode(prompt, bos=True) if prompt else [BOS]
    idx = torch.tensor([ids], dtype=torch.long, device=device)
    if is_encoder_decoder(model):
        src, start = idx[:, -model.context:], torch.tensor([[BOS]], device=device)
        out = model.generate(start, n_tokens, temperature, top_k, top_p, stop_token=BOS, source=src, generator=gen)
        text = tokenizer.decode(ids + out[0, 1:].tolist())
    else:
        out = model.generate(idx, n_tokens, temperature, top_k, top_p, stop_token=BOS, generator=gen)
        text = tokenizer.decode(out[0].tolist())
    model.train(was)
    return text
