"""Streaming text generation shared by ``archstudio generate`` and the GUI's Generate panel.

The loop is run.c's: BOS, then the prompt, then sampled tokens until the model samples BOS
(a new story) or ``max_new_tokens`` are written (the prompt is not counted). For an
encoder-decoder (the 2017 Transformer) the prompt feeds the encoder and the decoder writes the
continuation, starting from BOS. Text comes out as llama2.c prints it (Tokenizer.decode).
"""
from __future__ import annotations

from typing import Callable, Iterator

import torch

from studio.core.tokenizers import BOS
from studio.core.training.trainer import is_encoder_decoder


@torch.no_grad()
def generate_stream(model, tokenizer, prompt: str, max_new_tokens: int = 200, temperature: float = 1.0,
                    top_k: int | None = None, top_p: float | None = None, seed: int | None = None,
                    should_stop: Callable[[], bool] = lambda: False) -> Iterator[str]:
    """Yield the decoded prompt first, then each new piece of text as tokens are sampled."""
    model.eval()
    device = next(model.parameters()).device
    gen = torch.Generator(device=device)
    if seed is not None:
        gen.manual_seed(int(seed))
    else:
        gen.seed()
    prompt_ids = tokenizer.encode(prompt, bos=True) if prompt else [BOS]
    encdec = is_encoder_decoder(model)
    if encdec:
        source = torch.tensor([prompt_ids[-model.context:]], device=device)
        idx = torch.tensor([[BOS]], device=device)
    else:
        source, idx = None, torch.tensor([prompt_ids], device=device)
    shown_ids = list(prompt_ids)  # what the text is decoded from (prompt, then new tokens)
    printed = tokenizer.decode(shown_ids)
    yield printed
    temperature = max(0.0, float(temperature))
    for _ in range(max(0, int(max_new_tokens))):
        if should_stop():
            break
        idx = model.generate(idx, 1, temperature, top_k, top_p, source=source, generator=gen)
        nxt = int(idx[0, -1])
        if nxt == BOS:
            break
        shown_ids.append(nxt)
        text = tokenizer.decode(shown_ids)
        # wait while a multi-byte character is still incomplete (it decodes to U+FFFD for now)
        if text.startswith(printed) and not text.endswith("\ufffd"):
            yield text[len(printed):]
            printed = text
    text = tokenizer.decode(shown_ids)
    if text != printed and text.startswith(printed):
        yield text[len(printed):]
