"""Text generation as a generator of pieces of text."""
from __future__ import annotations

import dataclasses
from typing import Iterator

from studio.core.jobs.control import JobControl
from studio.core.jobs.weights import WeightsSource, load


@dataclasses.dataclass(frozen=True)
class TextPiece:
    text: str


def generate_job(source: WeightsSource, prompt: str, settings: dict, control: JobControl) -> Iterator[TextPiece]:
    """The prompt's text first, then each sampled piece; stops between tokens on ``control``."""
    import torch

    from studio.core.training.generation import generate_stream
    torch.set_num_threads(1)  # this thread only; the trainer may be using the other cores
    model, tok = load(source)
    for text in generate_stream(model, tok, prompt, should_stop=control.should_stop, **settings):
        yield TextPiece(text)
