"""ChatGPT at tiny settings: the chat template's tokens, the multi-turn result, the folder as a run
with its template (loaded by RunDir, talked to by ``archstudio generate --chat``), a reply that
stops at the end of the model's turn."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import run_cli

from studio.core.errors import StudioError
from studio.core.experiments import chatgpt as C
from studio.core.experiments import run
from studio.core.experiments.chat_template import ChatTemplate, reply_stream, template_of_run
from studio.core.experiments.common import RESULT_FILE, ExperimentRequest, Finished
from studio.core.jobs.control import JobControl
from studio.core.runs.rundir import RunDir
from studio.core.tokenizers.byte_level import ByteTokenizer
from test_experiment_instruct import PIPE

ROOT = Path(__file__).resolve().parents[2]
TINY = C.Settings(pipeline=PIPE.__class__(**{**PIPE.__dict__, "context": 256}))


@pytest.fixture(scope="module")
def chat_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("chat") / "chatgpt"
    events = list(run(ExperimentRequest(C.MILESTONE, str(out), data="starter", settings=TINY), JobControl()))
    assert isinstance(events[-1], Finished)
    return out


def test_the_template_puts_every_turn_and_ends_a_reply_with_eos():
    tok, t = ByteTokenizer(), ChatTemplate()
    ids = t.ids(tok, [("hi", "yo"), ("again", None)])
    assert ids[0] == 1 and ids.count(2) == 1                          # BOS once, EOS after the answered turn
    assert tok.decode(ids) == "<|user|> hi\n<|assistant|>yo</s><|user|> again\n<|assistant|>"
    assert ChatTemplate.from_record(t.record()) == t
    with pytest.raises(StudioError, match="chat: must name"):
        ChatTemplate.from_record({"user": ""})


def test_chatgpt_writes_a_multi_turn_result(chat_dir):
    data = json.loads((chat_dir / RESULT_FILE).read_text())
    assert data["milestone"] == C.MILESTONE and data["heldout_conversations"] == 8   # 8 held-out instructions, each once first, once second
    assert 0 <= data["before"] <= 1 and 0 <= data["after"] <= 1 and data["chat_template"]["user"] == "<|user|>"
    assert all("⏎" in s[0] for s in data["samples_after"])           # two turns, the first answered by the model


def test_the_folder_is_a_run_that_carries_its_template(chat_dir):
    assert template_of_run(chat_dir) == C.TEMPLATE
    run_dir = RunDir(chat_dir)
    model, tok = run_dir.build_model(), run_dir.tokenizer()
    pieces = list(reply_stream(model, tok, C.TEMPLATE, [("Write a story about Tom that uses the word ball.", None)],
                               max_new_tokens=12, temperature=0.0))
    assert len("".join(pieces)) <= 12 * 4


class _Scripted:
    """A model that writes the given ids, one per call."""
    context = 64

    def __init__(self, ids):
        self.ids = list(ids)

    def eval(self):
        return self

    def generate(self, idx, n, *args, **kwargs):
        return torch.cat([idx, torch.tensor([[self.ids.pop(0)]])], 1)


def test_a_reply_stops_at_the_end_of_the_turn():
    tok = ByteTokenizer()
    h, i = (3 + ord(c) for c in "hi")
    assert "".join(reply_stream(_Scripted([h, i, 2, h, h]), tok, C.TEMPLATE, [("x", None)], 10)) == "hi"
    assert "".join(reply_stream(_Scripted([h, i, h, h]), tok, C.TEMPLATE, [("x", None)], 3)) == "hih"


def test_generate_chat_prints_one_reply_per_turn(chat_dir):
    r = run_cli("generate", str(chat_dir), "--chat", "--prompt", "Write a story about Tom that uses the word ball.",
                "--max-new-tokens", "8", "--temperature", "0")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("assistant: ") and len(r.stdout.strip().splitlines()) == 1
    p = subprocess.run([sys.executable, "-m", "studio", "generate", str(chat_dir), "--chat", "--max-new-tokens", "8",
                        "--temperature", "0"], input="hello\n\nagain\n", capture_output=True, text=True, cwd=ROOT,
                       timeout=300)
    assert p.returncode == 0, p.stderr
    assert p.stdout.count("assistant: ") == 2                         # the empty line is not a turn


def test_generate_chat_on_a_run_without_a_template_is_one_line(chat_dir, tmp_path):
    plain = tmp_path / "plain"
    plain.mkdir()
    for item in chat_dir.iterdir():
        if item.name in ("run.yaml", "tokenizer", "checkpoints"):
            (plain / item.name).symlink_to(item) if item.is_dir() else None
    cfg = RunDir(chat_dir).read_config()
    cfg.pop("chat")
    RunDir(plain).write_config({k: v for k, v in cfg.items() if k not in ("schema_version", "kind")})
    r = run_cli("generate", str(plain), "--chat", "--prompt", "hi")
    assert r.returncode == 2 and "has no chat template" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_two_turn_conversations_of_long_sentences_fit_the_context():
    """TinyStories' sentences tokenize longer than the starter corpus': a two-turn conversation of
    them overflowed the chat model's context (162 tokens of 160, an internal error). Demonstrations
    are now kept to what two turns of the longest instructions leave."""
    from studio.core.experiments import chatgpt as C
    from studio.core.experiments import instructions as I
    from studio.core.tokenizers.byte_level import ByteTokenizer
    tok, context = ByteTokenizer(), 400  # bytes: 400 hold the frame of two instructions and ~120 per reply
    long = "Tom saw " + " ".join(["extraordinarily"] * 12) + " things."  # 15 words, ~200 bytes
    stories = [f"{long.replace('Tom', name)} {name} liked the {w} a lot." for name in I.NAMES[:6]
               for w in ("ball", "tree", "cake", "park", "kite", "dog", "cat", "boat", "sun", "hat")] * 3
    budget = C.two_turn_budget(tok, context)
    data = I.build(stories, I.DataSettings(words=10, heldout=4, demos_per_word=6), 1, I.reply_fits(tok, budget))
    assert all(len(I.reply_ids(tok, d)) <= budget for ds in data.demos.values() for d in ds)
    assert not any("extraordinarily" in d for ds in data.demos.values() for d in ds)  # left out: too long
    convs = C.conversations(data, data.train, 1.0, 2)
    prompt = C.prompt_of(tok)
    for c in convs:
        reply = I.reply_ids(tok, I.demonstration(data, c.ins, __import__("random").Random(0)))
        assert len(prompt(c)) + len(reply) <= context


def test_the_chat_policy_is_held_closer_to_sft_than_instructgpts():
    """β 0.5 for the chat model: at InstructGPT's 0.2 it over-exploited its reward model (measured,
    chatgpt.settings_for); the minutes scale the work, never the penalty."""
    from studio.core.experiments import chatgpt as C
    from studio.core.experiments import instructgpt as IG
    for minutes in (0.5, 3.0):
        assert C.settings_for(minutes).pipeline.ppo.kl == 0.5 > IG.settings_for(minutes).pipeline.ppo.kl
