"""Run by the DDP budget test under torchrun: ``archstudio train --minutes M`` and then
``--resume --minutes M2``, in-process on every rank (2 gloo ranks); each rank records what its
trainer yielded to OUT/rank{r}.json: per session the (step, lr) of every step, the Finished
event and the wall seconds from the end of preparing to Finished."""
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import studio.core.training as T  # noqa: E402
from studio import cli  # noqa: E402

if __name__ == "__main__":
    out, data, minutes, more = Path(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    sessions, trainer = [], T.train_steps

    def recording(*args, **kw):
        s = {"steps": [], "t0": None}
        sessions.append(s)
        for ev in trainer(*args, **kw):
            if isinstance(ev, T.SpeedSetup):
                s["t0"] = time.perf_counter()
            elif isinstance(ev, T.StepMetrics):
                s["steps"].append([ev.step, ev.lr])
            elif isinstance(ev, T.Finished):
                s.update(wall_s=time.perf_counter() - s.pop("t0"), step=ev.step, elapsed_s=ev.elapsed_s,
                         budget_s=ev.budget_s, final_lr=ev.final_lr, reason=ev.reason)
            yield ev

    T.train_steps = recording  # the CLI imports it from studio.core.training when it trains
    common = ["--out", str(out / "run"), "--threads", "1", "--batch-size", "4", "--context", "32"]
    rcs = [cli.main(["train", "2023-07-llama-2", "--data", data, "--tokenizer", "byte", "--minutes", minutes, *common]),
           cli.main(["train", "2023-07-llama-2", "--resume", "--minutes", more, *common])]
    import torch.distributed as dist
    (out / f"rank{dist.get_rank()}.json").write_text(json.dumps({"rcs": rcs, "sessions": sessions}))
    dist.destroy_process_group()
