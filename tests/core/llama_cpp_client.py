"""llama.cpp itself, through the xllamacpp CPU wheel, for the GGUF export tests."""
from __future__ import annotations

import json
from dataclasses import dataclass


def llama_cpp_greedy(path, ids: list[int], n: int, top: int = 1, flags: dict | None = None) -> list[dict]:
    """llama.cpp's greedy continuation of the token ids: [{id, logprob, top_logprobs}] per new token
    (``top`` candidates each, most likely first); ``flags``: CommonParams set as its command-line
    options would (e.g. {"yarn_beta_fast": 1.0} for --yarn-beta-fast 1)."""
    import xllamacpp as xlc
    p = xlc.CommonParams()
    for name, value in (flags or {}).items():
        setattr(p, name, value)
    p.model.path = str(path)
    p.n_ctx = 64
    p.n_parallel = 1
    p.warmup = False
    p.cpuparams.n_threads = 1
    p.cpuparams_batch.n_threads = 1
    server = xlc.Server(p)
    out = server.handle_completions({"prompt": ids, "n_predict": n, "temperature": 0, "top_k": 1,
                                     "logprobs": top, "cache_prompt": False})
    out = json.loads(out) if isinstance(out, str) else out
    return out["choices"][0]["logprobs"]["content"]


@dataclass(frozen=True)
class Comparison:
    prompt: list[int]
    theirs: list[int]  # llama.cpp's greedy ids, as its server lists them
    mine: list[int]  # this app's greedy ids that llama.cpp's list shows (cut after EOS, where llama.cpp stops)
    hidden: int  # this app's ids left out of ``mine``: they end inside a UTF-8 character, and the server
    #              lists no token whose text is incomplete (the next one completes it and is listed)
    n_candidates: int  # llama.cpp's top-k log-probs compared, over all listed positions
    max_logprob_diff: float  # the largest |log-prob difference| over those candidates


def compare_greedy(run_dir, gguf_path, prompt: str, n_new: int, top: int, flags: dict | None = None) -> Comparison:
    """llama.cpp's and this app's greedy continuation of the prompt, compared on the visible tokens, and
    their log-probs of llama.cpp's ``top`` most likely tokens at every listed position."""
    import torch

    from studio.core.runs.rundir import RunDir
    model, tok = RunDir(run_dir).build_model().eval(), RunDir(run_dir).tokenizer()
    ids = tok.encode(prompt)
    theirs = llama_cpp_greedy(gguf_path, ids, n_new, top=top, flags=flags)
    with torch.no_grad():
        seq = model.generate(torch.tensor([ids]), n_new, temperature=0)[0].tolist()
        logp = torch.log_softmax(model(torch.tensor([seq]))[0][0], -1)
    mine = seq[len(ids):]
    if tok.eos_id in mine:
        mine = mine[: mine.index(tok.eos_id) + 1]
    shown = visible_positions(gguf_path, mine)
    candidates = [(len(ids) - 1 + shown[i], c) for i, t in enumerate(theirs[: len(shown)]) for c in t["top_logprobs"]]
    diff = max(abs(c["logprob"] - logp[pos, c["id"]].item()) for pos, c in candidates)
    return Comparison(ids, [t["id"] for t in theirs], [mine[p] for p in shown], len(mine) - len(shown),
                      len(candidates), diff)


def visible_positions(gguf_path, generated: list[int]) -> list[int]:
    """Positions of the generated ids after which the text is whole UTF-8 (the pieces as the GGUF file has
    them: a BYTE piece <0xHH> is that one byte, ▁ a space)."""
    import codecs

    import gguf
    fields = {f.name: f for f in gguf.GGUFReader(str(gguf_path)).fields.values()}
    pieces, types = fields["tokenizer.ggml.tokens"].contents(), fields["tokenizer.ggml.token_type"].contents()
    decoder, shown = codecs.getincrementaldecoder("utf-8")(errors="replace"), []
    for pos, t in enumerate(generated):
        raw = bytes([int(pieces[t][3:5], 16)]) if types[t] == gguf.TokenType.BYTE else (
            b"" if types[t] == gguf.TokenType.CONTROL else pieces[t].replace("\u2581", " ").encode("utf-8"))
        decoder.decode(raw)
        if not decoder.getstate()[0]:
            shown.append(pos)
    return shown
