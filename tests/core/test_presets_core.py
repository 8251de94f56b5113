"""Every preset: loads, validates clean, accounts, compiles, params match, forward+backward."""
import pytest
import torch

from studio.core.model.accounting import account
from studio.core.model.compiler import compile_architecture
from studio.core.files.presets import load_preset, preset_ids
from studio.core.model.validate import errors_only, validate


@pytest.mark.parametrize("pid", preset_ids())
def test_preset_builds_and_trains_one_step(pid):
    arch = load_preset(pid)
    assert not errors_only(validate(arch)), [str(i) for i in validate(arch)]
    for scale in arch.scales:
        account(arch, scale)
    model = compile_architecture(arch, "classroom")
    acc = account(arch, "classroom")
    assert sum(p.numel() for p in model.parameters()) == acc.params_total + acc.params_mtp
    assert 0.2e6 <= acc.params_total <= 20e6
    dims = arch.dims("classroom")
    torch.manual_seed(0)
    x = torch.randint(0, dims["vocab_size"], (2, 24))
    logits, loss = model(x, targets=x, source=x)
    assert logits.shape == (2, 24, dims["vocab_size"])
    assert torch.isfinite(loss)
    loss.backward()
    # An MoE expert that no token chose in this batch rightly gets no gradient (GShard's
    # classroom model often leaves one idle on 48 tokens); every other parameter must have one.
    idle = tuple(f"{name}.experts.{e}." for name, mod in model.named_modules() if hasattr(mod, "experts")
                 for e, n in enumerate(mod.tokens_per_expert.tolist()) if n == 0)
    for name, p in model.named_parameters():
        if p.grad is None:
            assert name.startswith(idle), f"{name} got no gradient"
        else:
            assert torch.isfinite(p.grad).all(), f"{name} has a non-finite gradient"
