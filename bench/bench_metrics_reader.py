"""metrics.jsonl with N tiny records: the typed streaming reader (studio.core.runs.metrics) vs the
whole-file list of dicts it replaced (re-implemented here as it was: read, splitlines, json.loads
each line, keep every dict). Each in its own process so peak RSS is its own.

    OMP_NUM_THREADS=1 python3 bench/bench_metrics_reader.py --records 8000000
"""
import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

OLD = """
import json, sys
data = open(sys.argv[1], 'rb').read()
recs = []
for raw in data.splitlines():
    try:
        rec = json.loads(raw.decode('utf-8'))
    except ValueError:
        continue
    if isinstance(rec, dict):
        recs.append(rec)
steps = [r for r in recs if r.get('kind') == 'step']
print(len(recs), steps[-1]['step'])
"""
NEW = """
import sys
from studio.core.runs.metrics import read_metrics
m = read_metrics(sys.argv[1])
print(m.read, m.last['step']['step'], len(m.curve))
"""


def run(code: str, path: Path) -> tuple[float, float, float, str]:
    """(wall s, CPU s, peak RSS MiB, what it printed) of ``code`` in a process of its own; CPU
    seconds are the figure to compare on a shared, loaded machine."""
    t = time.perf_counter()
    r = subprocess.run([sys.executable, "-c", code + "\nimport resource; u = resource.getrusage(resource.RUSAGE_SELF)"
                        "\nprint(u.ru_maxrss, u.ru_utime + u.ru_stime)", str(path)], capture_output=True, text=True,
                       check=True, cwd=Path(__file__).resolve().parents[1])
    out = r.stdout.split("\n")
    rss, cpu = out[1].split()
    return time.perf_counter() - t, float(cpu), int(rss) / 1024, out[0]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--old", action="store_true", help="also time the old whole-file reader")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "metrics.jsonl"
        with open(p, "w") as fh:
            fh.writelines(json.dumps({"kind": "step", "step": i}) + "\n" for i in range(1, a.records + 1))
        load = Path("/proc/loadavg").read_text().split()[:3]
        print(f"{a.records:,} records, {p.stat().st_size / 2**20:.0f} MiB; load {load}")
        for name, code in (("typed streaming reader", NEW),) + ((("old whole-file list", OLD),) if a.old else ()):
            s, cpu, mb, out = run(code, p)
            print(f"  {name:24} {s:6.1f} s wall  {cpu:6.1f} s CPU  peak RSS {mb:7.0f} MiB  ({out})")


if __name__ == "__main__":
    main()
