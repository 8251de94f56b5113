"""Architecture race: two models, the identical token stream (checked by hashing what each model's
forward actually received), per-model metrics and runs, matching, save and reopen, the presets."""
import hashlib

import pytest

from conftest import run_cli
from studio.core.errors import StudioError
from studio.core.classroom.race import RaceConfig, load_race, race
from studio.core.classroom.race_events import RaceDone, RaceEval, RaceStarted, RaceStep, RaceStopped
from studio.core.classroom.race_history import RaceHistory
from studio.core.jobs.control import JobControl
from studio.core.training.events import Preparing
from studio.core.classroom.race_setup import MATCHES, figure, load_race_model, match_models, race_presets
from studio.core.runs.rundir import RunDir
from studio.core.training import setup as S
from studio.core.model.validate import validate


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ARCHSTUDIO_CACHE_DIR", str(tmp_path / "cache"))  # no TinyStories: the starter corpus


def tiny(**kw):
    return RaceConfig(**{"models": ("2019-02-gpt-2", "2023-07-llama-2"), "steps": 6, "batch_size": 2, "context": 16,
                         "tokenizer": "byte", "vocab_size": 259, "threads": 1, "eval_interval": 3, **kw})


def test_two_models_see_identical_batches_and_write_their_own_metrics(cache, tmp_path, monkeypatch):
    seen = {}
    real_build = S.build_model

    def spy(arch, seed):  # hash the token ids every model's forward really receives while training
        model = real_build(arch, seed)
        log = seen.setdefault(len(seen), [])

        def pre(module, args, kwargs):
            if module.training:
                log.append(hashlib.sha256(args[0].numpy().tobytes()).hexdigest())
        model.register_forward_pre_hook(pre, with_kwargs=True)
        return model
    monkeypatch.setattr(S, "build_model", spy)
    events = list(race(tmp_path / "race", tiny()))
    assert isinstance(events[0], Preparing) and isinstance(events[-1], RaceDone)
    assert [type(e) for e in events].count(RaceStarted) == 1 and not [e for e in events if isinstance(e, RaceStopped)]
    train_calls = [h for h in seen.values() if h]
    assert len(train_calls) == 2 and len(train_calls[0]) >= 6
    assert train_calls[0][-6:] == train_calls[1][-6:], "both models trained on the same batches in the same order"
    assert len(set(train_calls[0][-6:])) == 6, "a new batch every step"
    saved = load_race(tmp_path / "race")
    runs = [RunDir(tmp_path / "race" / m["run"]) for m in saved.index["models"]]
    hashes = [[r["batch"] for r in run.metrics() if r["kind"] == "step"] for run in runs]
    assert hashes[0] == hashes[1] and len(hashes[0]) == 6
    for run, m in zip(runs, saved.index["models"]):
        recs = run.metrics()
        assert [r["step"] for r in recs if r["kind"] == "eval"] == [3, 6]
        assert run.has_checkpoint() and run.read_config()["tokenizer"]["vocab_size"] == 259  # one shared tokenizer
    assert [r["name"] for r in saved.table] == ["GPT-2", "LLaMA 2"]
    for row in saved.table:
        assert row["tokens"] == 6 * 2 * 16 and row["flops"] == pytest.approx(6 * row["params_active"] * row["tokens"])
        assert row["val_bpb"] > 0 and row["tokens_per_s"] > 0 and row["sample"].startswith("Once upon a time")
    assert set(saved.curves) == {"GPT-2", "LLaMA 2"} and all(len(c) == 2 for c in saved.curves.values())
    h = RaceHistory.from_saved(saved)
    assert h.status == "done" and [round(c.bpb[-1], 4) for c in h.curves] == [r["val_bpb"] for r in saved.table]
    assert [len(c.tokens) for c in h.curves] == [2, 2] and h.leader() in ("GPT-2", "LLaMA 2")
    # a race whose process was killed: race.yaml still says running and has no table
    import yaml
    idx = yaml.safe_load((tmp_path / "race" / "race.yaml").read_text())
    idx.update(status="running")
    idx.pop("table")
    idx.pop("steps_done")
    (tmp_path / "race" / "race.yaml").write_text(yaml.safe_dump(idx))
    cut = RaceHistory.from_saved(load_race(tmp_path / "race"))
    assert cut.status == "interrupted" and cut.step == 6 and "interrupted at step 6" in cut.message
    assert [r["name"] for r in cut.table] == ["GPT-2", "LLaMA 2"] and all(r["val_bpb"] > 0 for r in cut.table)


def test_minutes_run_on_the_wall_clock_from_the_command(cache, tmp_path, monkeypatch):
    """--minutes N: N minutes from the command, preparing included, paced by the trainer's Budget. A
    clock that says 59 s of a 1-minute race went by before the first step leaves the race its last
    second: a few steps, the last at the learning rate's floor, and the table written (without the
    wall clock the race would fit its steps to the whole minute after preparing)."""
    import studio.core.classroom.race_steps as RS
    from studio.core.training.budget import Budget
    made = []
    real_budget = Budget

    def spy(*a, **k):
        made.append(real_budget(*a, **k))
        return made[-1]
    monkeypatch.setattr("studio.core.training.budget.Budget", spy)
    asked = RS.clock() - 59.0  # the command, 59 s ago
    events = list(race(tmp_path / "race", tiny(steps=None, minutes=1.0, eval_interval=None), started_at=asked))
    started = next(e for e in events if isinstance(e, RaceStarted))
    assert started.preparing_s >= 59.0 and "1 min on the wall clock" in started.message
    end = events[-1]
    assert isinstance(end, RaceDone) and end.elapsed_s >= 59.0 and 1 <= end.step < 40, end.message
    # the trainer's own budget: the first step times the models, then the budget is fitted from it
    assert len(made) == 2 and made[0].step_s is None and made[1].step_s > 0
    assert all(b.seconds == 60.0 and b.used >= 59.0 for b in made)
    steps = [RunDir(tmp_path / "race" / m["run"]).metrics() for m in load_race(tmp_path / "race").index["models"]]
    lrs = [[r["lr"] for r in recs if r["kind"] == "step"] for recs in steps]
    assert lrs[0] == lrs[1] and lrs[0][0] == pytest.approx(3e-5)  # one schedule for both, from warmup's least
    assert lrs[0][-1] == pytest.approx(3e-4)  # and it ends decayed, out of time as it is
    evals = [e for e in events if isinstance(e, RaceEval)]
    assert {e.step for e in evals} == {end.step} and len(evals) == 2  # both evaluated at the last step
    index = load_race(tmp_path / "race").index
    assert index["clock"]["budget_s"] == 60.0 and index["clock"]["elapsed_s"] >= 59.0


