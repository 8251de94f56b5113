"""Speed-ups that arrive while the run trains: the compile cost model, the compiled step and the
small-head kernel switched in between steps, one precision decision per run."""
import json
import time
from typing import ClassVar

import numpy as np
import pytest
import torch
from tiny_training import starter_data, tiny_arch

from studio.core.runs.rundir import RunDir
from studio.core.training import (
    SpeedSetup,
    StepMetrics,
    TrainConfig,
    speed,
    train_steps,
    warm,
)
from studio.core.training import compile_costs as cc
from studio.core.training import setup as S

CFG = {"batch_size": 4, "context": 32, "eval_interval": 0, "eval_batches": 2, "sample_interval": 0, "threads": 1,
       "lr": 3e-3}


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # a machine that never compiled
    monkeypatch.delenv(speed.NO_COMPILE_ENV, raising=False)


def fresh_run(tmp_path, data, cfg, name="run", arch=None):
    run = RunDir(tmp_path / name)
    arch = arch or tiny_arch()
    run.initialize(arch, "2023-07-llama-2", data.tokenizer, S.training_record(cfg), data.corpus.describe())
    return run, S.build_model(arch, 3)


def test_the_cost_model_compiles_only_where_it_pays_off(tmp_path):
    book = cc.CostBook(tmp_path / "c")
    short, long_ = cc.plan(book, "k", 60.0), cc.plan(book, "k", 3600.0)
    assert not short.compile and "cold cache" in short.reason and "prior" in short.reason
    assert "would not pay off in the 60 s left" in short.reason
    assert long_.compile and long_.gain_s > 0 and "compiles in the background" in long_.reason
    (tmp_path / "ind").mkdir()
    book.record("k", "tiny", cold_s=40.0, warm_s=5.0, ratio=0.6, inductor_dir=str(tmp_path / "ind"))
    assert book.is_warm("k") and cc.plan(book, "k", 60.0).compile and "warm cache" in cc.plan(book, "k", 60.0).reason
    book.record("k", "tiny", ratio=0.97)  # a compiled step barely faster: loading it does not pay off in a minute
    assert not cc.plan(book, "k", 60.0).compile
    assert book.estimate("other", "cold_s") == (40.0, "median of 1 other shape")  # this machine's figure
    (tmp_path / "ind").rmdir()  # inductor's cache wiped: cold again
    assert not book.is_warm("k")
    book.path.write_text("{not json", encoding="utf-8")
    assert book.entries() == {} and not book.is_warm("k")


class FakeJob:
    """warm.WarmJob's stand-in: 'compiles' for ``polls`` polls, then reports the planned shape."""
    polls, key = 3, None
    made: ClassVar[list] = []

    def __init__(self, spec):
        self.spec, self.t0, self.result, self.n = spec, time.perf_counter(), None, 0
        FakeJob.made.append(self)

    def poll(self):
        self.n += 1
        if self.result is None and self.n > self.polls:
            self.result = {"ok": True, "key": FakeJob.key, "ratio": 0.5, "cold_s": 1.0}
        return self.result

    def cancel(self):
        self.result = {"ok": False, "error": "cancelled"}


def force_compile_plan(monkeypatch, warm_entry: bool):
    real = cc.plan

    def plan(book, key, remaining):
        FakeJob.key = key
        if warm_entry:  # loading measured as instant, so that a step-count run of a tiny model pays it
            book.record(key, "tiny", warm_s=0.001, ratio=0.5)
        got = real(book, key, remaining)
        return cc.CompilePlan(True, False, "compiles in the background (test)", 1.0) if not got.compile else got

    monkeypatch.setattr(cc, "plan", plan)
    monkeypatch.setattr(warm, "WarmJob", FakeJob)
    monkeypatch.setattr(torch, "compile", lambda fn, **kw: fn)  # 'compiled' = eager: same numbers, no compiler


