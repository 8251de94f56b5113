"""A first start's background warm-up (issue 21 item 3): the job relays its child's stages and
result and kills it when stopped; the child's work keys the probe and the compiled step as the
Training dock's first run will look them up (a fake compile: no inductor here); a shape being
compiled by one process is never compiled by a second (the cost book's claim), and a run waits
for the other process's compile instead."""
import dataclasses
import os
import subprocess
import sys
import textwrap
import time

import pytest

from studio.core import errors as E
from studio.core.jobs.control import JobControl
from studio.core.training import compile_costs as cc
from studio.core.training import first_warm as FW
from studio.core.training import speed
from studio.core.training.config import TrainConfig

PANEL = TrainConfig.for_run(steps=300, batch_size=8, context=128, lr=3e-3, schedule="cosine", compile="auto",
                            attention="auto", eval_interval=50, optimizer="muon", precision="auto",
                            sample_interval=50, seed=1337, threads=1)  # the Training panel's defaults, 1 thread
REQUEST = FW.FirstWarmRequest("2023-07-llama-2", "starter", None, None, None, (dataclasses.asdict(PANEL),))


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # a laptop that never trained
    monkeypatch.delenv(speed.NO_COMPILE_ENV, raising=False)


def fake_child(tmp_path, body: str) -> list[str]:
    script = tmp_path / "child.py"
    script.write_text("import json, os, sys, time\nreq = json.loads(sys.stdin.read())\n"
                      "def say(**m): print(json.dumps(m), flush=True)\n" + textwrap.dedent(body), encoding="utf-8")
    return [sys.executable, str(script)]


def test_the_job_relays_the_childs_stages_then_its_result(tmp_path):
    cmd = fake_child(tmp_path, """
        say(stage="building the small-head attention kernel")
        print("a library's own line"); print("{not json")
        say(stage="measuring bf16 against fp32")
        say(result={"ok": True, "label": req["model_spec"] + " batch %d" % req["configs"][0]["batch_size"],
                    "note": "warm", "detail": "the long line", "cpu_s": 2.5})
    """)
    evs = list(FW.first_warm_job(REQUEST, JobControl(), cmd))
    assert evs[:2] == [FW.WarmStage("building the small-head attention kernel"), FW.WarmStage("measuring bf16 against fp32")]
    done = evs[2]
    assert isinstance(done, FW.WarmDone) and done.label == "2023-07-llama-2 batch 8" and done.note == "warm"
    assert done.cpu_s == 2.5 and done.wall_s > 0 and not done.already and len(evs) == 3
    assert done.detail == "the long line"


def test_the_panels_run_then_the_run_its_longer_budgets_train():
    """A step count (the panel's default) and "Train for 3 min" train different shapes: both are warmed,
    the panel's first; a field the user changed stays theirs; a long budget already set is one shape."""
    from studio.core.training.setup import budget_recipe
    first, timed = FW.budget_variants(dataclasses.asdict(PANEL))
    assert first == dataclasses.asdict(PANEL)
    long_ = budget_recipe(3.0)
    assert (timed["batch_size"], timed["context"], timed["optimizer"]) == (long_["batch_size"], long_["context"],
                                                                          long_["optimizer"])
    assert timed["minutes"] >= 2 and timed["threads"] == 1 and timed["precision"] == "auto"
    (_, mine) = FW.budget_variants(dict(dataclasses.asdict(PANEL), batch_size=4))
    assert mine["batch_size"] == 4 and mine["context"] == long_["context"]
    assert len(FW.budget_variants(dict(dataclasses.asdict(PANEL), minutes=5.0, batch_size=16, context=256))) == 1


def test_a_failed_child_is_one_line(tmp_path):
    said = fake_child(tmp_path, 'say(result={"ok": False, "error": "no C++ compiler"})')
    with pytest.raises(E.StudioError, match="^preparing training in the background failed: no C\\+\\+ compiler$"):
        list(FW.first_warm_job(REQUEST, JobControl(), said))
    crashed = fake_child(tmp_path, 'sys.stderr.write("Traceback...\\nMemoryError: out of memory\\n"); sys.exit(3)')
    with pytest.raises(E.StudioError, match="failed: MemoryError: out of memory$"):
        list(FW.first_warm_job(REQUEST, JobControl(), crashed))


