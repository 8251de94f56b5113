"""Issue 17's long fuzz campaign: mutants of every file kind the app reads, run through the real
commands, plus kill -9 at random moments of a short training run.

    python bench/fuzz_campaign.py [--per-kind 60] [--kills 10] [--seed 17] [--json out.json]

Counts, per file kind: runs, clean one-line rejections, accepted, internal errors ("internal
error" printed), tracebacks (an exception escaping the CLI, or "Traceback" printed), hangs (a run
past --timeout s), memory blow-ups (peak RSS above --mem-gb), half-written outputs (import/export/
inspect/train left a partial result), touched (a file planted outside the app's folders changed:
bench/fuzz_folders.py's victims). Commands run in-process (cli.main with captured output),
so thousands of runs fit in minutes; the kill test runs real processes.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import random
import resource
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = Path(os.environ.get("ARCHSTUDIO_SHARED", ROOT.parent / "shared")) / "data" / "llama2c"
TINY = ("extends: recipe-microgpt\nscales: {classroom: {dim: 32, n_layers: 1, n_heads: 2, hidden_dim: 64, "
        "context: 32}}\n")


class Hang(BaseException):
    pass


def _alarm(signum, frame):
    raise Hang()


# ----------------------------------------------------------------------------- mutations
def mutate_bytes(rng: random.Random, b: bytes, edits: int | None = None) -> bytes:
    b = bytearray(b)
    for _ in range(edits or rng.randint(1, 6)):
        op = rng.choice(["flip", "set", "insert", "delete", "truncate", "dup"])
        i = rng.randrange(max(1, len(b)))
        if op == "flip" and b:
            b[i] ^= 1 << rng.randrange(8)
        elif op == "set" and b:
            b[i] = rng.choice([0, 0xFF, 0x7F, 0x80, ord("["), ord("{"), ord(":"), ord("\n"), rng.randrange(256)])
        elif op == "insert":
            b[i:i] = rng.choice([b"\0", b"\xff", b"[[[[", b"{a: ", b"\n- ", b"-1", b"1e309", b"9" * 30, b"$nope"])
        elif op == "delete" and b:
            del b[i:i + rng.randint(1, 16)]
        elif op == "truncate":
            del b[i:]
        elif op == "dup" and b:
            j = rng.randrange(len(b))
            b[i:i] = b[j:j + rng.randint(1, 64)]
    return bytes(b)


WRONG = [None, True, 0, -1, 2**31, 2**63 - 1, 10**30, 1.5, float("nan"), float("inf"), "", "abc", "$nope",
         [], [1, 2], [{"a": 1}], {}, {"a": 1}, {1: 2}, "x" * 5000]


def dump(d) -> str:
    """yaml.safe_dump of a mutant; deep ones need more stack than the app is given (it keeps 1000)."""
    import yaml
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(50_000)
    try:
        return yaml.safe_dump(d, allow_unicode=True)
    finally:
        sys.setrecursionlimit(old)


def deep(n: int):
    v: object = 1
    for _ in range(n):
        v = [v]
    return v


def mutate_data(rng: random.Random, d):
    """Replace 1-3 values at random paths by wrong-typed or extreme values, or drop keys."""
    import copy
    d = copy.deepcopy(d)
    for _ in range(rng.randint(1, 3)):
        paths, stack = [], [((), d)]
        while stack:
            p, v = stack.pop()
            paths.append(p)
            if isinstance(v, dict):
                stack += [(p + (k,), x) for k, x in v.items()]
            elif isinstance(v, list):
                stack += [(p + (i,), x) for i, x in enumerate(v[:8])]
        path = rng.choice(paths[1:] or paths)
        if not path:
            continue
        parent = d
        for k in path[:-1]:
            parent = parent[k]
        if isinstance(parent, dict) and rng.random() < 0.2:
            parent.pop(path[-1], None)
        else:
            # a copy: the same WRONG list put twice could end up inside itself, a cycle the path walk never leaves
            k = rng.randrange(len(WRONG) + 1)
            parent[path[-1]] = copy.deepcopy(WRONG[k]) if k < len(WRONG) else deep(rng.choice([60, 600]))
    return d


# ----------------------------------------------------------------------------- running one command
class Tally:
    def __init__(self):
        self.by_kind: dict[str, Counter] = defaultdict(Counter)
        self.examples: dict[str, list[str]] = defaultdict(list)
        self.base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    def add(self, kind: str, outcome: str, detail: str = "") -> None:
        self.by_kind[kind][outcome] += 1
        self.by_kind[kind]["runs"] += 1
        if outcome not in ("rejected", "accepted") and len(self.examples[outcome]) < 8:
            self.examples[outcome].append(f"{kind}: {detail[:300]}")


def run_cli(tally: Tally, kind: str, argv: list[str], timeout: float, mem_gb: float) -> tuple[int | None, str]:
    from studio import cli
    out, err = io.StringIO(), io.StringIO()
    signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    rc, outcome, detail = None, None, ""
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            rc = cli.main(list(argv))
    except Hang:
        outcome, detail = "hang", " ".join(argv)
    except MemoryError:
        outcome, detail = "memory", " ".join(argv)
    except BaseException as exc:  # noqa: BLE001  anything escaping the CLI is a traceback for the user
        outcome, detail = "traceback", f"{' '.join(argv)} -> {type(exc).__name__}: {exc}"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    text = err.getvalue()
    peak_gb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - tally.base_rss) / (1 << 20)
    if outcome is None:
        if "Traceback" in text:
            outcome, detail = "traceback", text
        elif "internal error" in text:
            outcome, detail = "internal", text.strip()
        elif peak_gb > mem_gb:
            outcome, detail = "memory", f"{' '.join(argv)} (peak +{peak_gb:.1f} GB)"
            tally.base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # report each blow-up once
        elif rc == 0 or (rc == 1 and argv[0] == "validate" and not text):
            outcome = "accepted"  # validate lists the graph's issues on stdout and exits 1: its contract
        elif rc == 1 and argv[:2] == ["lesson", "prepare"] and (": failed: " in text or "damaged entry" in text):
            outcome = "rejected"  # a model of the lesson refused in its line, the others prepared: its contract
        elif rc == 2 and text.count("\n") >= 1 and text.startswith("archstudio"):
            outcome = "rejected"
        else:
            outcome, detail = "unclear", f"rc {rc}: {text[:200]!r}"
    tally.add(kind, outcome, detail)
    keep = os.environ.get("FUZZ_KEEP")
    if keep and outcome not in ("accepted", "rejected"):  # the input, to replay with --debug
        n = sum(tally.by_kind[k]["runs"] for k in tally.by_kind)
        for a in argv:
            if os.path.isfile(a):
                Path(keep).mkdir(parents=True, exist_ok=True)
                shutil.copy(a, Path(keep) / f"{n:05d}-{kind.replace(' ', '_')}-{Path(a).name}")
    return rc, text


def call_core(tally: Tally, kind: str, fn, timeout: float) -> None:
    from studio.core.errors import StudioError
    signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        fn()
        tally.add(kind, "accepted")
    except StudioError as exc:
        tally.add(kind, "rejected" if "\n" not in str(exc) else "unclear", str(exc))
    except Hang:
        tally.add(kind, "hang", kind)
    except MemoryError:
        tally.add(kind, "memory", kind)
    except BaseException as exc:  # noqa: BLE001
        tally.add(kind, "traceback", f"{type(exc).__name__}: {exc}")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


# ----------------------------------------------------------------------------- the file kinds
def setup_fixtures(work: Path) -> dict:
    """A tiny trained run, an imported llama2.c run and the inputs each kind mutates."""
    from studio import cli
    (work / "tiny.yaml").write_text(TINY)
    from studio.core.data.starter import starter_stories
    (work / "stories.txt").write_text("\n<|endoftext|>\n".join(starter_stories(80)) + "\n")
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        assert cli.main(["train", str(work / "tiny.yaml"), "--data", str(work / "stories.txt"), "--out",
                         str(work / "run"), "--steps", "2", "--tokenizer", "byte", "--batch-size", "2",
                         "--threads", "1"]) == 0
        have_l2c = (SHARED / "stories260K.bin").is_file()
        if have_l2c:
            assert cli.main(["import-llama2c", str(SHARED / "stories260K.bin"), "--tokenizer",
                             str(SHARED / "tok512.bin"), "--out", str(work / "l2c")]) == 0
    from studio.core.files.presets import load_preset
    from studio.core.files.project import Project
    proj = Project(load_preset("recipe-microgpt"), name="p").dumps(recovery_of=None, saved_at=1.0)
    return {"have_l2c": have_l2c, "project": proj}


def fresh_run(work: Path, src: str, name: str) -> Path:
    dst = work / name
    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(work / src, dst, symlinks=True)
    return dst


def half_written_export(out: Path) -> bool:
    names = {p.name for p in out.iterdir()} if out.is_dir() else set()
    return len(names & {"model.bin", "tokenizer.bin"}) == 1 or any(n.endswith(".tmp") for n in names)


def campaign(args, work: Path, tally: Tally, fx: dict) -> None:
    import yaml

    from studio.core.files.presets import load_preset  # noqa: F401  (warm the caches outside the timers)
    rng = random.Random(args.seed)
    T, M, N = args.timeout, args.mem_gb, args.per_kind
    run = lambda kind, argv: run_cli(tally, kind, argv, T, M)  # noqa: E731
    presets = ["recipe-microgpt", "2023-07-llama-2", "2024-12-deepseek-v3", "2017-06-transformer"]
    texts = {p: (ROOT / "presets" / f"{p}.yaml").read_bytes() for p in presets}
    f = work / "m.yaml"
    for i in range(N):  # architecture YAML: bytes and fields
        pid = rng.choice(presets)
        f.write_bytes(mutate_bytes(rng, texts[pid]) if i % 2 else
                      dump(mutate_data(rng, yaml.safe_load(texts[pid]))).encode())
        run("architecture", ["info", str(f), "--json"])
        run("architecture", ["validate", str(f)])
    base_proj = yaml.safe_load(fx["project"])
    for i in range(N):  # projects and recovery files
        f.write_text(dump(mutate_data(rng, base_proj)) if i % 2 else
                     mutate_bytes(rng, fx["project"].encode()).decode("utf-8", "replace"))
        run("project", ["info", str(f)])
        rec = work / "rec"
        shutil.rmtree(rec, ignore_errors=True)
        rec.mkdir()
        shutil.copy(f, rec / "00000000000000aa.recovery.yaml")
        from studio.core.files.project import recoveries
        call_core(tally, "recovery", lambda: [r.path.is_file() or 1 / 0 for r in recoveries(rec)], T)
    base_run = yaml.safe_load((work / "run" / "run.yaml").read_text())
    for i in range(N):  # run.yaml
        r = fresh_run(work, "run", "mut-run")
        (r / "run.yaml").write_text(dump(mutate_data(rng, base_run)))
        run("run.yaml", ["generate", str(r), "--max-new-tokens", "3", "--prompt", "a"])
        if i % 4 == 0:
            out = work / "ins"
            shutil.rmtree(out, ignore_errors=True)
            run("run.yaml", ["inspect", str(r), "--prompt", "a b", "--out", str(out)])
            if out.is_dir() and (out / "inspect.json").exists() and not (out / "attention.png").exists():
                tally.add("run.yaml", "half", f"inspect.json without attention.png ({out})")
    ck = (work / "run" / "checkpoints" / "latest.pt").read_bytes()
    for i in range(N // 2):  # checkpoints
        r = fresh_run(work, "run", "mut-ck")
        (r / "checkpoints" / "latest.pt").write_bytes(mutate_bytes(rng, ck, rng.randint(1, 3)))
        if i % 2:
            for p in (r / "checkpoints").glob("step-*.pt"):
                p.unlink()
        run("checkpoint", ["generate", str(r), "--max-new-tokens", "2"])
    m = work / "run" / "metrics.jsonl"
    for i in range(N):  # metrics.jsonl (the GUI overlay's reader)
        from studio.core.runs.rundir import RunDir
        from studio.core.training.history import MetricsHistory
        r = fresh_run(work, "run", "mut-m")
        (r / "metrics.jsonl").write_bytes(mutate_bytes(rng, m.read_bytes()))
        call_core(tally, "metrics.jsonl", lambda: [MetricsHistory(64).add_record(x) for x in RunDir(r).metrics()], T)
    for i in range(max(4, N // 6)):  # training data (each run builds a model: fewer)
        suffix = rng.choice([".txt", ".json", ".jsonl"])
        d = work / f"data{suffix}"
        stories = [{"story": "Once upon a time a cat sat. " * rng.randint(1, 9)} for _ in range(6)]
        raw = (json.dumps(stories) if suffix == ".json" else "\n".join(map(json.dumps, stories))
               if suffix == ".jsonl" else "\n\n".join(s["story"] for s in stories)).encode()
        d.write_bytes(mutate_bytes(rng, raw))
        out = work / "new-run"
        shutil.rmtree(out, ignore_errors=True)
        rc, _ = run("training data", ["train", str(work / "tiny.yaml"), "--data", str(d), "--out", str(out),
                                      "--steps", "1", "--tokenizer", "byte", "--batch-size", "1", "--threads", "1"])
        if rc != 0 and out.exists():
            tally.add("training data", "half", f"{out} left after a failed train")
    if fx["have_l2c"]:
        mb, tb = (SHARED / "stories260K.bin").read_bytes(), (SHARED / "tok512.bin").read_bytes()
        for i in range(N):  # llama2.c model.bin and tokenizer.bin
            fm, ft = work / "model.bin", work / "tokenizer.bin"
            fm.write_bytes(mutate_bytes(rng, mb[:256], 3) + mb[256:] if i % 2 else mb)
            ft.write_bytes(tb if i % 2 else mutate_bytes(rng, tb))
            out = work / "imp"
            shutil.rmtree(out, ignore_errors=True)
            rc, _ = run("llama2.c files", ["import-llama2c", str(fm), "--tokenizer", str(ft), "--out", str(out)])
            if rc != 0 and out.exists():
                tally.add("llama2.c files", "half", f"{out} left after a failed import")
        for i in range(N // 3):  # a run's own tokenizer.bin, then export of it
            r = fresh_run(work, "l2c", "mut-l2c")
            (r / "tokenizer" / "tokenizer.bin").write_bytes(mutate_bytes(rng, tb))
            run("tokenizer files", ["generate", str(r), "--max-new-tokens", "3", "--prompt", "Zoo"])
            out = work / "exp"
            run("tokenizer files", ["export", str(r), "--out", str(out)])
            if half_written_export(out):
                tally.add("tokenizer files", "half", f"{out}: one of model.bin/tokenizer.bin")
    import studio.core.files.presets as P
    real = P._preset_text
    for i in range(N // 2):  # timeline.yaml and preset files as shipped in the package
        target = rng.choice(["timeline.yaml", "recipe-microgpt.yaml", "2019-02-gpt-2.yaml"])
        blob = mutate_bytes(rng, (ROOT / "presets" / target).read_bytes())

        def fake(name, _t=target, _b=blob):
            if name != _t:
                return real(name)
            from studio.core.files.schema import decode_text
            return decode_text(_b, f"presets/{name}", "preset file")
        P._preset_text = fake
        for fn in (P.timeline, P.raw_preset, P.resolved_data):
            fn.cache_clear()
        try:
            run("presets", ["presets"])
            run("presets", ["info", "recipe-microgpt"])
        finally:
            P._preset_text = real
            for fn in (P.timeline, P.raw_preset, P.resolved_data):
                fn.cache_clear()


# ----------------------------------------------------------------------------- main
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--per-kind", type=int, default=60, help="mutants per file kind (commands run 1-2 per mutant)")
    ap.add_argument("--kills", type=int, default=10)
    ap.add_argument("--seed", type=int, default=17)
    ap.add_argument("--timeout", type=float, default=30.0, help="seconds before a run counts as a hang")
    ap.add_argument("--mem-gb", type=float, default=2.0, help="peak RSS growth that counts as a memory blow-up")
    ap.add_argument("--json", default=None)
    ap.add_argument("--folders-only", action="store_true", help="only the lesson, race, download-metadata and "
                    "metrics-typing kinds (bench/fuzz_folders.py) with their victim checks")
    args = ap.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    work = Path(tempfile.mkdtemp(prefix="archstudio-fuzz-"))
    os.environ["ARCHSTUDIO_CACHE_DIR"] = str(work / "cache")
    os.environ["ARCHSTUDIO_RECOVERY_DIR"] = str(work / "recovery")
    os.environ["HF_ENDPOINT"] = "http://127.0.0.1:9"  # never the internet: a closed local port (the download kind runs its own hub)
    t0 = time.monotonic()
    tally = Tally()
    fx = setup_fixtures(work)
    if not args.folders_only:
        campaign(args, work, tally, fx)
    from studio import cli
    from fuzz_folders import Victims, folder_campaign, quiet
    from fuzz_folders import setup as setup_folders
    ctx = {"tally": tally, "work": work, "seed": args.seed, "victims": Victims(work),
           "fx": setup_folders(work, quiet(cli.main)), "mutate_data": mutate_data, "mutate_bytes": mutate_bytes,
           "dump": dump, "run": lambda kind, argv: run_cli(tally, kind, argv, args.timeout, args.mem_gb),
           "core": lambda kind, fn: call_core(tally, kind, fn, args.timeout)}
    folder_campaign(ctx, args.per_kind)
    t_fuzz = time.monotonic() - t0
    from fuzz_kill import kill_campaign
    kills = kill_campaign(work, args.kills, args.seed) if args.kills else []
    cols = ["runs", "rejected", "accepted", "internal", "traceback", "hang", "memory", "half", "unclear", "touched"]
    print(f"{'kind':17} " + " ".join(f"{c:>9}" for c in cols))
    total = Counter()
    for kind, c in tally.by_kind.items():
        total.update(c)
        print(f"{kind:17} " + " ".join(f"{c.get(k, 0):>9}" for k in cols))
    print(f"{'total':17} " + " ".join(f"{total.get(k, 0):>9}" for k in cols))
    print(f"fuzz: {t_fuzz:.0f} s; load {os.getloadavg()[0]:.1f}")
    for outcome, ex in tally.examples.items():
        for e in ex:
            print(f"  {outcome}: {e}")
    if kills:
        ok = sum(r["ok"] for r in kills)
        print(f"kill -9: {ok}/{len(kills)} trials continued with --resume, max steps lost "
              f"{max(r['lost_steps'] for r in kills)} (checkpoint interval 100)")
    if args.json:
        Path(args.json).write_text(json.dumps({"kinds": tally.by_kind, "examples": tally.examples, "kills": kills},
                                              indent=1, default=str))
    shutil.rmtree(work, ignore_errors=True)
    bad = sum(total.get(k, 0) for k in cols[3:]) + sum(not r["ok"] for r in kills)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    sys.exit(main())