def test_training_starts_eager_and_the_compiled_step_takes_over_when_ready(tmp_path, monkeypatch):
    force_compile_plan(monkeypatch, warm_entry=True)
    FakeJob.made.clear()
    data = starter_data(tmp_path)
    cfg = TrainConfig(steps=12, compile="auto", **CFG)
    run, model = fresh_run(tmp_path, data, cfg)
    evs = list(train_steps(model, data, cfg, run=run))
    (setup,) = [e for e in evs if isinstance(e, SpeedSetup)]
    assert not setup.compiled and "compiles in the background" in setup.step
    (sw,) = [e for e in evs if type(e).__name__ == "StepSwitched"]
    assert sw.what == "step" and sw.compiled and sw.step == FakeJob.polls + 1 and "compiling beside" in sw.note
    rt = run.read_config()["runtime"]
    assert rt["step"] == sw.note and rt["switches"][0]["step"] == sw.step
    assert len(FakeJob.made) == 1 and FakeJob.made[0].spec.run_dir == str(run.path)
    assert cc.CostBook().get(FakeJob.key)["warm_s"] >= 0  # the load was measured for this shape
    run_e, model_e = fresh_run(tmp_path, data, TrainConfig(steps=12, **CFG), "eager")
    eager = list(train_steps(model_e, data, TrainConfig(steps=12, **CFG), run=run_e))
    assert [e.loss for e in evs if isinstance(e, StepMetrics)] == [e.loss for e in eager if isinstance(e, StepMetrics)]


def test_one_precision_decision_and_a_compile_left_running_is_stopped(tmp_path, monkeypatch):
    """Close eager probe + a planned compile: bf16 by rule, one compile only; the run ends before the
    compile does: the child is stopped and what it took is kept as a lower bound for the shape."""
    force_compile_plan(monkeypatch, warm_entry=False)
    monkeypatch.setattr(FakeJob, "polls", 10 ** 6)
    FakeJob.made.clear()
    monkeypatch.setattr(speed, "native_bf16", lambda device: True)
    monkeypatch.setattr(speed, "_time_fwd_bwd", lambda m, b, d, p, r, **k: {"fp32": 1.0, "bf16": 1.05}[p])
    data = starter_data(tmp_path)
    cfg = TrainConfig(steps=4, compile="auto", precision="auto", **CFG)
    run, model = fresh_run(tmp_path, data, cfg)
    evs = list(train_steps(model, data, cfg, run=run))
    (setup,) = [e for e in evs if isinstance(e, SpeedSetup)]
    assert setup.precision == "bf16" and "fuses its casts" in setup.precision_reason
    assert len(FakeJob.made) == 1 and FakeJob.made[0].spec.precision == "bf16"
    assert FakeJob.made[0].result == {"ok": False, "error": "cancelled"}
    assert cc.CostBook().get(FakeJob.key)["cold_s_at_least"] > 0


def test_the_small_head_kernel_builds_beside_the_training(tmp_path, monkeypatch):
    """Training starts on SDPA while the kernel builds, switches to it between steps, same losses."""
    from blocks.nn import small_head_attention as sha
    if sha.load(speed.kernel_cache_dir()):
        pytest.skip("the small-head kernel cannot be built here")
    real = sha.load
    monkeypatch.setattr(sha, "load", lambda cache_dir=None: (time.sleep(1.5), real(cache_dir))[1])
    data = starter_data(tmp_path)
    arch = tiny_arch(n_heads=4)  # head size 8
    cfg = TrainConfig(minutes=0.06, attention="auto", **CFG)
    run, model = fresh_run(tmp_path, data, cfg, arch=arch)
    evs = list(train_steps(model, data, cfg, run=run))
    (setup,) = [e for e in evs if isinstance(e, SpeedSetup)]
    assert setup.attention.startswith("sdpa until the small-head kernel is built")
    (sw,) = [e for e in evs if type(e).__name__ == "StepSwitched"]
    assert sw.what == "attention" and "small-head kernel (C++, head size 8" in sw.note and sw.step > 1
    assert run.read_config()["runtime"]["attention"]["kernel"] == "small-head"
    assert any(getattr(m, "small_head_kernel", False) for m in model.modules())
    assert evs[-1].reason == "done" and np.isfinite(evs[-1].val_loss)


@pytest.mark.slow
def test_a_warmed_shape_is_compiled_in_a_child_and_recorded(tmp_path):
    """The real child process (inductor needs a C++ compiler: skipped where it has none)."""
    data = starter_data(tmp_path)
    cfg = TrainConfig(steps=1, batch_size=2, context=16)
    run, _ = fresh_run(tmp_path, data, cfg)
    res = warm.warm_now(warm.WarmSpec(str(run.path), 2, 16, "fp32", "sdpa", 1))
    if not res["ok"] and "compil" in res.get("error", ""):
        pytest.skip(f"inductor cannot compile here: {res['error']}")
    assert res["ok"], res
    entry = cc.CostBook().get(res["key"])
    assert entry["cold_s"] > 0 and entry["ratio"] > 0 and cc.CostBook().is_warm(res["key"])
    assert json.loads(json.dumps(entry))["label"].startswith("GraphModel") or "batch 2 x context 16" in entry["label"]