def test_stopping_the_job_kills_the_child_and_what_it_started(tmp_path):
    pids = tmp_path / "pids"
    cmd = fake_child(tmp_path, f"""
        import subprocess
        worker = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])  # as inductor's workers
        open({str(pids)!r}, "w").write(f"{{os.getpid()}} {{worker.pid}}")
        say(stage="compiling the training step")
        time.sleep(60)
    """)
    control = JobControl()
    job = FW.first_warm_job(REQUEST, control, cmd)
    assert next(job) == FW.WarmStage("compiling the training step")
    t = time.perf_counter()
    control.stop()
    assert list(job) == [] and time.perf_counter() - t < 5  # the window closing waits for this
    for pid in map(int, pids.read_text().split()):
        for _ in range(50):  # the worker is reaped by init: give it a moment
            if not _alive(pid):
                break
            time.sleep(0.1)
        assert not _alive(pid), f"process {pid} outlived the stopped warm-up"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = subprocess.run(["ps", "-o", "stat=", "-p", str(pid)], capture_output=True, text=True).stdout
    return bool(status.strip()) and not status.strip().startswith("Z")


def test_the_child_keys_the_probe_and_the_compile_as_the_first_run_looks_them_up(tmp_path, monkeypatch):
    """The real stages (data, tokenizer, kernel, probe) with a fake compile; then the panel's run of
    the same settings finds the probe measured and the planned compile's shape warm."""
    from studio.core.jobs.training import TrainRequest, training_job
    from studio.core.training import SpeedSetup, warm
    from studio.core.training.events import Preparing
    from studio.core.training.first_warm_stages import warm_stages
    monkeypatch.setattr(speed, "native_bf16", lambda device: True)  # a probe on any CPU
    compiled = []

    def fake_compile(spec):  # what warm.compile_shape records, without inductor
        from studio.core.model.compiler import compile_architecture
        from studio.core.runs.rundir import RunDir
        run = RunDir(spec.run_dir)
        model = compile_architecture(run.architecture(), run.scale())
        speed.choose_attention("auto", model, speed.torch.device("cpu"))
        key, label = cc.shape_key(model, spec.batch, spec.context, spec.precision, spec.attention, spec.threads)
        (tmp_path / "inductor").mkdir(exist_ok=True)
        cc.CostBook().record(key, label, cold_s=30.0, ratio=0.6, inductor_dir=str(tmp_path / "inductor"))
        compiled.append(spec)
        return {"ok": True, "key": key, "label": label, "cold_s": 30.0, "ratio": 0.6}

    stages = []
    res = warm_stages(REQUEST, stages.append, fake_compile)
    assert res["ok"], res
    assert "building the small-head attention kernel" in stages and "measuring bf16 against fp32" in stages
    assert stages[-1] == f"compiling the training step (batch 8 × context 128, {res['shapes'][0]['precision']})"
    assert res["note"].startswith("batch 8 × context 128, ") and " compiled (step 0.60× eager)" in res["note"]
    assert res["detail"].startswith("2023-07-llama-2 batch 8 x context 128, ")
    (spec,) = compiled
    assert (spec.batch, spec.context, spec.threads, spec.attention) == (8, 128, 1, "small-head")
    assert not os.path.exists(spec.run_dir)  # the scratch run is gone; its tokenizer and tokens stay cached
    from studio.cli.doctor import _warm_caches
    assert any("1 shape warm: 2023-07-llama-2 batch 8 x context 128, " in c.detail for c in _warm_caches())
    assert FW.is_recipe_warm(REQUEST) and not FW.is_recipe_warm(dataclasses.replace(REQUEST, vocab_size=1024))
    assert list(FW.first_warm_job(REQUEST, JobControl(), ["false"])) == [FW.WarmDone("", "already warm", True, 0, 0)]

    monkeypatch.setattr(warm, "WarmJob", lambda spec: pytest.fail("a warm shape was compiled again"))
    monkeypatch.setattr(speed.torch, "compile", lambda fn, **kw: fn)  # the cache's step: eager numbers
    cfg = dataclasses.replace(PANEL, steps=3, eval_interval=3, sample_interval=0)
    req = TrainRequest(__import__("studio.core.files.presets", fromlist=["x"]).load_preset("2023-07-llama-2"),
                       "2023-07-llama-2", "starter", None, None, None, cfg, str(tmp_path / "run"))
    evs = list(training_job(req, JobControl()))
    assert not any(isinstance(e, Preparing) and "bf16 against fp32" in e.what for e in evs)  # the probe was warm
    (setup,) = [e for e in evs if isinstance(e, SpeedSetup)]
    assert setup.precision == res["shapes"][0]["precision"] and "measured" in setup.precision_reason
    assert "an earlier run of this shape" in setup.precision_reason


