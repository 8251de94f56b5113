"""The instruction data of the InstructGPT and ChatGPT experiments, built from the stories.

An instruction is ``"Write a story about {name} that uses the word {word}."``; the checkable rule
(:func:`follows`) says a reply follows it when it names the name and uses the word (whole words,
the word in any case). A demonstration (what InstructGPT's labellers wrote) is a sentence of the
corpus that holds a name and the word, with its name replaced by the instructed one, so that the
name in the reply has to come from the instruction. Names are those of :data:`NAMES` the corpus
uses; words are the corpus's frequent content words of sentences that hold a name.

The (name, word) pairs are split: the held-out instructions are combinations never used by any
stage (SFT, reward model, PPO), so following them means reading the instruction, not recalling it.
"""
from __future__ import annotations

import random
import re
from collections import Counter
from dataclasses import dataclass

from studio.core import errors as E

NAMES = ("Lily", "Tom", "Mia", "Ben", "Sara", "Max", "Anna", "Sam", "Lucy", "Tim", "Zoe", "Jack", "Emma", "Leo",
         "Sue", "Bob", "Amy", "Jane", "Joe", "Kate", "Timmy", "Sally", "Billy", "Mark")
STOP = frozenset("""the and was with that very there they said you she her his him had for but not were
when then one day upon time named who what this from have are all them went came saw could would so
out too can did got its their our your""".split())
WORD_RE = re.compile(r"[A-Za-z']+")
SENTENCE_RE = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True)
class DataSettings:
    # With 14 names × 48 words the reward model reached 0.63-0.68 on held-out pairs (three seeds) and
    # PPO lowered the share followed; with 6 × 24 (seed 1) or 8 × 32 (seed 2) it reached 0.83 / 0.80.
    names: int = 6                # the instructions' names: the first of NAMES the corpus uses
    words: int = 24               # the instructions' words: the corpus's most frequent content words
    heldout: int = 40             # held-out (name, word) instructions, never in any stage
    max_words: int = 16           # a demonstration sentence has 4..max_words words
    demos_per_word: int = 24      # corpus sentences kept per word


@dataclass(frozen=True)
class Instruction:
    name: str
    word: str

    @property
    def text(self) -> str:
        return f"Write a story about {self.name} that uses the word {self.word}."


@dataclass(frozen=True)
class InstructionData:
    names: tuple
    words: tuple
    train: tuple                  # Instructions for SFT, the reward model and PPO
    heldout: tuple                # Instructions no stage sees
    demos: dict                   # word -> corpus sentences holding it and a name (name not replaced yet)


def words_of(text: str) -> list[str]:
    return WORD_RE.findall(text)


def follows(ins: Instruction, reply: str) -> bool:
    """The rule: the reply names the name (as written) and uses the word (any case)."""
    ws = words_of(reply)
    return ins.name in ws and ins.word in {w.lower() for w in ws}


def _sentences(stories, max_words: int):
    for story in stories:
        for s in SENTENCE_RE.split(story.replace("\n", " ")):
            s = s.strip()
            n = len(words_of(s))
            if 4 <= n <= max_words and s.isascii() and s[-1:] in ".!?" and '"' not in s:
                yield s


def _name_in(sentence: str, names) -> str | None:
    """The name a demonstration starts with (the reply names the instructed one first)."""
    ws = words_of(sentence)
    return ws[0] if ws and ws[0] in names else None


