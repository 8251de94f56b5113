"""The trainer generator: learning, exact resume, NaN guard, MoE stats, encoder-decoder."""
import math

import numpy as np
import pytest
import torch

from studio.core.data import make_tokenizer, tokenize_corpus
from studio.core.data.sources import Corpus, content_hash
from studio.core.runs.rundir import RunDir
from studio.core.training import (CheckpointSaved, EvalMetrics, Finished, Sample, StepMetrics, TrainConfig,
                                  TrainingDiverged, evaluate, lr_at, make_optimizer, train_steps)
from studio.core.training import setup as S
from studio.core.training.trainer import Batcher
from tiny_training import starter_data, tiny_arch

CFG = dict(batch_size=4, context=32, eval_interval=4, eval_batches=2, sample_interval=0, threads=1, lr=3e-3)


def events(gen, kind):
    return [e for e in gen if isinstance(e, kind)]


def test_short_run_on_tinystories_sample_lowers_held_out_loss(shared_data, tmp_path):
    text = (shared_data / "tinystories" / "train-2316-stories.txt").read_text()
    from studio.core.data.sources import split_text
    stories = tuple(split_text(text)[:300])
    c = Corpus("sample", "sample", stories, content_hash(stories), True)
    tok = make_tokenizer("bpe", c, 400, cache=tmp_path)
    data = tokenize_corpus(c, tok, cache=tmp_path)
    arch = tiny_arch(vocab=tok.vocab_size, dim=64, hidden_dim=128)
    model = S.build_model(arch, 0)
    vb = Batcher(data.val, 32, False, torch.device("cpu"))
    before = evaluate(model, vb, 2, 8)
    assert before == pytest.approx(math.log(400), abs=0.3)  # an untrained model is uniform
    cfg = TrainConfig(steps=60, **{**CFG, "batch_size": 8, "eval_interval": 30})
    evs = list(train_steps(model, data, cfg))
    ev = events(evs, EvalMetrics)
    assert [e.step for e in ev] == [30, 60]
    assert ev[-1].val_loss < before - 1.0 and ev[-1].val_loss < ev[0].val_loss
    assert 0 < ev[-1].val_bpb < 8
    fin = evs[-1]
    assert isinstance(fin, Finished) and fin.reason == "done" and fin.tokens == 60 * 8 * 32


def test_resume_after_stop_continues_the_same_curve(tmp_path):
    data = starter_data(tmp_path)
    cfg = TrainConfig(steps=8, **CFG)

    def fresh_run(name):
        run = RunDir(tmp_path / name)
        arch = tiny_arch()
        run.initialize(arch, "2023-07-llama-2", data.tokenizer, S.training_record(cfg), data.corpus.describe())
        return run, S.build_model(arch, 7)

    run_a, model_a = fresh_run("a")
    full = [e.loss for e in train_steps(model_a, data, cfg, run=run_a) if isinstance(e, StepMetrics)]
    run_b, model_b = fresh_run("b")
    evs = list(train_steps(model_b, data, cfg, should_stop=lambda: len(run_b.metrics()) >= 3, run=run_b))
    first = [e.loss for e in evs if isinstance(e, StepMetrics)]
    assert evs[-1].reason == "stopped" and len(first) == 3
    assert [e.reason for e in evs if isinstance(e, CheckpointSaved)] == ["stop"]
    model_c = run_b.build_model().train()  # a new process would start like this
    rest = [e.loss for e in train_steps(model_c, data, cfg, run=run_b, resume=True) if isinstance(e, StepMetrics)]
    np.testing.assert_allclose(first + rest, full, rtol=1e-6)
    steps = [r["step"] for r in run_b.metrics() if r["kind"] == "step"]
    assert steps == list(range(1, 9))


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path):
    data = starter_data(tmp_path)
    run = RunDir(tmp_path / "run")
    arch = tiny_arch()
    run.initialize(arch, "2023-07-llama-2", data.tokenizer, {}, {})
    model = S.build_model(arch, 0)
    cfg = TrainConfig(steps=6, checkpoint_interval=2, **CFG)
    with pytest.raises(TrainingDiverged, match="step 3.*last good checkpoint"):
        for ev in train_steps(model, data, cfg, run=run):
            if isinstance(ev, CheckpointSaved):
                with torch.no_grad():
                    model.tok_embeddings.weight.fill_(float("nan"))
    assert run.load_checkpoint()["step"] == 2
    assert torch.isfinite(run.load_checkpoint()["model"]["tok_embeddings.weight"]).all()


