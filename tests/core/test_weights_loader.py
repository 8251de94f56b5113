"""Issue 17 / issue 12 item 4: one weights loader with a strict key check in one line."""
from __future__ import annotations

import pytest
import torch

from studio.core import errors as E
from studio.core.runs.weights import load_weights


def model():
    return torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 2))


def test_matching_weights_load():
    a, b = model(), model()
    load_weights(b, a.state_dict(), "ck.pt")
    assert torch.equal(a[0].weight, b[0].weight)


def test_compiled_prefix_is_accepted():
    a, b = model(), model()
    load_weights(b, {f"_orig_mod.{k}": v for k, v in a.state_dict().items()}, "ck.pt")
    assert torch.equal(a[1].bias, b[1].bias)


@pytest.mark.parametrize("edit,want", [
    (lambda sd: sd.pop("1.bias"), "1 missing (1.bias)"),
    (lambda sd: sd.update(extra=torch.zeros(1)), "1 unexpected (extra)"),
    (lambda sd: sd.update({"0.weight": torch.zeros(5, 3)}), "1 mis-shaped (0.weight [5, 3] (model: [4, 3]))"),
    (lambda sd: sd.update({"0.bias": "x"}), "entry '0.bias' of the weights is not a tensor"),
])
def test_what_does_not_fit_is_named_in_one_line(edit, want):
    sd = model().state_dict()
    edit(sd)
    with pytest.raises(E.LoadError) as ei:
        load_weights(model(), sd, "ck.pt")
    assert want in str(ei.value) and "\n" not in str(ei.value) and str(ei.value).startswith("ck.pt: ")


def test_every_state_dict_load_in_studio_goes_through_load_weights():
    import pathlib
    root = pathlib.Path(__file__).resolve().parents[2] / "studio"
    offenders = [f"{p.relative_to(root)}:{i + 1}" for p in root.rglob("*.py") if p.name != "weights.py"
                 for i, line in enumerate(p.read_text().splitlines())
                 if ".load_state_dict(" in line and "opt.load_state_dict" not in line]
    assert offenders == []
