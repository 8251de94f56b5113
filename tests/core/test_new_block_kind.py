"""Adding a block kind touches blocks/ only: a kind registered here (test-only registry entry:
DyT, "Transformers without Normalization", Zhu et al. 2025) plays the "norm" role and every
core consumer — validation, accounting, the compiler, the llama2.c checker, layout, the diff
and `info --json` — handles it through its traits, with no change to core code."""
from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch
import torch.nn as nn

from blocks.configs import ConfigBase, f
from blocks.registry import REGISTRY, X_IN, X_OUT, BlockSpec
from studio.core.model.accounting import account
from studio.core.model.compiler import compile_architecture
from studio.core.model.lineage import milestone_change
from studio.core.model.graph import Node
from studio.core.model.info import node_configs
from studio.core.model.layout import compute_layout
from studio.core.formats.llama2c.check import check_llama2c
from studio.core.files.presets import load_preset
from studio.core.model.validate import errors_only, validate


@dataclass(frozen=True)
class DyTConfig(ConfigBase):
    dim: int = f(64, "Width of the residual stream", min=1)
    alpha: float = f(0.5, "Initial steepness α of tanh(αx)", min=0.0)


class DyT(nn.Module):
    """y = tanh(α·x)·γ + β: a normalisation layer without statistics."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.alpha = nn.Parameter(torch.tensor(float(cfg.alpha)))
        self.weight = nn.Parameter(torch.ones(cfg.dim))
        self.bias = nn.Parameter(torch.zeros(cfg.dim))

    def forward(self, x):
        return torch.tanh(self.alpha * x) * self.weight + self.bias


DYT = BlockSpec(kind="dyt", title="Dynamic tanh", family="norm", summary="tanh(αx)·γ + β instead of a norm",
                config_cls=DyTConfig, inputs=(X_IN,), outputs=(X_OUT,), module=f"{__name__}:DyT",
                params=lambda c: 2 * c.dim + 1, act_elems=lambda c, ctx: c.dim, roles=frozenset({"norm"}))


@pytest.fixture
def registered(monkeypatch):
    monkeypatch.setitem(REGISTRY, "dyt", DYT)


def _swap_norms(arch, kind: str) -> list[str]:
    g = arch.graph
    norms = [nid for nid, n in g.nodes.items() if n.spec.has("norm")]
    for nid in norms:
        node = g.node(nid)
        edges = g.in_edges(nid) + g.out_edges(nid)
        g.remove_node(nid)
        g.add_node(Node(nid, kind, node.region, {}))
        for e in edges:
            g.connect(e.src, e.src_port, e.dst, e.dst_port)
    return norms


def test_a_new_norm_kind_needs_no_core_change(registered):
    base = load_preset("2023-02-llama-1")
    arch = base.copy()
    norms = _swap_norms(arch, "dyt")
    assert len(norms) == 3
    assert not errors_only(validate(arch, "classroom"))
    # accounting: each DyT holds 2·dim + 1 where RMSNorm held dim
    dim, n_layers = arch.dims("classroom")["dim"], arch.repeat("layer", "classroom")
    instances = 2 * n_layers + 1
    assert account(arch, "classroom").params_total - account(base, "classroom").params_total == instances * (dim + 1)
    # the compiler builds it, the module's parameters are the accounting's, and it trains
    model = compile_architecture(arch, "classroom")
    assert sum(p.numel() for p in model.parameters()) == account(arch, "classroom").params_total
    tokens = torch.randint(0, arch.dims("classroom")["vocab_size"], (2, 8))
    _, loss = model(tokens, tokens)
    loss.backward()
    assert model.layers[0].attention_norm.alpha.grad is not None
    # the llama2.c checker names it with the registry's default reason
    assert any("Dynamic tanh" in i.message and "llama2.c" in i.message for i in check_llama2c(arch, "classroom"))
    # layout, the learner's diff and info --json all take it as a norm
    assert set(compute_layout(arch.graph).pos) == set(arch.graph.nodes)
    assert "Normalisation: RMSNorm → Dynamic tanh" in milestone_change(base, arch)
    cfg = {n["id"]: n for n in node_configs(arch, "paper")}["ffn_norm"]
    assert cfg["kind"] == "dyt" and cfg["config"] == {"dim": 4096, "alpha": 0.5}
    assert cfg["costs"]["params"] == n_layers_paper(arch) * (2 * 4096 + 1)


def n_layers_paper(arch) -> int:
    return arch.repeat("layer", "paper")
