"""A class, loop after loop: does the real main window hold for N minutes?

Drives the real MainWindow (offscreen unless QT_QPA_PLATFORM / DISPLAY say otherwise, e.g. under
``xvfb-run -a``) through what a lesson does, over and over: scrub every milestone, presentation on
and off, compare, attention and routing inspection on five models, three short trainings with
pause / resume / stop, a lesson of three models, a race, import stories260K, export it for
llama2.c and export the diagram, save / new / open a project, bursts of undo / redo.

The driver (bench/soak_class.py) runs in a child process so that a crash is counted, not fatal:
the parent restarts it for the time that is left. Per loop it reports event-loop stalls over 100 ms (count, worst and
the step it happened in, measured by a 10 ms QTimer on the GUI thread), resident memory, live
QObjects (the objects in the app's widget trees and the Python QObject wrappers alive), and the
GUI-thread collector's figures (collections, any started off the GUI thread).

    OMP_NUM_THREADS=1 python bench/soak_gui.py --minutes 45 [--out /tmp/soak.json]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import shutil
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WAIT_S = 300


def _child_env(tmp: Path) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS="1", ARCHSTUDIO_CACHE_DIR=str(tmp / "cache"),
               ARCHSTUDIO_RUNS_DIR=str(tmp / "runs"), ARCHSTUDIO_RECOVERY_DIR=str(tmp / "recovery"),
               ARCHSTUDIO_NO_COMPILE="1",  # seconds-long trainings: eager, as the GUI decides for them
               HF_ENDPOINT="http://127.0.0.1:9", ARCHSTUDIO_GITHUB_RAW="http://127.0.0.1:9")  # offline
    if not env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY"):
        env.setdefault("QT_QPA_PLATFORM", "offscreen")
    return env


# ---------------------------------------------------------------------------------- the parent
def supervise(minutes: float, out: Path | None) -> dict:
    """Run the driver until the time is up; a child that dies is a crash, and a new one goes on."""
    until = time.time() + minutes * 60
    loops, crashes = [], []
    while time.time() < until - 30:
        rc, tail = _one_process(until, loops, len(crashes) + 1)
        if rc == 0:
            break
        crashes.append({"rc": rc, "after_loop": len(loops), "stderr_tail": tail})
        print(f"CRASH: exit {rc} after {len(loops)} loops\n{tail}", flush=True)
    result = {"minutes": minutes, "loadavg_end": os.getloadavg(), "loops": loops, "crashes": crashes,
              "summary": summarise(loops, crashes)}
    if out:
        out.write_text(json.dumps(result, indent=1))
    return result


def _one_process(until: float, loops: list, process: int) -> tuple[int, str]:
    import threading
    tmp = Path(tempfile.mkdtemp(prefix="archstudio-soak-"))
    with open(tmp / "stderr.txt", "w+") as err:
        proc = subprocess.Popen([sys.executable, "-X", "faulthandler", __file__, "--child", "--until", str(until),
                                 "--tmp", str(tmp)], stdout=subprocess.PIPE, stderr=err, text=True,
                                cwd=ROOT, env=_child_env(tmp))
        watchdog = threading.Timer(until - time.time() + WAIT_S * 2, proc.kill)  # a hang, not a slow loop
        watchdog.start()
        for line in proc.stdout:
            if line.startswith("{"):
                rec = json.loads(line)
                rec["process"] = process
                loops.append(rec)
                print(_row(rec), flush=True)
        rc = proc.wait()
        watchdog.cancel()
        err.seek(0)
        tail = err.read()[-3000:]
    if not os.environ.get("ARCHSTUDIO_SOAK_KEEP"):  # the class's runs: ~200 MB a loop (a 45-min soak filled a disk)
        shutil.rmtree(tmp, ignore_errors=True)
    return rc, tail


def summarise(loops, crashes) -> dict:
    if not loops:
        return {"loops": 0, "crashes": len(crashes)}
    worst = max(loops, key=lambda r: r["worst_stall_ms"])
    later = loops[1:] or loops
    return {"loops": len(loops), "crashes": len(crashes), "errors": sum(len(r["errors"]) for r in loops),
            "stalls": sum(r["stalls"] for r in loops), "worst_stall_ms": worst["worst_stall_ms"],
            "worst_stall_in": f"loop {worst['loop']}, {worst['worst_stall_in']}",
            "rss_mb_first_last": (loops[0]["rss_mb"], loops[-1]["rss_mb"]),
            "rss_mb_after_first_min_max": (min(r["rss_mb"] for r in later), max(r["rss_mb"] for r in later)),
            "qobjects_first_last": (loops[0]["qobjects"], loops[-1]["qobjects"]),
            "wrappers_first_last": (loops[0]["wrappers"], loops[-1]["wrappers"]),
            "python_objects_first_last": (loops[0].get("python_objects"), loops[-1].get("python_objects")),
            "gc_off_thread": max(r["gc_off_thread"] for r in loops)}


def _row(r) -> str:
    return (f"| {r['loop']} | {r['seconds']:.0f} | {r['stalls']} | {r['worst_stall_ms']} ({r['worst_stall_in']}) | "
            f"{r['rss_mb']} | {r['qobjects']} | {r['wrappers']} | {r.get('python_objects', '')} | {r['top_levels']} | "
            f"{r['gc_off_thread']} | {'; '.join(r['errors']) or '-'} | "
            f"{', '.join(f'{k} +{v}' for k, v in r.get('grew', {}).items())} | "
            f"{', '.join(f'{k} +{v}' for k, v in r.get('python_grew', {}).items())} |")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=45)
    ap.add_argument("--out", type=Path, help="write every loop's figures here (JSON)")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--until", type=float, help=argparse.SUPPRESS)
    ap.add_argument("--tmp", type=Path, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    sys.path[:0] = [str(ROOT), str(ROOT / "bench")]
    if a.child:
        from soak_class import child
        return child(a.until, a.tmp)
    print(f"soak: {a.minutes:g} min, load {os.getloadavg()[0]:.1f}, {os.cpu_count()} CPUs", flush=True)
    print("| loop | s | stalls>100ms | worst ms (step) | RSS MB | QObjects | wrappers | Python objects | top-levels | "
          "gc off-thread | errors | grew most | Python types grew most |\n"
          "|---|---|---|---|---|---|---|---|---|---|---|---|---|", flush=True)
    result = supervise(a.minutes, a.out)
    print(json.dumps(result["summary"], indent=1))
    return 1 if result["crashes"] else 0


if __name__ == "__main__":
    sys.exit(main())
