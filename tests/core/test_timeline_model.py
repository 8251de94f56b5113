"""TimelineModel: moving, caching, custom (edited) models kept across scrubbing."""
from studio.core.graph import Node
from studio.core.timeline_model import TimelineModel


def test_moves_and_emits():
    tm = TimelineModel()
    seen = []
    tm.architecture_changed.connect(lambda a: seen.append(a.id))
    tm.last()
    tm.step(-1)
    tm.first()
    ids = tm.ids
    assert seen == [ids[-1], ids[-2], ids[0]]
    tm.step(-1)  # clamps at the start, no event
    assert len(seen) == 3 and tm.index == 0


def test_view_gets_a_copy_of_the_cached_preset():
    tm = TimelineModel()
    a = tm.arch
    assert a is not tm.canonical(tm.current_id)
    assert a.graph == tm.canonical(tm.current_id).graph


def test_edits_survive_scrubbing_and_reset_restores():
    tm = TimelineModel(start="2023-07-llama-2")
    tm.arch.graph.set_config("attention", "n_kv_heads", 4)
    tm.mark_edited()
    assert tm.is_edited() and tm.title().endswith("(edited)")
    edited = tm.arch
    tm.step(-1)
    assert tm.arch is not edited and not tm.is_edited()
    tm.step(1)
    assert tm.arch is edited and tm.arch.graph.node("attention").config["n_kv_heads"] == 4
    tm.reset_to_milestone()
    assert not tm.is_edited() and "n_kv_heads" not in tm.arch.graph.node("attention").config
    assert tm.arch.graph == tm.canonical("2023-07-llama-2").graph


def test_series_covers_every_entry_and_follows_edits():
    tm = TimelineModel(start="2023-07-llama-2")
    s = tm.series()
    assert [p.id for p in s] == tm.ids
    before = s[tm.index].params_total
    assert before and before > 1e9
    tm.arch.graph.add_node(Node("extra_norm", "rmsnorm", "head"))
    tm.mark_edited()
    after = tm.series()[tm.index].params_total
    assert after == before + tm.arch.dims("paper")["dim"]


def test_play_stops_at_last_milestone():
    tm = TimelineModel()
    tm.set_playing(True)
    steps = 0
    while tm.advance_play():
        steps += 1
    assert not tm.playing and steps == len(tm.milestone_ids) - 1


def test_a_model_from_a_file_is_not_a_milestone():
    tm = TimelineModel(start="2019-02-gpt-2")
    arch = tm.canonical("2023-07-llama-2").copy()
    arch.meta["title"] = "My model"
    tm.set_custom(None, arch)
    assert tm.current_id is None and tm.arch is arch and tm.title() == "My model"
    assert tm.accounting("paper").params_total == tm.accounting("paper", "2023-07-llama-2").params_total
    tm.step(1)  # the slider takes over again
    assert tm.current_id == tm.ids[tm.ids.index("2019-02-gpt-2") + 1]
