"""The compiled LLaMA-2 graph computes the same function as a hand-written LLaMA."""
import torch

from reference_llama import ReferenceLlama
from studio.core.model.compiler import compile_architecture
from studio.core.files.presets import load_preset


def test_compiled_llama2_equals_reference():
    arch = load_preset("2023-07-llama-2")
    d = arch.dims("classroom")
    model = compile_architecture(arch, "classroom").eval()
    ref = ReferenceLlama(d["vocab_size"], d["dim"], d["n_layers"], d["n_heads"], d["n_kv_heads"],
                         d["hidden_dim"], d["context"]).eval()
    sd = model.state_dict()
    ref_sd = ref.state_dict()
    assert set(ref_sd) == set(sd), set(ref_sd) ^ set(sd)  # llama2.c names on both sides
    ref.load_state_dict(sd)
    x = torch.randint(0, d["vocab_size"], (2, 40))
    with torch.no_grad():
        a, la = model(x, x)
        b, lb = ref(x, x)
    torch.testing.assert_close(a, b, atol=2e-5, rtol=1e-4)
    torch.testing.assert_close(la, lb)


def test_generate_greedy_is_deterministic_and_respects_context():
    arch = load_preset("2023-07-llama-2")
    model = compile_architecture(arch, "classroom").eval()
    x = torch.randint(0, 100, (1, 5))
    a = model.generate(x, 10, temperature=0)
    b = model.generate(x, 10, temperature=0)
    assert torch.equal(a, b) and a.shape == (1, 15)
    g = torch.Generator().manual_seed(1)
    c = model.generate(x, 8, temperature=1.0, top_k=20, top_p=0.9, generator=g)
    assert c.shape == (1, 13)
    long = model.generate(torch.zeros(1, 250, dtype=torch.long), 10, temperature=0)  # crops to context 256
    assert long.shape == (1, 260)