def test_schedule_warmup_then_cosine():
    cfg = TrainConfig(steps=100, lr=1e-3, warmup_steps=10)
    lrs = [lr_at(i, cfg) for i in range(100)]
    assert lrs[0] == pytest.approx(1e-4) and lrs[9] == pytest.approx(1e-3)
    assert all(a >= b for a, b in zip(lrs[9:], lrs[10:])) and lrs[-1] == pytest.approx(1e-4, rel=0.01)


def test_moe_stats_and_samples(tmp_path):
    data = starter_data(tmp_path)
    model = S.build_model(tiny_arch("2023-12-mixtral"), 0)
    evs = list(train_steps(model, data, TrainConfig(steps=2, **{**CFG, "sample_interval": 2, "threads": None})))
    sm = events(evs, StepMetrics)[-1]
    assert sm.aux_loss is not None and sm.aux_loss > 0
    assert len(sm.expert_load) == 2 and all(a.shape == (4,) and abs(a.sum() - 1) < 1e-5 for a in sm.expert_load)
    assert len(sm.record()["expert_load"]) == 2
    (sample,) = events(evs, Sample)
    assert isinstance(sample.text, str)


def test_encoder_decoder_trains_on_continuations(tmp_path):
    data = starter_data(tmp_path)
    model = S.build_model(tiny_arch("2017-06-transformer"), 0)
    evs = list(train_steps(model, data, TrainConfig(steps=3, **CFG)))
    assert evs[-1].reason == "done" and math.isfinite(evs[-1].val_loss)
    b = Batcher(data.train, 8, True, torch.device("cpu"))
    x, y, src = b.windows([0])
    assert src.shape == (1, 8) and x[0, 0] == 1 and torch.equal(x[0, 1:], y[0, :-1])
    assert torch.equal(torch.from_numpy(data.train[8:16].astype(np.int64)), y[0])


def test_too_little_data_is_a_clear_error(tmp_path):
    c = Corpus("x", "x", ("ab", "cd"), content_hash(("ab", "cd")), False)
    data = tokenize_corpus(c, make_tokenizer("byte", c), cache=tmp_path)
    with pytest.raises(Exception, match="too few"):
        next(train_steps(S.build_model(tiny_arch(), 0), data, TrainConfig(steps=1, **CFG)))


def _run(tmp_path, **kw):
    data = starter_data(tmp_path)
    model = S.build_model(tiny_arch(), 0)
    cfg = TrainConfig(steps=12, **{**CFG, "eval_interval": 12, **kw})
    evs = list(train_steps(model, data, cfg))
    return [e.loss for e in evs if isinstance(e, StepMetrics)], evs[-1]


def test_muon_learns_and_differs_from_adamw(tmp_path):
    from studio.core.training.muon import MuonAdamW, muon_groups, orthogonalize
    g = torch.randn(16, 8)
    o = orthogonalize(g)
    sv = torch.linalg.svdvals(o)
    assert sv.max() < 1.3 and sv.min() > 0.5  # Newton-Schulz: singular values pushed towards 1
    adam, _ = _run(tmp_path)
    muon, fin = _run(tmp_path, optimizer="muon")
    assert muon[0] == adam[0] and muon[1:] != adam[1:]
    assert np.mean(muon[-3:]) < muon[0] - 0.5 and math.isfinite(fin.val_loss)
    model = S.build_model(tiny_arch(), 0)
    groups = muon_groups(model, TrainConfig())
    in_muon = {id(p) for p in groups[0]["params"]}
    assert id(model.tok_embeddings.weight) not in in_muon and id(model.output.weight) not in in_muon
    assert id(model.layers[0].attention.wq.weight) in in_muon
    assert isinstance(make_optimizer(model, TrainConfig(optimizer="muon")), MuonAdamW)


def test_muon_orthogonalizes_same_shaped_matrices_together_with_the_same_result():
    from studio.core.training.muon import orthogonalize, orthogonalize_batch
    torch.manual_seed(0)
    gs = [torch.randn(64, 64), torch.randn(32, 64), torch.randn(172, 64), torch.randn(64, 64), torch.randn(64, 172),
          torch.randn(172, 64)]  # square, wide, tall: tall ones share a batch with their transposes
    for one, batched in zip(map(orthogonalize, gs), orthogonalize_batch(gs)):
        assert batched.shape == one.shape
        torch.testing.assert_close(batched, one, atol=1e-5, rtol=1e-4)


