"""RunState is the only owner of a training run's state: the session's key, state and info are
read from it, so the Training panel, Plots and the inspector can never disagree about the run."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))
from tiny_training import tiny_arch

from studio._qt.training.session import TrainingSession
from tests.qt.training_docks import configure, make_models


def test_a_session_keeps_no_run_state_of_its_own(qtbot):
    _, run = make_models(tiny_arch())
    session = TrainingSession(run)
    own = set(vars(session))
    assert not own & {"state", "info", "key", "last_snapshot"}  # a copy beside RunState could diverge from it
    run.start_live("tiny")
    run.live_prepared("/tmp/somewhere", {"run_dir": "/tmp/somewhere", "steps": 3}, "tiny")
    assert session.key == "tiny" and session.info["steps"] == 3
    run.forget("tiny")  # the document was closed
    assert session.key is None and session.info == {}


def test_session_and_run_state_agree_at_every_state_of_a_real_run(qtbot, env, make_docks):
    t = make_docks(tiny_arch())
    session, run, panel = t.session, t.run_state, t.panel
    configure(panel, steps=3)
    seen = []

    def check(state):
        live = run.live_training(session.key)
        seen.append((state, session.state, live, session.info.get("run_dir"), run.live_info(session.key).get("run_dir")))
    session.state_changed.connect(check)
    session.prepared.connect(lambda info: seen.append(("prepared", info["run_dir"], str(run.run_dir))))
    panel.start()
    assert session.key == run.key == "milestone:tiny" and session.state == "preparing" == run.training
    qtbot.waitUntil(lambda: session.state == "idle", timeout=120_000)
    states = [s[0] for s in seen]
    assert states == ["preparing", "prepared", "running", "idle"], seen
    for state, said, live, info_dir, run_dir in (s for s in seen if s[0] != "prepared"):
        assert said == state and live == ("finished" if state == "idle" else state) and info_dir == run_dir
    prepared = next(s for s in seen if s[0] == "prepared")
    assert prepared[1] == prepared[2] == session.info["run_dir"]  # one folder, wherever it is read
    assert run.training == "finished" and run.live_key is None and session.key == "milestone:tiny"
