"""Run by the DDP test under torchrun: 3 steps of a tiny model on 2 gloo ranks; each rank saves
its final parameters and logged losses to OUT/rank{r}.pt."""
import sys
from pathlib import Path

import torch
import torch.distributed as dist

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tiny_training import starter_data, tiny_arch  # noqa: E402

from studio.core.training import StepMetrics, TrainConfig, train_steps  # noqa: E402
from studio.core.training import setup as S  # noqa: E402

CFG = dict(steps=3, batch_size=4, context=32, eval_interval=3, eval_batches=1, sample_interval=0, threads=1, lr=3e-3)

if __name__ == "__main__":
    out = Path(sys.argv[1])
    dist.init_process_group("gloo")
    data = starter_data(out / f"cache{dist.get_rank()}")
    model = S.build_model(tiny_arch(), 0)
    losses = [e.loss for e in train_steps(model, data, TrainConfig(**CFG)) if isinstance(e, StepMetrics)]
    torch.save({"params": {k: v.detach().clone() for k, v in model.state_dict().items()}, "losses": losses},
               out / f"rank{dist.get_rank()}.pt")
    dist.destroy_process_group()
