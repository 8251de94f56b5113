"""StudioModel: the Timeline moves, the Document follows; edits fork a milestone into a
document of its own; Figures follow the Document's version (Qt-free)."""
from pathlib import Path

from studio.core.model.graph import Node
from studio.core.state import StudioModel

LLAMA = "2023-07-llama-2"


def test_scrubbing_moves_the_document_and_clamps():
    m = StudioModel()
    seen = []
    m.document.replaced.connect(lambda: seen.append(m.document.key))
    m.timeline.last()
    m.timeline.step(-1)
    m.timeline.first()
    ids = m.timeline.milestone_ids  # End: the latest milestone, the recipes come after it
    assert seen == [f"milestone:{ids[-1]}", f"milestone:{ids[-2]}", f"milestone:{ids[0]}"]
    m.timeline.step(-1)  # clamps at the start, no event
    assert len(seen) == 3 and m.timeline.index == 0
    assert m.document.kind == "milestone" and m.document.title == m.timeline.infos[0].title


def test_the_document_gets_a_copy_of_the_cached_preset():
    m = StudioModel(start=LLAMA)
    assert m.document.architecture is not m.timeline.canonical(LLAMA)
    assert m.document.architecture.graph == m.timeline.canonical(LLAMA).graph


def test_an_edit_forks_the_milestone_and_the_original_stays_published():
    m = StudioModel(start=LLAMA)
    versions = []
    m.document.changed.connect(versions.append)
    before = m.document.version
    m.document.set_config("attention", "n_kv_heads", 4)
    assert len(versions) == 1 and versions[0] > before
    assert m.document.kind == "edited" and m.document.key == f"edited:{LLAMA}"
    assert m.document.title == "LLaMA 2 (edited)" and m.document.origin == LLAMA
    assert m.timeline.index is None  # the timeline shows published milestones only
    edited = m.document.entry
    m.show_milestone(LLAMA)  # clicking LLaMA 2 again: the original
    assert m.document.kind == "milestone" and m.timeline.current_id == LLAMA
    assert "n_kv_heads" not in m.document.architecture.graph.node("attention").config
    assert [e.key for e in m.document.edited_copies(LLAMA)] == [edited.key]
    m.reopen(edited.key)  # the edited copy is still there, edits intact
    assert m.document.entry is edited and m.document.version == versions[0]
    assert m.document.architecture.graph.node("attention").config["n_kv_heads"] == 4
    m.timeline.last()
    m.reopen(edited.key)  # from the far end of the timeline
    m.timeline.step(1)  # stepping from an edited copy moves on from its milestone
    assert m.timeline.current_id == m.timeline.ids[m.timeline.ids.index(LLAMA) + 1]


def test_a_second_edited_copy_gets_its_own_name():
    m = StudioModel(start=LLAMA)
    m.document.set_dim("paper", "dim", 1024)
    m.show_milestone(LLAMA)
    m.document.set_dim("paper", "dim", 2048)
    assert m.document.title == "LLaMA 2 (edited 2)"
    assert len(m.document.edited_copies(LLAMA)) == 2


def test_figures_follow_the_documents_version():
    m = StudioModel(start=LLAMA)
    before = m.figures.accounting("paper").params_total
    assert before > 1e9
    m.document.add_node(Node("extra_norm", "rmsnorm", "head"))
    after = m.figures.accounting("paper").params_total
    assert after == before + m.document.architecture.dims("paper")["dim"]
    removed = m.document.remove_node("extra_norm")
    assert m.figures.accounting("paper").params_total == before
    m.document.restore_node(removed)
    assert m.figures.accounting("paper").params_total == after
    # the timeline chart shows the published figures, never the edited copy's
    assert m.figures.series()[m.timeline.ids.index(LLAMA)].params_total == before


def test_figures_keep_only_what_can_be_shown_again():
    """An edited document's older versions and a closed document's figures are dropped: kept,
    each loop of a class's edits added one accounting (44 block costs) that lived until 512."""
    m = StudioModel(start=LLAMA)
    m.figures.accounting("paper")
    for kv in (1, 2, 4, 8):
        m.document.set_config("attention", "n_kv_heads", kv)
        m.figures.accounting("paper")
        m.figures.accounting("classroom")
    edited = m.document.key
    assert sorted(k[2] for k in m.figures._acc if k[0] == edited) == ["classroom", "paper"]
    m.show_milestone(LLAMA)
    m.document.close_all_listed()  # File → New project
    assert not [k for k in m.figures._acc if k[0] == edited]
    assert any(k[0].startswith("milestone:") for k in m.figures._acc)  # scrubbing stays fast


