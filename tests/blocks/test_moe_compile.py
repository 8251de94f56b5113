"""The MoE expert loop under torch.compile: its shapes are the routed-token counts (data-dependent),
so a traced loop was compiled again for every new set of counts (a classroom Mixtral took minutes
to compile). The loop stays eager; the router and everything around it compile once."""
import torch

from blocks import configs as C
from blocks.nn.moe import MoE


def test_new_routings_do_not_recompile():
    torch.manual_seed(0)
    torch._dynamo.reset()
    graphs = []

    def counting_backend(gm, example_inputs):
        graphs.append(gm)
        return gm.forward

    moe = MoE(C.MoEConfig(dim=16, n_experts=4, top_k=2, expert_hidden_dim=32, n_shared=1)).train()
    step = torch.compile(moe, backend=counting_backend, dynamic=False)
    x0 = torch.randn(2, 8, 16)
    step(x0).sum().backward()
    after_first = len(graphs)
    for _ in range(4):  # other tokens route to the experts in other numbers
        x = torch.randn(2, 8, 16)
        out = step(x)
        torch.testing.assert_close(out, moe(x))
        out.sum().backward()
    assert len(graphs) == after_first, f"{len(graphs) - after_first} graphs compiled again for new routings"
    torch._dynamo.reset()