def test_one_shape_is_claimed_by_one_process(tmp_path):
    book = cc.CostBook(tmp_path / "c")
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert book.claim("k", other.pid) is None  # claimed for the other process
        assert book.claim("k")["pid"] == other.pid  # a second claimer is told who compiles it
        assert book.warming("k")["pid"] == other.pid
    finally:
        other.kill()
        other.wait()
    assert book.warming("k") is None  # its process is gone: the claim is stale and removed
    assert book.claim("k") is None and book.warming("k")["pid"] == os.getpid()
    book.release("k", os.getpid() + 1)  # only the claimer's own release counts
    assert book.warming("k") is not None
    book.release("k")
    assert book.warming("k") is None


def test_a_run_waits_for_the_compile_another_process_runs(tmp_path, monkeypatch):
    """The run's plan counts the other compile's seconds as spent, its Speedups wait for that compile
    (no second child) and load the step once the other process recorded it."""
    from studio.core.training import warm
    from studio.core.training.background import Speedups
    from studio.core.training.speed import StepRunner
    monkeypatch.setattr(warm, "WarmJob", lambda spec: pytest.fail("a second compile of a shape being compiled"))
    monkeypatch.setattr(speed.torch, "compile", lambda fn, **kw: fn)
    book = cc.CostBook()
    book.record("other", "another shape", cold_s=100.0)  # this machine compiles in ~100 s
    before = cc.plan(book, "k", 120.0)
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        book.claim("k", other.pid)
        (book.root / cc.WARMING / "k.json").write_text(f'{{"pid": {other.pid}, "since": {time.time() - 90}}}')
        during = cc.plan(book, "k", 120.0)
        assert "being compiled now by process" in during.reason and during.gain_s > before.gain_s
        model = speed.torch.nn.Linear(2, 2)
        runner = StepRunner(model, speed.torch.device("cpu"), False)
        spec = warm.WarmSpec(str(tmp_path), 8, 128, "bf16", "sdpa", 1)
        sp = Speedups(runner, model, [], None, spec, "k", "the shape", False, remaining=lambda: 600.0)
        assert sp.poll() == [] and isinstance(sp.job, warm.ForeignWarm) and sp.busy
        (tmp_path / "ind").mkdir()
        book.record("k", "the shape", cold_s=95.0, ratio=0.6, inductor_dir=str(tmp_path / "ind"))
        assert sp.poll() == []  # recorded, but the other process still holds the claim
    finally:
        other.kill()
        other.wait()
    (switch,) = sp.poll()
    assert switch.compiled and "in the app's background warm-up" in switch.note and runner.is_compiled


def test_a_claimed_shape_is_not_compiled_again(tmp_path, monkeypatch):
    """warm.compile_shape (the child's compile, also lesson prepare's) refuses a shape another live
    process compiles now: 'busy', before any compiler runs."""
    from tiny_training import starter_data, tiny_arch

    from studio.core.model.compiler import compile_architecture
    from studio.core.runs.rundir import RunDir
    from studio.core.training import setup as S
    from studio.core.training import warm
    data = starter_data(tmp_path)
    run = RunDir(tmp_path / "run")
    run.initialize(tiny_arch(), "2023-07-llama-2", data.tokenizer, S.training_record(PANEL), data.corpus.describe())
    spec = warm.WarmSpec(str(run.path), 2, 16, "fp32", "sdpa", 1)
    model = compile_architecture(run.architecture(), run.scale())
    key, _ = cc.shape_key(model, 2, 16, "fp32", "sdpa", 1)
    monkeypatch.setattr(speed.torch, "compile", lambda *a, **k: pytest.fail("compiled a claimed shape"))
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert cc.CostBook().claim(key, other.pid) is None
        res = warm.compile_shape(spec)
    finally:
        other.kill()
        other.wait()
    assert res["busy"] and not res["ok"] and res["key"] == key and f"process {other.pid}" in res["error"]
    assert cc.CostBook().get(key) is None  # nothing recorded for it


def test_the_app_process_never_imports_torch_for_the_warm_up(tmp_path):
    """The job runs in the app's worker thread: it relays the child and imports no torch itself."""
    code = textwrap.dedent("""
        import sys
        from studio.core.jobs.control import JobControl
        from studio.core.training import first_warm as FW
        req = FW.FirstWarmRequest("2023-07-llama-2", "starter", None, None, None, FW.budget_variants({"batch_size": 8,
                                  "context": 128, "optimizer": "muon", "threads": 1}))
        child = [sys.executable, "-c", "import json; print(json.dumps({'result': {'ok': True}}))"]
        print([type(e).__name__ for e in FW.first_warm_job(req, JobControl(), child)], "torch" in sys.modules)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         env=dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "cache")))
    assert out.stdout.strip() == "['WarmDone'] False", out.stderr
