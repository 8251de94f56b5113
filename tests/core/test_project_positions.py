"""studio.core.files.project.placed: every block's place written into a copy (issue 22 M4)."""
from studio.core.files.presets import load_preset
from studio.core.files.project import Project, loads_project, placed


def test_placed_fills_positions_keeps_hand_placed_ones_and_round_trips():
    arch = load_preset("2023-07-llama-2")
    first, second = sorted(arch.graph.nodes)[:2]
    arch.graph.node(first).pos = (5.0, 6.0)
    shown = {nid: (100.0 + i * 10, 200.04) for i, nid in enumerate(sorted(arch.graph.nodes))}
    out = placed(arch, shown)
    assert out is not arch and arch.graph.node(second).pos is None  # the document itself is untouched
    assert out.graph.node(first).pos == (5.0, 6.0)
    assert out.graph.node(second).pos == (110.0, 200.0)
    back = loads_project(Project(out, name="x").dumps())
    assert {n: v.pos for n, v in back.architecture.graph.nodes.items()} == {n: v.pos for n, v in out.graph.nodes.items()}
