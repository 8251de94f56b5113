"""Python's cyclic garbage collection runs on the GUI thread only, installed by the app itself.

Without it a collection triggered by the worker thread (training, inspection, a tokenizer) freed
GUI objects caught in reference cycles there, and the GUI thread crashed later (SIGSEGV in
``~QGraphicsScene`` / a timer event of a freed widget); see studio/_qt/window/gui_collector.py."""
import gc
import os
import subprocess
import sys
import threading
import weakref

from PySide6.QtCore import QObject

from studio._qt.window.gui_collector import GuiThreadCollector, installed

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_archstudio_start_up_installs_it_in_a_fresh_process():
    """No test code involved: the app's own create_app() switches automatic collection off and
    leaves a running timer on the GUI thread."""
    probe = ("import gc, threading\n"
             "from studio._qt.window.app import create_app\n"
             "from studio._qt.window.gui_collector import installed\n"
             "app = create_app()\n"
             "c = installed(app)\n"
             "print(gc.isenabled(), c is not None and c.timer.isActive(), c.thread() is app.thread())\n")
    r = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, timeout=120,
                       env=dict(os.environ, QT_QPA_PLATFORM="offscreen"), check=False)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["False", "True", "True"], r.stdout + r.stderr


def test_the_test_tier_runs_under_the_apps_collector(qapp):
    assert isinstance(installed(qapp), GuiThreadCollector) and not gc.isenabled()


def test_a_busy_worker_thread_never_collects_and_the_gui_thread_frees_the_cycle(qapp, qtbot):
    collector = installed(qapp)
    gui = threading.get_ident()
    started_on = []

    def seen(phase, info):
        if phase == "start":
            started_on.append(threading.get_ident())

    freed_on = []
    holder = QObject()
    holder.me = holder  # a Qt object kept alive only by a reference cycle
    weakref.finalize(holder, lambda: freed_on.append(threading.get_ident()))
    del holder

    kept = []

    def allocate():  # a job building its results: many times the allocation threshold, kept alive
        kept.extend([i] for i in range(20 * gc.get_threshold()[0]))

    gc.callbacks.append(seen)
    try:
        worker = threading.Thread(target=allocate, name="archstudio-test-worker")
        worker.start()
        worker.join()
        assert started_on == [] and freed_on == [], "a collection ran on the worker thread"
        qtbot.waitUntil(lambda: bool(freed_on), timeout=10_000)  # the next tick of the GUI-thread timer
    finally:
        gc.callbacks.remove(seen)
    assert freed_on == [gui] and set(started_on) == {gui}
    assert collector.off_thread == 0


def test_a_library_that_switches_collection_back_on_is_overruled(qapp):
    collector = installed(qapp)
    gc.enable()
    collector.tick()
    assert not gc.isenabled()


def test_start_up_settles_its_objects_out_of_later_collections(qapp, qtbot):
    """start_window() freezes what start-up made once the deferred docks exist, so a full
    collection on the GUI thread no longer scans PySide, torch and the presets."""
    from studio._qt.window.app import start_window
    gc.unfreeze()
    win = start_window(None)
    qtbot.addWidget(win)
    qtbot.waitUntil(lambda: gc.get_freeze_count() > 0, timeout=60_000)
    assert win.training is not None  # settled after the deferred build, not before it
    win.close()


def test_a_large_import_is_not_collected_while_it_runs_and_is_frozen_once_it_has_ended(qapp):
    """torch's first import (by a worker: ~800 modules, seconds) made the GUI thread's collections
    scan everything it had allocated, tick after tick (0.3-0.9 s stalls at load 10); they wait for
    the import to end and its objects are frozen, as start-up's are."""
    import types
    col = installed(qapp)
    names = [f"_archstudio_fake_import_{i}" for i in range(250)]
    try:
        col.tick()  # whatever was imported before this test
        alive = [[] for _ in range(5000)]  # noqa: F841  enough new objects alive that a collection is due
        assert col._due() is not None
        before, frozen = col.collections, gc.get_freeze_count()
        for chunk in (names[:100], names[100:200], names[200:]):  # modules arrive tick after tick
            sys.modules.update({n: types.ModuleType(n) for n in chunk})
            col.tick()
            assert col.collections == before and gc.get_freeze_count() == frozen  # importing: nothing scanned
        col.tick()  # the import has ended: frozen, so no collection has anything of it left to scan
        assert gc.get_freeze_count() > frozen and col._due() is None
    finally:
        for n in names:
            sys.modules.pop(n, None)
