"""The chat template of the ChatGPT experiment's model, and a reply streamed turn by turn.

A conversation is BOS, then for every turn ``"<|user|> {text}\\n<|assistant|>"`` and the reply
followed by EOS. The markers are plain text, written with the tokenizer's own pieces (a 512-piece
vocabulary has no special tokens for them); EOS ends the assistant's turn. A run folder whose
run.yaml has a ``chat`` entry carries its template: ``archstudio generate --chat`` and the app's
Generate panel then talk to it turn by turn instead of continuing a text.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from studio.core import errors as E

BOS, EOS = 1, 2


@dataclass(frozen=True)
class ChatTemplate:
    user: str = "<|user|>"
    assistant: str = "<|assistant|>"

    def record(self) -> dict:
        """What run.yaml keeps (``chat:``)."""
        return {"user": self.user, "assistant": self.assistant, "end_of_turn": "eos"}

    @classmethod
    def from_record(cls, data, where: str = "run.yaml") -> ChatTemplate:
        if not isinstance(data, dict) or not all(isinstance(data.get(k), str) and 0 < len(data[k]) <= 40
                                                 for k in ("user", "assistant")):
            raise E.LoadError(f"{where}: chat: must name the user and assistant markers (text of 1 to 40 characters)")
        return cls(data["user"], data["assistant"])

    def turn_text(self, user_text: str) -> str:
        return f"{self.user} {user_text.strip()}\n{self.assistant}"

    def ids(self, tok, turns) -> list[int]:
        """Token ids of ``turns`` [(user text, reply text or None)]; the last reply None = the
        model's turn (the ids end after the assistant marker)."""
        out = [BOS]
        for user_text, reply in turns:
            out += tok.encode(self.turn_text(user_text), bos=False)
            if reply is not None:
                out += tok.encode(reply, bos=False) + [EOS]
        return out


def template_of_run(run_dir) -> ChatTemplate | None:
    """The chat template a run folder carries, None for a model that continues text."""
    from studio.core.runs.rundir import RunDir
    data = RunDir(run_dir).read_config().get("chat")
    return None if data is None else ChatTemplate.from_record(data, str(RunDir(run_dir).config_path))


def reply_stream(model, tok, template: ChatTemplate, turns, max_new_tokens: int = 60, temperature: float = 0.8,
                 top_k: int | None = None, top_p: float | None = None, seed: int | None = None,
                 should_stop: Callable[[], bool] = lambda: False) -> Iterator[str]:
    """The model's reply to the last turn, piece by piece, until EOS (the end of its turn), BOS or
    ``max_new_tokens``. A conversation longer than the context keeps its latest tokens."""
    import torch
    model.eval()
    gen = torch.Generator()
    gen.manual_seed(int(seed)) if seed is not None else gen.seed()
    idx = torch.tensor([template.ids(tok, turns)[-model.context:]], dtype=torch.long)
    new: list[int] = []
    printed = ""
    for _ in range(max(0, int(max_new_tokens))):
        if should_stop():
            break
        idx = model.generate(idx[:, -model.context:], 1, max(0.0, float(temperature)), top_k, top_p, generator=gen)
        nxt = int(idx[0, -1])
        if nxt in (EOS, BOS):
            break
        new.append(nxt)
        text = tok.decode(new).lstrip()
        if text.startswith(printed) and not text.endswith("\ufffd"):
            yield text[len(printed):]
            printed = text
    text = tok.decode(new).lstrip()
    if text != printed and text.startswith(printed):
        yield text[len(printed):]


def chat_job(source, template: ChatTemplate, turns, settings: dict, control) -> Iterator:
    """The Generate panel's job in chat mode: TextPiece events of the reply to ``turns``' last turn."""
    import torch

    from studio.core.jobs.generate import TextPiece
    from studio.core.jobs.weights import load
    torch.set_num_threads(1)
    model, tok = load(source)
    for piece in reply_stream(model, tok, template, turns, should_stop=control.should_stop, **settings):
        yield TextPiece(piece)
