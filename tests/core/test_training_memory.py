"""The accounting's training-memory estimate is within 30 % of a measured real step."""
import pytest

from studio.core.model.accounting import training_memory
from studio.core.model.compiler import compile_architecture
from studio.core.training.memory_probe import measure_training_step
from studio.core.files.presets import load_preset, preset_ids

# Encoder-decoder, dense decoder and MoE: the three shapes the estimate has to get right; and
# DeepSeek-V4, whose compressed attention keeps eager attention weights and whose mHC keeps 4 streams.
CANDIDATES = ["2017-06-transformer", "2023-07-llama-2", "2023-12-mixtral", "2026-04-deepseek-v4"]


@pytest.mark.parametrize("pid", [p for p in CANDIDATES if p in preset_ids()])
def test_training_memory_estimate_within_30_percent(pid):
    arch = load_preset(pid)
    dims = arch.dims("classroom")
    B, T = 4, min(128, dims["context"])
    measured = measure_training_step(compile_architecture(arch), B, T, dims["vocab_size"])
    est = training_memory(arch, "classroom", B, T)
    assert est["total"] == pytest.approx(measured, rel=0.30), (est, measured)
    assert est["weights"] < measured  # the weights alone are part of it


def test_probe_sees_activations_grow_with_batch():
    arch = load_preset("2023-07-llama-2")
    v = arch.dims("classroom")["vocab_size"]
    small = measure_training_step(compile_architecture(arch), 1, 32, v)
    large = measure_training_step(compile_architecture(arch), 8, 64, v)
    assert large > small * 1.5
