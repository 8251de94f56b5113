"""Sampling replies and reading a model's numbers on them, for the RLHF stages.

Every batch is ``prompts`` (B, P), left-padded so that all replies start at column P, and
``replies`` (B, R): sampled tokens, with EOS ending a reply and EOS again after it (the mask
says which tokens a reply really has). Scores are per reply token: the log-probability the
model gives it, and the final hidden state the token was predicted from (read at the LM head's
input, where a scalar head of the reward or value model sits).
"""
from __future__ import annotations

EOS = 2


def sample(model, prompts, n_new: int, temperature: float, gen):
    """(B, n_new) reply tokens, EOS after a reply's end. A row that has sampled EOS leaves the batch:
    the model has no KV cache, so every new token reruns the whole sequence, and one long reply kept
    every finished row of its batch running to the end."""
    import torch
    out = torch.full((prompts.shape[0], n_new), EOS, dtype=torch.long)
    rows = torch.arange(prompts.shape[0])
    idx = prompts
    with torch.no_grad():
        for t in range(n_new):
            logits, _ = model(idx[:, -model.context:])
            last = logits[:, -1, :].float()
            if temperature <= 0:
                nxt = last.argmax(-1)
            else:
                nxt = torch.multinomial(torch.softmax(last / temperature, -1), 1, generator=gen).squeeze(1)
            out[rows, t] = nxt
            going = nxt != EOS
            if not bool(going.any()):
                break
            rows, idx = rows[going], torch.cat([idx, nxt[:, None]], 1)[going]
    return out


def reply_mask(replies):
    """1 for a reply's tokens up to and including its first EOS, 0 after it."""
    e = (replies == EOS).int()
    return ((e.cumsum(1) - e) == 0).float()


def last_index(mask):
    """(B,) column of each reply's last real token."""
    return (mask.sum(1).long() - 1).clamp(min=0)


def logprobs(model, prompts, replies):
    """(B, R) log-probability of every reply token under ``model``."""
    import torch
    seq = torch.cat([prompts, replies], 1)
    logits, _ = model(seq[:, :-1])
    logits = logits[:, prompts.shape[1] - 1:, :].float()
    return torch.log_softmax(logits, -1).gather(-1, replies.unsqueeze(-1)).squeeze(-1)


def hidden_states(model, tokens):
    """(B, T, D): the final hidden state at every position (the LM head's input)."""
    head = getattr(model, model.head_id)
    seen = {}

    def keep(_module, args, kwargs):
        seen["h"] = args[0] if args else next(iter(kwargs.values()))

    handle = head.register_forward_pre_hook(keep, with_kwargs=True)
    try:
        model(tokens)
    finally:
        handle.remove()
    return seen["h"]


def hidden_width(model) -> int:
    return int(getattr(model, model.head_id).weight.shape[1])


def chunks(n: int, size: int):
    for i in range(0, n, size):
        yield slice(i, min(n, i + size))
