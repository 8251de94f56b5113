"""Layered layout: every node placed, no overlaps, deterministic, stable for unchanged nodes."""
import pytest

from studio.core.model.graph import Node
from studio.core.model.layout import NODE_H, NODE_W, compute_layout
from studio.core.files.presets import load_preset, preset_ids


def _overlaps(layout):
    items = list(layout.pos.items())
    for i, (a, (ax, ay)) in enumerate(items):
        for b, (bx, by) in items[i + 1:]:
            if abs(ax - bx) < NODE_W and abs(ay - by) < NODE_H:
                return a, b
    return None


@pytest.mark.parametrize("pid", preset_ids())
def test_every_preset_lays_out_without_overlap(pid):
    arch = load_preset(pid)
    lay = compute_layout(arch.graph)
    assert set(lay.pos) == set(arch.graph.nodes)
    assert _overlaps(lay) is None
    assert compute_layout(arch.graph).pos == lay.pos


def test_flow_reads_down_and_regions_left_to_right():
    arch = load_preset("2019-02-gpt-2")
    lay = compute_layout(arch.graph)
    assert lay.pos["attention_norm"][1] < lay.pos["attention"][1] < lay.pos["add_attn"][1]
    assert lay.pos["tok_embeddings"][0] < lay.pos["attention"][0] < lay.pos["output"][0]


def test_unchanged_nodes_keep_their_place_and_user_positions_win():
    arch = load_preset("2023-07-llama-2")
    before = compute_layout(arch.graph)
    arch.graph.add_node(Node("extra", "rmsnorm", "head"))
    arch.graph.connect("norm", "x", "extra", "x")
    after = compute_layout(arch.graph, before)
    for nid in ("tok_embeddings", "attention", "feed_forward", "add_ffn"):
        assert after.pos[nid] == before.pos[nid]
    assert _overlaps(after) is None
    arch.graph.move_node("extra", (-500, 40))
    assert compute_layout(arch.graph, after).pos["extra"] == (-500.0, 40.0)


def test_encoder_decoder_has_both_stacks():
    arch = load_preset("2017-06-transformer")
    lay = compute_layout(arch.graph)
    assert lay.pos["enc_attention"][0] < lay.pos["cross_attention"][0]


@pytest.mark.parametrize("pid", ["2017-06-transformer", "2020-06-gshard"])
def test_decoder_stem_stands_between_encoder_and_decoder(pid):
    """Issue 22 L3: the target tokens' chain is laid out right of the encoder, so its links into
    the decoder do not cross the encoder's frame."""
    arch = load_preset(pid)
    lay = compute_layout(arch.graph)
    g = arch.graph
    enc_right = max(lay.pos[n][0] for n, v in g.nodes.items() if v.region == "encoder") + NODE_W
    dec_left = min(lay.pos[n][0] for n, v in g.nodes.items() if v.region == "layer")
    feeds_decoder = {e.src for e in g.edges if g.node(e.src).region == "stem" and g.node(e.dst).region == "layer"}
    assert feeds_decoder
    for n in feeds_decoder:
        assert enc_right < lay.pos[n][0] < dec_left, (n, lay.pos[n], enc_right, dec_left)


def test_a_long_session_does_not_drift_the_regions_apart():
    """Issue 22 L11: after many steps over the timeline each milestone is laid out as on its own,
    moved as a whole (per-region shifts let the stem drift from the layers: 9,400 px after
    3,000 random steps; the Transformer's inputs were once drawn ≈ 450 px low)."""
    import random

    from studio.core.state.timeline import readable_infos
    ids = [i.id for i in readable_infos()[0]]
    graphs = {p: load_preset(p).graph for p in ids}
    fresh = {p: compute_layout(g) for p, g in graphs.items()}
    rng = random.Random(0)
    prev = None
    for step in range(400):
        pid = rng.choice(ids)
        prev = compute_layout(graphs[pid], prev)
        shifts = {(round(x - fresh[pid].pos[n][0], 3), round(y - fresh[pid].pos[n][1], 3)) for n, (x, y) in prev.pos.items()}
        assert len(shifts) == 1, (step, pid, sorted(shifts)[:4])
