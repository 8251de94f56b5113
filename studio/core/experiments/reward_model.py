"""InstructGPT's reward model at toy scale: the SFT model with a scalar head, trained on preference
pairs of its own samples. As the paper's labellers rank the SFT model's answers, here the SFT
model writes several replies per instruction and the checkable rule ranks them: a pair is
(a reply that follows, one that does not) of the same instruction. The loss is the paper's
−log σ(r(chosen) − r(rejected)).

The paper reads the score at the reply's last token (``pooling="last"``). Here the default is
``"sum"``, a departure from the paper: the score is the sum of a scalar read at every reply token.
Read at the last token, the small model learnt which (name, word) pairs of its training were
followed, not the check itself; a sum of per-token terms lets "this token is the instruction's
name" and "this token is its word" add up, whatever the pair. On the same SFT models of seeds
1337, 1 and 2 (starter stories, 300 steps, with the one-word counterfactuals of
instructions.contrast), held-out pair accuracy: last token 0.70 / 0.56 / 0.50, sum 0.75 / 0.88 / 0.97.
"""
from __future__ import annotations

import random

from studio.core.experiments import rollout as R


POOLINGS = ("last", "sum", "mean")


def make_reward_model(sft, pooling: str = "last"):
    """The SFT model's copy with a scalar head on its final hidden state (the paper's RM is
    initialised from an SFT model too); the LM head stays but is not used. ``pooling``: where the
    score is read (module docstring)."""
    if pooling not in POOLINGS:
        raise ValueError(f"pooling {pooling!r}: one of {POOLINGS}")
    import copy

    import torch

    class RewardModel(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.body = copy.deepcopy(sft)
            self.head = torch.nn.Linear(R.hidden_width(sft), 1)
            torch.nn.init.zeros_(self.head.weight)
            torch.nn.init.zeros_(self.head.bias)

        def per_position(self, tokens):
            """(B, T) scalar at every position."""
            return self.head(R.hidden_states(self.body, tokens)).squeeze(-1)

        def terms(self, prompts, replies):
            """(B, R) what each reply token adds to the score (0 after the reply's end): the scalar
            at every token for "sum", its share for "mean", all of it at the last token for "last"."""
            import torch
            per = self.per_position(torch.cat([prompts, replies], 1))[:, prompts.shape[1]:]
            mask = R.reply_mask(replies)
            if pooling == "last":
                at = R.last_index(mask)[:, None]
                return torch.zeros_like(per).scatter(1, at, per.gather(1, at))
            return per * mask if pooling == "sum" else per * mask / mask.sum(1, keepdim=True)

        def score(self, prompts, replies):
            """(B,) the reward of each reply: the scalar at its last real token, or the sum or mean
            of the scalars at all its tokens (EOS included)."""
            return self.terms(prompts, replies).sum(1)

        def values(self, prompts, replies):
            """(B, R) the value of the state each reply token is chosen in (PPO's value model)."""
            import torch
            seq = torch.cat([prompts, replies], 1)[:, :-1]
            return self.per_position(seq)[:, prompts.shape[1] - 1:]

    return RewardModel()


def preference_pairs(policy, tok, instructions, prompt_of, follows, samples: int, temperature: float,
                     gen, per_prompt: int = 2, max_new: int = 24, batch: int = 128):
    """Pairs (prompt ids, chosen reply ids, rejected reply ids) from the policy's own samples:
    ``samples`` replies per instruction, ranked by the rule ``follows(instruction, text)``.
    Returns (pairs, share of the samples that followed)."""
    from studio.core.experiments.instructions import decode_reply, left_pad
    rows = [(ins, prompt_of(ins)) for ins in instructions for _ in range(samples)]
    replies, followed = [], []
    for sl in R.chunks(len(rows), batch):
        chunk = rows[sl]
        out = R.sample(policy, left_pad([p for _, p in chunk]), max_new, temperature, gen)
        for (ins, _), ids in zip(chunk, out.tolist()):
            replies.append(_trim(ids))
            followed.append(follows(ins, decode_reply(tok, ids)))
    pick = random.Random(int(gen.initial_seed()) + 1)
    pairs = []
    for i in range(0, len(rows), samples):
        good = [j for j in range(i, i + samples) if followed[j]]
        bad = [j for j in range(i, i + samples) if not followed[j]]
        combos = [(g, b) for g in good for b in bad]
        for g, b in pick.sample(combos, min(per_prompt, len(combos))):
            pairs.append((rows[i][1], replies[g], replies[b]))
    return pairs, sum(followed) / max(1, len(followed))


def _trim(ids: list[int]) -> list[int]:
    """A reply's tokens up to and including its first EOS."""
    return ids[:ids.index(R.EOS) + 1] if R.EOS in ids else list(ids)


def pad_replies(replies: list[list[int]]):
    import torch
    width = max(len(r) for r in replies)
    return torch.tensor([list(r) + [R.EOS] * (width - len(r)) for r in replies], dtype=torch.long)


def pair_margins(rm, pairs, batch: int = 64):
    """r(chosen) − r(rejected) of every pair (no gradient)."""
    import torch

    from studio.core.experiments.instructions import left_pad
    out = []
    with torch.no_grad():
        for sl in R.chunks(len(pairs), batch):
            chunk = pairs[sl]
            prompts = left_pad([p for p, _, _ in chunk])
            out.append(rm.score(prompts, pad_replies([c for _, c, _ in chunk]))
                       - rm.score(prompts, pad_replies([r for _, _, r in chunk])))
    return torch.cat(out) if out else torch.zeros(0)


def accuracy(rm, pairs) -> float:
    """Share of pairs whose chosen reply the reward model scores higher."""
    rm.eval()
    m = pair_margins(rm, pairs)
    return float((m > 0).float().mean()) if len(m) else float("nan")


def train(rm, pairs, steps: int, batch: int, lr: float, seed: int, should_stop, over=lambda step: False) -> dict | None:
    """The pairwise loss for ``steps`` minibatches, fewer when ``over(step)`` (the stage's share of
    the deadline is spent); None when stopped."""
    import torch
    import torch.nn.functional as F

    from studio.core.experiments.instructions import left_pad
    torch.manual_seed(seed)
    opt = torch.optim.AdamW(rm.parameters(), lr=lr, weight_decay=0.0)
    r = random.Random(seed)
    rm.train()
    loss_sum, done = 0.0, 0
    for step in range(steps):
        if should_stop():
            return None
        if over(step):
            break
        chunk = r.sample(pairs, min(batch, len(pairs)))
        prompts = left_pad([p for p, _, _ in chunk])
        margin = (rm.score(prompts, pad_replies([c for _, c, _ in chunk]))
                  - rm.score(prompts, pad_replies([x for _, _, x in chunk])))
        loss = -F.logsigmoid(margin).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(rm.parameters(), 1.0)
        opt.step()
        loss_sum += float(loss.detach())
        done += 1
    rm.eval()
    return {"steps": done, "pairs": len(pairs), "mean_loss": loss_sum / max(1, done)}
