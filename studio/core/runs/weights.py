"""The one way weights go into a model: a strict key and shape check that names what does not fit.

torch's ``load_state_dict`` raises a multi-line RuntimeError for a shape mismatch (a run.yaml
whose ``hidden_dim`` was edited after training) and, with ``strict=False``, silently skips
missing keys. Every loader of a checkpoint or an imported file calls :func:`load_weights`
instead, which says in one line what is missing, unexpected or mis-shaped.
"""
from __future__ import annotations

from studio.core import errors as E

# tables a model rebuilds from its config (RoPE cos/sin, sinusoidal positions): never required
DERIVED_SUFFIXES = ("cos", "sin", "pe")


def _shape(t) -> tuple:
    return tuple(getattr(t, "shape", ()))


def mis_shaped(state: dict, own: dict) -> list[str]:
    """``key [shape] (model: [shape])`` for every key of ``state`` whose shape differs from ``own``'s."""
    return [f"{k} {list(_shape(state[k]))} (model: {list(_shape(own[k]))})"
            for k in state if k in own and _shape(state[k]) != _shape(own[k])]


def weight_problems(model, state: dict, derived=DERIVED_SUFFIXES) -> tuple[list[str], list[str], list[str]]:
    """(missing, unexpected, mis-shaped) keys of ``state`` against ``model``'s state dict."""
    own = model.state_dict()
    missing = [k for k in own if k not in state and not k.endswith(derived)]
    unexpected = [k for k in state if k not in own]
    return missing, unexpected, mis_shaped(state, own)


def load_weights(model, state, where: str, derived=DERIVED_SUFFIXES):
    """Load ``state`` into ``model`` after checking every key and shape; one LoadError line if
    anything does not fit. Returns the model."""
    if not isinstance(state, dict):
        raise E.LoadError(f"{where}: the weights are a {type(state).__name__}, not a mapping of tensors")
    if any(isinstance(k, str) and k.startswith("_orig_mod.") for k in state):  # saved from a torch.compile'd module
        state = {k.removeprefix("_orig_mod."): v for k, v in state.items()}
    try:
        import torch
        bad_type = next((k for k, v in state.items() if not isinstance(v, torch.Tensor)), None)
    except ImportError:  # pragma: no cover - torch is a dependency of everything that loads weights
        bad_type = None
    if bad_type is not None:
        raise E.LoadError(f"{where}: entry {str(bad_type)[:80]!r} of the weights is not a tensor")
    missing, unexpected, shaped = weight_problems(model, state, derived)
    if missing or unexpected or shaped:
        parts = []
        for label, keys in (("missing", missing), ("unexpected", unexpected), ("mis-shaped", shaped)):
            if keys:
                more = f" and {len(keys) - 2} more" if len(keys) > 2 else ""
                parts.append(f"{len(keys)} {label} ({', '.join(keys[:2])}{more})")
        raise E.LoadError(f"{where}: the weights do not fit the model: {'; '.join(parts)}")
    model.load_state_dict(state, strict=False)  # every key checked above; derived tables stay the model's
    return model
