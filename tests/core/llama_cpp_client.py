"""llama.cpp itself, through the xllamacpp CPU wheel, for the GGUF export tests."""
from __future__ import annotations

import json


def llama_cpp_greedy(path, ids: list[int], n: int, top: int = 1) -> list[dict]:
    """llama.cpp's greedy continuation of the token ids: [{id, logprob, top_logprobs}] per new token
    (``top`` candidates each, most likely first)."""
    import xllamacpp as xlc
    p = xlc.CommonParams()
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
