"""The core jobs the GUI's one worker carries: plain generators of frozen-dataclass events (no Qt)."""
import dataclasses

import pytest
from hf_server import Hub
from tiny_training import tiny_arch

from studio.core.jobs import JobControl
from studio.core.jobs.download import DownloadProgress, Downloaded, download_job
from studio.core.jobs.generate import TextPiece, generate_job
from studio.core.jobs.llama2c_import import Llama2cImported, llama2c_import_job
from studio.core.jobs.training import Prepared, Status, TrainRequest, training_job
from studio.core.jobs.weights import WeightsSource
from studio.core.state.run import Snapshot
from studio.core.training import Finished, StepMetrics, TrainConfig


def test_control_requests_are_taken_once_and_stop_wakes_a_paused_job():
    outside = {"stop": False}
    c = JobControl(should_stop=lambda: outside["stop"])
    c.request("snapshot")
    assert c.take("snapshot") and not c.take("snapshot") and not c.take("other")
    c.paused = True
    c.stop()
    assert c.should_stop() and not c.is_paused()
    c2 = JobControl(should_stop=lambda: outside["stop"])
    outside["stop"] = True  # e.g. QThread.requestInterruption
    assert c2.should_stop()


def test_training_job_prepares_trains_snapshots_and_generates(tmp_path, monkeypatch):
    monkeypatch.setenv("ARCHSTUDIO_CACHE_DIR", str(tmp_path / "cache"))
    statuses = []
    control = JobControl(notify=statuses.append)
    cfg = TrainConfig(steps=4, batch_size=2, context=16, eval_interval=2, eval_batches=1, sample_interval=0,
                      checkpoint_interval=0, threads=1)
    req = TrainRequest(tiny_arch(), "tiny", "starter", "byte", None, None, cfg, str(tmp_path / "run"))
    events = []
    for ev in training_job(req, control):
        events.append(ev)
        if isinstance(ev, StepMetrics) and ev.step == 2:
            control.request("snapshot")  # the GUI asks for weights mid-run
    prepared = events[0]
    assert isinstance(prepared, Prepared) and prepared.run_dir == str(tmp_path / "run") and prepared.steps == 4
    assert not prepared.is_tinystories and events[1] == Status("training")
    assert any(isinstance(s, Status) and "tokenizer" in s.text for s in statuses)  # preparation, as it happens
    snaps = [e for e in events if isinstance(e, Snapshot)]
    fin = next(e for e in events if isinstance(e, Finished))
    assert [s.step for s in snaps] == [2, fin.step]  # on request after step 2, and the final weights
    steps = [e for e in events if isinstance(e, StepMetrics)]
    assert [s.step for s in steps] == [1, 2, 3, 4] and all(s.routing is None for s in steps)  # dense: no routing
    with pytest.raises(dataclasses.FrozenInstanceError):
        snaps[0].step = 9
    src = WeightsSource("snapshot", "tiny", arch=snaps[-1].arch, snapshot=snaps[-1])
    pieces = list(generate_job(src, "Tom", {"max_new_tokens": 5, "temperature": 0.0}, JobControl()))
    assert pieces and all(isinstance(p, TextPiece) for p in pieces)
    assert "".join(p.text for p in pieces).startswith("Tom")
    stopped = JobControl()
    stopped.stop()
    assert len(list(generate_job(src, "Tom", {"max_new_tokens": 50, "temperature": 0.0}, stopped))) <= 1


def test_download_job_passes_progress_on(tmp_path, monkeypatch):
    body = b"Once upon a time.\n<|endoftext|>\n" * 5000
    with Hub({"TinyStories-valid.txt": body}) as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        seen = []
        events = list(download_job("quick", tmp_path, JobControl(notify=seen.append)))
    assert len(events) == 1 and isinstance(events[0], Downloaded)
    assert open(events[0].path, "rb").read() == body
    assert seen and isinstance(seen[-1], DownloadProgress) and seen[-1].done == len(body)


def test_llama2c_import_job_yields_the_run_and_fails_in_one_line(tmp_path, shared_data):
    from studio.core import errors as E
    src = shared_data / "llama2c"
    (ev,) = llama2c_import_job(str(src / "stories260K.bin"), str(src / "tok512.bin"), str(tmp_path / "run"),
                               JobControl())
    assert isinstance(ev, Llama2cImported) and ev.out == str(tmp_path / "run")
    assert ev.arch.dims("classroom")["dim"] == 64 and isinstance(ev.warnings, tuple)
    with pytest.raises(E.StudioError, match="not empty"):  # nothing overwritten
        list(llama2c_import_job(str(src / "stories260K.bin"), str(src / "tok512.bin"), str(tmp_path / "run"),
                                JobControl()))
    with pytest.raises(E.StudioError):  # a missing file: the reader's one line, not an OSError traceback
        list(llama2c_import_job(str(tmp_path / "none.bin"), str(src / "tok512.bin"), str(tmp_path / "r2"),
                                JobControl()))
