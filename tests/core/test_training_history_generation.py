"""Bounded metric buffers, and streaming generation as llama2.c's run prints it."""
import numpy as np
import torch

from studio.core.tokenizers import BOS
from studio.core.tokenizers.byte_level import ByteTokenizer
from studio.core.training import EvalMetrics, MetricsHistory, Series, StepMetrics, smooth
from studio.core.training import setup as S
from studio.core.training.generation import generate_stream
from tiny_training import tiny_arch


def test_series_stays_bounded_and_spans_the_whole_run():
    s = Series(256)
    for i in range(150_000):
        s.append(i, float(i))
    assert len(s) <= 256 and s.x[0] == 0 and s.x[-1] > 149_000
    assert np.all(np.diff(s.x) > 0) and np.array_equal(s.x, s.y)


def test_history_by_step_and_tokens():
    h = MetricsHistory(64)
    for i in range(1, 1001):
        h.add(StepMetrics(i, i * 100, 5.0 - i / 1000, 1e-3, 0.5, 1000.0, i / 10))
        if i % 100 == 0:
            h.add(EvalMetrics(i, i * 100, 4.0, 1.5, 4.1))
    assert len(h.series("loss")) <= 64 and h.series("loss").x[-1] >= 990
    assert h.series("val_loss", "tokens").x.tolist() == [i * 100 for i in range(100, 1001, 100)]
    v = h.version
    h.add_record({"kind": "eval", "step": 1100, "tokens": 110000, "val_loss": 3.9, "val_bpb": 1.4})
    assert h.version == v + 1 and h.series("val_bpb").y[-1] == 1.4
    sm = smooth(np.array([1.0, 1.0, 1.0, 5.0]), 0.5)
    assert sm[0] == 1.0 and 1.0 < sm[-1] < 5.0


def bos_model():
    """A real compiled model whose weights make it predict BOS after any input."""
    model = S.build_model(tiny_arch(), 0)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith(("wo.weight", "w2.weight")):
                p.zero_()  # the blocks add nothing: the residual stream is the embedding
        model.tok_embeddings.weight.fill_(1.0)
        model.output.weight.zero_()
        model.output.weight[BOS] = 1.0
    return model


def test_generation_stops_at_bos_and_prints_prompt_first():
    out = list(generate_stream(bos_model(), ByteTokenizer(), "Hi there", 50, temperature=0))
    assert out == ["Hi there"]


def test_greedy_is_deterministic_and_counts_new_tokens_only():
    model, tok = S.build_model(tiny_arch(), 3), ByteTokenizer()
    a = "".join(generate_stream(model, tok, "Once", 12, temperature=0))
    b = "".join(generate_stream(model, tok, "Once", 12, temperature=0, seed=5))
    assert a == b and a.startswith("Once")
    c = "".join(generate_stream(model, tok, "Once", 12, temperature=1.0, top_k=20, top_p=0.9, seed=1))
    d = "".join(generate_stream(model, tok, "Once", 12, temperature=1.0, top_k=20, top_p=0.9, seed=1))
    assert c == d
    ids = []
    orig = model.generate

    def spy(idx, n, *a, **k):
        out = orig(idx, n, *a, **k)
        ids.append(int(out[0, -1]))
        return out
    model.generate = spy
    list(generate_stream(model, tok, "Once", 7, temperature=0))
    assert len(ids) == 7 or ids[-1] == BOS


def test_encoder_decoder_prompt_feeds_the_encoder():
    model, tok = S.build_model(tiny_arch("2017-06-transformer"), 0), ByteTokenizer()
    seen = {}
    orig = model.forward

    def spy(tokens, targets=None, source=None):
        seen["source"], seen["tokens"] = source, tokens
        return orig(tokens, targets, source)
    model.forward = spy
    text = "".join(generate_stream(model, tok, "Tom", 3, temperature=0))
    assert text.startswith("Tom")
    assert seen["source"][0].tolist() == tok.encode("Tom") and seen["tokens"][0, 0] == BOS
