"""Issue 22 L2: a block's settings line too wide for it folds at its " · " separators instead of
ending in "…" (every RoPE block read "theta 10000 · head dim …", on screen and in the exported
handout, which paints the same items), and a parameter badge no longer shrinks the title it sits
above ("Token embedding" was drawn smaller than its neighbours)."""
from studio.core.state.timeline import readable_infos

IDS = [i.id for i in readable_infos()[0]]


def _runs(item, role):
    return [(font, text) for r, font, _rect, text, _flags, _pill in item.runs() if r == role]


def test_no_settings_line_is_cut_on_any_milestone(window):
    scene = window.graph_view.graph_scene
    cut = []
    for pid in IDS:
        window.model.timeline.set_current(pid)
        scene._end_animation()
        for nid, item in scene.nodes.items():
            cut += [f"{pid}: {nid}: {text}" for _f, text in _runs(item, "line") if text.endswith("…")]
    assert not cut, "\n".join(cut[:20])
    window.model.timeline.set_current("2023-07-llama-2")
    scene._end_animation()
    rope = [text for _f, text in _runs(scene.nodes["rope"], "line")]
    assert rope[:2] == ["theta 10000", "head dim 128"], rope


def test_a_badge_does_not_shrink_the_title(window):
    scene = window.graph_view.graph_scene
    window.model.timeline.set_current("2023-07-llama-2")
    scene._end_animation()
    emb = scene.nodes["tok_embeddings"]
    assert emb.badge  # the block with a parameter badge
    plain = [it for it in scene.nodes.values() if not it.badge and it.title]
    size = {round(_runs(it, "title")[0][0].pointSizeF(), 2) for it in plain}
    assert _runs(emb, "title")[0][0].pointSizeF() == max(size)