def build(stories, s: DataSettings, seed: int, fits=lambda sentence: True) -> InstructionData:
    """Names, words, the train/held-out split of (name, word) pairs and the demonstrations;
    ``fits(sentence)``: whether a sentence is short enough, in the run's tokens, to be a reply
    (TinyStories' sentences tokenize longer than the starter corpus': a two-turn conversation of
    them overflowed ChatGPT's context)."""
    with_name = [(sent, name) for sent in _sentences(stories, s.max_words)
                 if (name := _name_in(sent, NAMES)) is not None and fits(sent)]
    names = tuple(n for n in NAMES if any(name == n for _, name in with_name))[:s.names]
    with_name = [(sent, name) for sent, name in with_name if name in names]
    counts = Counter(w.lower() for sent, _ in with_name for w in set(words_of(sent)))
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))  # ties by the word: no set or hash order
    words = tuple(w for w, k in ranked if len(w) >= 3 and w.isalpha() and w not in STOP
                  and w.capitalize() not in NAMES and k >= 3)[:s.words]
    if len(names) < 4 or len(words) < 8:
        raise E.StudioError(f"the stories name {len(names)} of the experiment's names and have {len(words)} usable "
                            "words; it needs at least 4 names and 8 words (use --data starter or TinyStories)")
    demos: dict = {w: [] for w in words}
    for sent, _ in with_name:
        for w in sorted({x.lower() for x in words_of(sent)} & set(words)):
            if len(demos[w]) < s.demos_per_word:
                demos[w].append(sent)
    pairs = [Instruction(n, w) for n in names for w in words]
    r = random.Random(seed)
    r.shuffle(pairs)
    k = min(s.heldout, len(pairs) // 3)
    return InstructionData(names, words, tuple(pairs[k:]), tuple(pairs[:k]), demos)


def demonstration(data: InstructionData, ins: Instruction, r: random.Random) -> str:
    """A corpus sentence that uses the word, its name replaced by the instructed one."""
    sent = r.choice(data.demos[ins.word])
    old = _name_in(sent, NAMES)
    return re.sub(rf"\b{old}\b", ins.name, sent, count=1)


GLUED = ("s", "y", "ed", "er", "ly", "ing", "oon", "le")  # pieces that make a whole word another one


def contrast(data: InstructionData, ins: Instruction, r: random.Random) -> tuple[str, str]:
    """(a demonstration, the same sentence with another name | with another word in place of the
    instructed one | with a piece glued to the word): a counterfactual preference pair whose only
    difference is what the rule checks. (A pair against a demonstration about another word differed
    in a whole sentence: the reward model could tell them apart by anything in it. Without glued
    pieces, a reward model that sums per-token scores paid for the word's first piece, and PPO
    wrote "balloud" and "gar" for "ball" and "garden".)"""
    good = demonstration(data, ins, r)
    kind = r.random()
    if kind < 0.4:
        other = r.choice([n for n in data.names if n != ins.name])
        return good, re.sub(rf"\b{ins.name}\b", other, good)
    if kind < 0.6:
        return good, re.sub(rf"\b({ins.word})\b", lambda m: m.group(1) + r.choice(GLUED), good, flags=re.IGNORECASE)
    other = r.choice([w for w in data.words if w != ins.word])
    return good, re.sub(rf"\b{ins.word}\b", lambda m: other.capitalize() if m.group(0)[0].isupper() else other, good,
                        flags=re.IGNORECASE)


# ----------------------------------------------------------------------------- tokens
PAD = 0  # <unk>: left padding before BOS, as if an earlier document ended there


def prompt_ids(tok, text: str) -> list[int]:
    """BOS, the instruction, a newline: the reply follows the newline."""
    return tok.encode(text + "\n", bos=True)


def reply_fits(tok, max_tokens: int):
    """``fits`` for :func:`build`: the sentence as a reply (its EOS included) is at most ``max_tokens``."""
    return lambda sentence: len(reply_ids(tok, sentence)) <= max_tokens


def longest_instruction() -> Instruction:
    """An instruction at least as long as any the experiments build (the longest name, a 12-letter word)."""
    return Instruction(max(NAMES, key=len), "x" * 12)


NAME_MARGIN = 4  # tokens: a demonstration's name is replaced by the instructed one, which may tokenize longer


def single_turn_budget(tok, context: int) -> int:
    """The most tokens a reply may have so that the longest instruction and it fit ``context``."""
    return max(1, context - len(prompt_ids(tok, longest_instruction().text)) - NAME_MARGIN)


def reply_ids(tok, reply: str) -> list[int]:
    from studio.core.tokenizers import EOS
    return tok.encode(reply, bos=False) + [EOS]


def left_pad(rows: list[list[int]]):
    """(B, P) long tensor: every row right-aligned, PAD before its BOS."""
    import torch
    width = max(len(r) for r in rows)
    return torch.tensor([[PAD] * (width - len(r)) + list(r) for r in rows], dtype=torch.long)


def decode_reply(tok, ids) -> str:
    """A reply's text: its tokens up to (not including) EOS."""
    from studio.core.tokenizers import EOS
    ids = list(ids)
    if EOS in ids:
        ids = ids[:ids.index(EOS)]
    return tok.decode(ids).strip()