def test_lesson_prepare_warms_the_shape_a_continuation_trains(tmp_path, monkeypatch):
    """warm_run compiles the shape 'Train N more min' of a prepared run will train (its batch, context,
    precision, kernel and threads from run.yaml), under the key the trainer looks up; a warm one is skipped."""
    data = starter_data(tmp_path)
    cfg = TrainConfig(steps=2, **CFG)
    run, model = fresh_run(tmp_path, data, cfg)
    list(train_steps(model, data, cfg, run=run))
    spec, key, label = warm.spec_of_run(run.path)
    assert (spec.batch, spec.context, spec.precision, spec.attention, spec.threads) == (4, 32, "fp32", "sdpa", 1)
    assert key == cc.shape_key(run.build_model().train(), 4, 32, "fp32", "sdpa", 1)[0]
    asked = []
    monkeypatch.setattr(warm, "warm_now", lambda spec, timeout=0: asked.append(spec) or {"ok": True, "key": key})
    assert warm.warm_run(run.path)["ok"] and asked == [spec]
    (tmp_path / "ind").mkdir()
    cc.CostBook().record(key, label, cold_s=30.0, inductor_dir=str(tmp_path / "ind"))
    assert warm.warm_run(run.path) == {"ok": True, "already": True, "key": key, "label": label} and len(asked) == 1


def test_the_compile_cache_is_the_users_even_after_inductor_named_its_own(tmp_path, monkeypatch):
    """Inductor writes its default folder into TORCHINDUCTOR_CACHE_DIR the first time anything asks
    (the optimizer's torch._dynamo import can): that is not the user's choice, and a run that kept it
    missed what its warm child compiled into the user cache (a 260 s compile inside the loop)."""
    from torch._inductor.runtime.cache_dir_utils import default_cache_dir
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", default_cache_dir())
    ours = speed.use_compile_cache()
    assert ours == str(tmp_path / "cache" / "archstudio" / "torchinductor")
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path / "mine"))
    assert speed.use_compile_cache() == str(tmp_path / "mine")  # a folder the user chose stays


def test_lesson_prepare_warms_a_class_length_model_only(tmp_path, monkeypatch):
    """A lesson prepared for class (1 minute or more per model) compiles each trained run's shape after
    training it, and says so; a quick preview (under a minute) does not spend the time."""
    from studio.core.classroom.lesson import LessonConfig, prepare
    from studio.core.training import Finished
    from studio.core.training import trainer as T
    monkeypatch.setenv("ARCHSTUDIO_CACHE_DIR", str(tmp_path / "data-cache"))  # the starter corpus

    def trained(model, data, cfg, should_stop=None, run=None, resume=False, **kw):  # the minutes themselves
        run.save_checkpoint({"model": model.state_dict(), "step": 1}, 1)
        rc = run.read_config()  # what the trainer records of how it trained: the shape to compile
        rc["runtime"] = {"device": "cpu", "precision": "fp32", "threads": 1, "attention": {"kernel": "sdpa"}}
        run.write_config(rc)
        yield Finished(1, 8, "done", 5.0, 5.0, 7.0, 1.0)

    monkeypatch.setattr(T, "train_steps", trained)
    warmed = []

    class Compiled:  # the niced compile child, done at once
        def __init__(self, spec):
            warmed.append(spec.run_dir)
            self.result = {"ok": True}

        def poll(self):
            return self.result
    monkeypatch.setattr(warm, "WarmJob", Compiled)
    for minutes, name in ((1.0, "class"), (0.2, "preview")):
        cfg = LessonConfig(milestones=("recipe-microgpt",), minutes_per_model=minutes, batch_size=2, context=16,
                           threads=1, precision="fp32")
        events = list(prepare(tmp_path / name, cfg))
        said = [e.message for e in events if "compiling its training step for the class" in e.message]
        assert (len(said), len(warmed)) == ((1, 1) if name == "class" else (0, 1)), [e.message for e in events]
    assert warmed[0].startswith(str(tmp_path / "class"))