def test_an_imported_run_selects_no_milestone():
    m = StudioModel(start=LLAMA)
    arch = m.timeline.canonical("recipe-llama2c-stories260k").copy()
    m.open_architecture(arch, "imported", "stories260K", run_dir="/tmp/run-260k")
    assert m.timeline.index is None and m.document.kind == "imported"
    assert m.document.run_dir == Path("/tmp/run-260k") and m.run.run_dir == Path("/tmp/run-260k")
    assert m.figures.accounting("classroom").params_total == \
        m.figures.milestone_accounting("recipe-llama2c-stories260k", "classroom").params_total


def test_milestone_change_is_against_the_model_it_builds_on():
    m = StudioModel(start="2025-07-kimi-k2")
    assert m.figures.change().since == "2024-12-deepseek-v3"  # its lineage, not R1 (the previous tick)
    m.timeline.first()
    assert m.figures.change().empty  # the 2017 Transformer has no predecessor


def test_play_stops_at_last_milestone():
    m = StudioModel()
    m.timeline.set_playing(True)
    steps = 0
    while m.timeline.advance_play():
        steps += 1
    assert not m.timeline.playing and steps == len(m.timeline.milestone_ids) - 1


def test_a_broken_preset_leaves_the_slider_where_it_was(monkeypatch):
    from studio.core import errors as E
    m = StudioModel(start=LLAMA)
    failed = []
    m.timeline.load_failed.connect(lambda pid, msg: failed.append(pid))
    target = m.timeline.ids[0]
    m.timeline._canon.pop(target, None)
    monkeypatch.setattr("studio.core.files.presets.load_preset", lambda pid: (_ for _ in ()).throw(E.LoadError("bad")))
    m.timeline.first()
    assert failed == [target] and m.timeline.current_id == LLAMA and m.document.milestone_id == LLAMA


def test_every_edit_bumps_the_version_and_undoes_through_the_document():
    import copy

    from studio.core import errors as E
    from studio.core.model.architecture import Override
    m = StudioModel(start=LLAMA)
    d = m.document
    arch = d.architecture
    versions = []
    d.changed.connect(versions.append)
    before = (arch.graph.copy(), copy.deepcopy(arch.scales), copy.deepcopy(arch.overrides), dict(arch.regions))
    old_dim = d.set_dim("classroom", "dim", 96)
    old_ov = d.set_overrides([Override("0:1", "feed_forward", None, {"hidden_dim": 64})])
    old_region = d.set_region("layer", "n_layers")
    d.move_node("rope", (10.0, 20.0))
    old_meta = d.set_meta("title", "Mine")
    assert len(versions) == 5 and versions == sorted(set(versions)) and arch.scales["classroom"]["dim"] == 96
    with __import__("pytest").raises(E.ConfigError):
        d.set_dim("classroom", "dim", "wide")  # refused before anything changes
    assert d.version == versions[-1]
    d.set_meta("title", old_meta)
    d.move_node("rope", None)
    d.set_region("layer", old_region)
    d.set_overrides(old_ov)
    d.set_dim("classroom", "dim", old_dim)
    assert (arch.graph, arch.scales, arch.overrides, arch.regions) == before
    assert arch.graph.node("rope").pos is None


def test_one_change_counter_the_documents_version_is_its_architectures_revision():
    """Issue 26: one version counter. A change made straight on the architecture (not through
    the Document) is seen by the Document's version, and resolve() keys on the same number."""
    m = StudioModel(start=LLAMA)
    d = m.document
    d.set_config("attention", "n_kv_heads", 4)
    assert d.version == d.architecture.revision
    v = d.version
    d.architecture.scales["classroom"]["dim"] = 96  # straight on the data
    assert d.version > v and d.version == d.architecture.revision
    from studio.core.state.document import Entry
    assert "version" not in Entry.__dataclass_fields__


def test_view_settings_carry_the_theme_and_say_when_it_changes():
    from studio.core import errors as E
    m = StudioModel(start=LLAMA)
    seen = []
    m.view.theme_changed.connect(seen.append)
    m.view.theme = "dark"
    m.view.theme = "dark"  # no change, no event
    assert m.view.theme == "dark" and seen == ["dark"]
    with __import__("pytest").raises(E.StudioError):
        m.view.theme = "neon"