@pytest.mark.parametrize("step_s", [None, 1.0])
def test_a_timed_race_fits_its_steps_to_the_measured_step_time(cache, tmp_path, monkeypatch, step_s):
    """A fake clock and cost model: preparing takes 10 s of a 1-minute race, every race step 1 s and
    the end (samples, checkpoints) 3 s. The budget fits the steps to what is left and keeps the end
    back: ~46 steps, and the last one ends before the minute less the end's seconds; the same when
    the first race step is what times the models (step_s None, the race's own way)."""
    import studio.core.classroom.race as R
    import studio.core.classroom.race_steps as RS
    now = {"t": 1000.0}
    monkeypatch.setattr(RS, "clock", lambda: now["t"])

    def measured(*a, **k):
        now["t"] += 10.0  # loading, the tokenizer and timing the models
        return RS.Costs(step_s=step_s, eval_s=None if step_s is None else 0.0, end_s=3.0)
    monkeypatch.setattr(R, "_costs", measured)
    real_steps = RS.run_steps

    def paced(f, cfg, control, pace):
        gen = real_steps(f, cfg, control, pace)
        while True:
            try:
                ev = next(gen)
            except StopIteration as stop:
                return stop.value
            if isinstance(ev, RaceStep) and ev.model == 1:
                now["t"] += 1.0  # a race step (both models) takes one second
            yield ev
    monkeypatch.setattr(RS, "run_steps", paced)
    events = list(race(tmp_path / "race", tiny(steps=None, minutes=1.0, eval_interval=None), started_at=1000.0))
    end = events[-1]
    assert isinstance(end, RaceDone) and 45 <= end.step <= 47 and 1055 <= now["t"] <= 1057, (end.step, now["t"])
    evals = sorted({e.step for e in events if isinstance(e, RaceEval)})
    assert len(evals) >= 8 and evals[-1] == end.step  # every 1/12 of the minutes, and at the end


def test_a_stopped_race_says_so(cache, tmp_path):
    control = JobControl()
    events = []
    for ev in race(tmp_path / "race", tiny(steps=50), control):
        events.append(ev)
        if isinstance(ev, RaceStep) and ev.step == 2:
            control.stop()
    assert isinstance(events[-1], RaceStopped) and events[-1].step == 2 and "stopped after 2 of 50" in events[-1].message
    h = RaceHistory()
    for ev in events:
        h.feed(ev)
    assert h.status == "stopped" and h.step == 2 and len(h.table) == 2


def test_matching_equal_active_parameters():
    archs = [S.classroom_arch(load_race_model(m)[0], 512, 64) for m in ("2023-07-llama-2", "2023-12-mixtral")]
    assert figure(archs[1], "params_active") > 1.5 * figure(archs[0], "params_active")
    matched = match_models(archs, "active")
    a, b = (figure(x, "params_active") for x in matched)
    assert abs(b - a) / a < 0.005 and figure(matched[1], "params_total") > 2 * a  # the experts stay
    with pytest.raises(StudioError, match="unknown --match"):
        match_models(archs, "bogus")


@pytest.mark.parametrize("race_id", ["norm-placement", "positions", "dense-vs-moe", "attention-kv"])
def test_race_presets_build_valid_matched_models(race_id):
    p = race_presets()[race_id]
    archs = [S.classroom_arch(load_race_model(m)[0], 512, 64) for m in p.models]
    for a in match_models(archs, p.match):
        assert not [i for i in validate(a, "classroom") if i.severity == "error"], a.id
    if MATCHES[p.match]:
        figs = [figure(a, MATCHES[p.match]) for a in match_models(archs, p.match)]
        assert max(figs) / min(figs) < 1.01


def test_bad_races_are_refused(cache, tmp_path):
    with pytest.raises(StudioError, match="2 to 4"):
        list(race(tmp_path / "r", tiny(models=("2019-02-gpt-2",))))
    with pytest.raises(StudioError, match="encoder-decoder"):
        list(race(tmp_path / "r2", tiny(models=("2017-06-transformer", "2019-02-gpt-2"))))
    with pytest.raises(StudioError, match="not a race folder"):
        load_race(tmp_path)


def test_cli_race_list_and_usage_errors():
    r = run_cli("race", "--list")
    assert r.returncode == 0 and "dense-vs-moe" in r.stdout and "MHA vs GQA vs MLA" in r.stdout
    for args in (("race", "2019-02-gpt-2"), ("race", "--preset", "nope"), ("race", "--show", "/nonexistent")):
        bad = run_cli(*args)
        assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1, (args, bad.stderr)