def test_muon_iterates_in_bf16_only_where_the_hardware_has_it(monkeypatch):
    from studio.core.training import speed
    from studio.core.training.muon import orthogonalize_batch
    model = S.build_model(tiny_arch(), 0)
    for native, want in ((True, torch.bfloat16), (False, torch.float32)):
        monkeypatch.setattr(speed, "native_bf16", lambda device, native=native: native)
        assert make_optimizer(model, TrainConfig(optimizer="muon")).ns_dtype == want
    g = [torch.randn(48, 96)]
    (bf,), (fp,) = orthogonalize_batch(g, dtype=torch.bfloat16), orthogonalize_batch(g)
    assert bf.dtype == torch.float32 and (bf - fp).abs().max() < 0.02  # bf16 rounding, same matrix


def test_muon_resume_is_exact(tmp_path):
    data = starter_data(tmp_path)
    cfg = TrainConfig(steps=6, **{**CFG, "optimizer": "muon"})
    arch = tiny_arch()
    runs = []
    for name in ("a", "b"):
        run = RunDir(tmp_path / name)
        run.initialize(arch, "x", data.tokenizer, {}, {})
        runs.append(run)
    full = [e.loss for e in train_steps(S.build_model(arch, 1), data, cfg, run=runs[0]) if isinstance(e, StepMetrics)]
    first = [e.loss for e in train_steps(S.build_model(arch, 1), data, cfg, lambda: len(runs[1].metrics()) >= 3,
                                         run=runs[1]) if isinstance(e, StepMetrics)]
    rest = [e.loss for e in train_steps(runs[1].build_model().train(), data, cfg, run=runs[1], resume=True)
            if isinstance(e, StepMetrics)]
    np.testing.assert_allclose(first + rest, full, rtol=1e-6)


def test_bf16_autocast_differs_from_fp32_and_learns(tmp_path):
    fp32, _ = _run(tmp_path)
    bf16, fin = _run(tmp_path, precision="bf16")
    assert bf16[0] != fp32[0] and abs(bf16[0] - fp32[0]) < 0.05
    assert np.mean(bf16[-3:]) < bf16[0] - 0.5 and math.isfinite(fin.val_loss)


def test_fp8_differs_from_fp32_and_still_learns(tmp_path):
    from studio.core.training.fp8 import E4M3, fp8_linears, qdq
    t = torch.tensor([1.0, 0.3, -2.5, 1e-3])
    q = qdq(t, E4M3)
    assert q[2] == -2.5 and not torch.equal(q, t) and torch.allclose(q, t, rtol=0.07, atol=1e-4)
    fp32, _ = _run(tmp_path)
    fp8, fin = _run(tmp_path, precision="fp8")
    assert fp8[0] != fp32[0] and abs(fp8[0] - fp32[0]) < 0.1
    assert np.mean(fp8[-3:]) < fp8[0] - 0.5 and math.isfinite(fin.val_loss)
    model = S.build_model(tiny_arch(), 0)
    with fp8_linears(model) as n:
        assert n > 0 and "forward" in model.layers[0].attention.wq.__dict__
    assert "forward" not in model.layers[0].attention.wq.__dict__  # restored afterwards


def test_a_train_config_is_built_in_two_places_only():
    """Issue 26: every run's config comes from TrainConfig.for_run (intervals derived once for
    the CLI, the panel, lessons, races and experiments) or TrainConfig.from_record (a run
    continued from its run.yaml); nobody copies the defaults by hand."""
    import re
    from pathlib import Path
    root = Path(__file__).resolve().parents[2] / "studio"
    built = [p.relative_to(root).as_posix() for p in root.rglob("*.py")
             if re.search(r"\bTrainConfig\(", p.read_text(encoding="utf-8"))]
    assert built == [], built  # config.py builds it as cls(...) in for_run and from_record
    from studio.core.training.config import TrainConfig
    c = TrainConfig.for_run(minutes=2.0, batch_size=16)
    assert (c.eval_interval, c.log_interval, c.schedule, c.batch_size) == (0, 1, "wsd", 16)
    again = TrainConfig.from_record({**c.__dict__, "from_a_newer_app": 1}, threads=2)
    assert again.threads == 2 and again.minutes == 2.0 and again.schedule == "wsd"
