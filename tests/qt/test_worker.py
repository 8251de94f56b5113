"""The one generic worker: a core generator's events reach the GUI thread in order; stop, pause,
failures and the end of the thread are handled the same way for every job."""
import dataclasses
import threading

from studio._qt.worker import Worker
from studio.core.errors import StudioError


@dataclasses.dataclass(frozen=True)
class Tick:
    i: int
    thread: str


def counting(n, gate=None):
    def job(control):
        for i in range(n):
            if control.should_stop():
                return
            while control.is_paused() and not control.should_stop():
                gate.wait(0.01)
            if control.take("mark"):
                yield "marked"
            yield Tick(i, threading.current_thread().name)
            if gate is not None:
                gate.wait(0.005)
    return job


def test_events_arrive_in_order_on_the_gui_thread_and_ended_comes_last(qtbot):
    got, where = [], []
    w = Worker(counting(50), name="archstudio-test")
    w.job_event.connect(lambda ev: (got.append(ev), where.append(threading.current_thread() is threading.main_thread())))
    ended = []
    w.ended.connect(lambda: ended.append((len(got), w.isFinished())))
    with qtbot.waitSignal(w.ended, timeout=10_000):
        w.start()
    assert [e.i for e in got] == list(range(50)) and all(where)
    assert got[0].thread != threading.main_thread().name  # the work ran on the worker's thread
    assert ended == [(50, True)]  # after every event, and only once the thread has really finished


def test_stop_pause_and_requests_are_cooperative(qtbot):
    gate = threading.Event()
    got = []
    w = Worker(counting(10_000, gate))
    w.job_event.connect(got.append)
    w.start()
    qtbot.waitUntil(lambda: len(got) >= 3, timeout=10_000)
    w.request("mark")
    qtbot.waitUntil(lambda: "marked" in got, timeout=10_000)
    w.set_paused(True)
    assert w.paused
    with qtbot.waitSignal(w.ended, timeout=10_000):
        w.stop()  # wakes the paused job, which returns at its next check
    assert len(got) < 10_000 and w.control.should_stop() and not w.paused


def test_failures_are_one_line(qtbot):
    def broken(control):
        yield 1
        raise ZeroDivisionError("boom")

    def refused(control):
        raise StudioError("no data: choose a file")
        yield  # pragma: no cover

    for job, text in ((broken, "the job failed: ZeroDivisionError: boom"), (refused, "no data: choose a file")):
        w = Worker(job)
        with qtbot.waitSignal(w.failed, timeout=10_000) as failed, qtbot.waitSignal(w.ended, timeout=10_000):
            w.start()
        assert failed.args == [text]


def test_shutdown_waits_for_the_thread(qtbot):
    gate = threading.Event()
    w = Worker(counting(1_000_000, gate))
    ended = []
    w.ended.connect(lambda: ended.append(w.isFinished()))
    w.start()
    qtbot.waitUntil(w.isRunning, timeout=10_000)
    assert w.shutdown(10_000) and ended == [True]
    assert w.shutdown(10_000)  # twice is harmless


def test_every_view_starts_its_job_through_start_job():
    """One job protocol (issue 26): a view starts a job with start_job(job, on_event=…,
    on_failed=…, on_ended=…); only the carrier itself constructs a Worker."""
    import re
    from pathlib import Path
    root = Path(__file__).resolve().parents[2] / "studio"
    hand_wired = [p.relative_to(root).as_posix() for p in root.rglob("*.py")
                  if p.name != "worker.py" and re.search(r"\bWorker\(", p.read_text(encoding="utf-8"))]
    assert hand_wired == []


def test_start_job_delivers_events_failure_and_end(qtbot):
    from studio._qt.worker import start_job
    from studio.core.errors import StudioError
    seen, failed = [], []

    def job(control):
        yield 1
        yield 2
        raise StudioError("the data went away")
    w = start_job(job, name="t", on_event=seen.append, on_failed=failed.append)
    with qtbot.waitSignal(w.ended, timeout=10_000):
        pass
    assert seen == [1, 2] and failed == ["the data went away"]


def test_a_finished_worker_is_freed_python_object_and_all(qtbot):
    """A signal named "event" shadowed QObject.event(): every finished worker's Python object
    (its control, locks and events) then stayed alive, 57 more each loop of the class soak."""
    import gc
    import weakref

    from PySide6.QtCore import QCoreApplication, QEvent

    from studio._qt.worker import start_job
    refs = []
    for _ in range(3):
        ended = []
        w = start_job(counting(5), on_event=lambda ev: None, on_ended=lambda: ended.append(1))
        refs.append(weakref.ref(w))
        qtbot.waitUntil(lambda: bool(ended), timeout=10_000)
        del w
    for _ in range(3):
        QCoreApplication.sendPostedEvents(None, QEvent.DeferredDelete)
        QCoreApplication.processEvents()
    gc.collect()
    assert [r() for r in refs] == [None, None, None]


def test_no_signal_of_the_app_shadows_a_qt_method():
    """A Signal named like a QObject/QWidget method (event, timerEvent, show, …) replaces that
    method for Qt's own calls; every signal the app's classes declare is checked."""
    import importlib
    import inspect
    import pkgutil

    from PySide6.QtCore import Signal
    from PySide6.QtWidgets import QDialog, QGraphicsObject, QMainWindow, QWidget

    import studio._qt as qt
    qt_names = set().union(*(dir(c) for c in (QWidget, QMainWindow, QDialog, QGraphicsObject)))
    clashes = []
    for info in pkgutil.walk_packages(qt.__path__, qt.__name__ + "."):
        module = importlib.import_module(info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == module.__name__:
                clashes += [f"{cls.__qualname__}.{n}" for n, v in vars(cls).items()
                            if isinstance(v, Signal) and n in qt_names]
    assert not clashes
