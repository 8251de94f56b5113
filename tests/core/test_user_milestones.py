"""Your own milestones: a YAML or a config.json with its card joins the timeline in date order,
marked as the user's, survives a restart (a new model reads the folder), can be removed, and gets
its change list against the model it builds on; bad files are set aside in one line."""
from pathlib import Path

import pytest
import yaml

from studio.core import errors as E
from studio.core.files import user_milestones as U
from studio.core.files.milestone_card import Card
from studio.core.files.presets import load_preset
from studio.core.files.yamlio import architecture_to_data
from studio.core.state import StudioModel

QWEN3 = Path(__file__).resolve().parents[1] / "data" / "hf_configs" / "Qwen3-4B" / "config.json"
CARD = Card("Qwen3-4B", "2025-04-29", "Alibaba Qwen", "QK-norm in every attention layer",
            "https://huggingface.co/Qwen/Qwen3-4B")
MQA = """schema_version: 1
id: 2024-02-my-mqa-llama
extends: 2023-07-llama-2
meta: {title: My MQA LLaMA, date: "2024-02", org: Me, short: LLaMA 2 with one key/value head}
scales:
  paper: {n_kv_heads: 1}
  classroom: {n_kv_heads: 1}
"""


@pytest.fixture
def folder(tmp_path, monkeypatch):
    d = tmp_path / "milestones"
    monkeypatch.setenv(U.ENV, str(d))
    return d


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def gpt2_copy(**meta) -> str:
    """A whole architecture file (no extends): GPT-2's graph with the given meta."""
    data = architecture_to_data(load_preset("2019-02-gpt-2"))
    data["id"] = meta.pop("id", "my-gpt")
    data["meta"] = meta
    return yaml.safe_dump(data, sort_keys=False)


def test_a_yaml_milestone_joins_the_timeline_in_date_order_and_survives_a_restart(folder, tmp_path):
    m = StudioModel()
    events = []
    m.timeline.entries_changed.connect(lambda: events.append(1))
    m.timeline.set_current("2024-05-deepseek-v2")
    mid = m.timeline.add_user(write(tmp_path / "mqa.yaml", MQA))
    tl = m.timeline
    assert mid == "2024-02-my-mqa-llama" and events == [1]
    assert (folder / f"{mid}.yaml").read_text() == MQA  # the file as written, under its id
    k = tl.milestone_ids.index(mid)
    assert tl.milestone_ids[k - 1:k + 2] == ["2023-12-mixtral", mid, "2024-05-deepseek-v2"]
    assert tl.current_id == "2024-05-deepseek-v2"  # the selection stays on its milestone (one place later)
    assert m.document.milestone_id == "2024-05-deepseek-v2"
    assert tl.is_user(mid) and not tl.is_user("2023-12-mixtral") and tl.info(mid).path == str(folder / f"{mid}.yaml")
    restarted = StudioModel()  # a restart: a new model reads the folder
    assert restarted.timeline.milestone_ids == tl.milestone_ids and restarted.timeline.is_user(mid)
    restarted.timeline.set_current(mid)
    doc = restarted.document
    assert doc.is_milestone and doc.title == "My MQA LLaMA" and doc.architecture.meta["user_milestone"]
    ch = restarted.figures.change()
    assert ch.since == "2023-07-llama-2"  # it extends LLaMA 2, so it builds on it
    assert ch.sentences[0][1] == "Attention: all 64 query heads share one key/value head (MQA)"


def test_a_config_json_with_its_card_is_stored_as_one_file_and_compared_with_its_family(folder):
    m = StudioModel()
    mid = m.timeline.add_user(QWEN3, CARD)
    assert mid == "2025-04-qwen3-4b" and list(folder.iterdir()) == [folder / f"{mid}.yaml"]
    stored = yaml.safe_load((folder / f"{mid}.yaml").read_text())
    assert stored["hf_config"]["model_type"] == "qwen3" and stored["meta"]["link"] == CARD.source
    tl = StudioModel().timeline
    k = tl.milestone_ids.index(mid)
    assert tl.milestone_ids[k - 1:k + 2] == ["2025-01-deepseek-r1", mid, "2025-07-kimi-k2"]
    arch = tl.canonical(mid)
    assert (arch.meta["title"], arch.meta["org"], arch.meta["short"]) == ("Qwen3-4B", "Alibaba Qwen", CARD.innovation)
    m2 = StudioModel(start=mid)
    ch = m2.figures.change()
    assert ch.since == "2023-07-llama-2"  # the config family's milestone (llama-style dense)
    assert any("QK-norm" in s for _, s in ch.sentences)


@pytest.mark.parametrize("card, says", [
    (Card("Qwen3-4B", "2025-13", "Qwen", "QK-norm", "https://qwenlm.github.io"), "date '2025-13' is not a day"),
    (Card("Qwen3-4B", "April 2025", "Qwen", "QK-norm", "https://qwenlm.github.io"), "is not YYYY-MM or YYYY-MM-DD"),
    (Card("Qwen3-4B", "2025-04", "Qwen", "", "https://qwenlm.github.io"), "a one-line innovation is needed"),
    (Card("Qwen3-4B", "2025-04", "Qwen", "QK-norm", "qwenlm.github.io"), "is not a web link"),
    (Card("", "2025-04", "Qwen", "QK-norm", "https://qwenlm.github.io"), "a title is needed"),
    (Card("Qwen3-4B", "2025-04", "Qwen", "two\nlines", "https://qwenlm.github.io"), "innovation must be one line"),
])
def test_a_bad_card_is_one_line_and_nothing_is_written(folder, card, says):
    m = StudioModel()
    before = list(m.timeline.ids)
    with pytest.raises(E.StudioError, match=says) as err:
        m.timeline.add_user(QWEN3, card)
    assert "\n" not in str(err.value) and m.timeline.ids == before
    assert not folder.exists() or not list(folder.iterdir())


def test_bad_files_in_the_folder_are_set_aside_and_the_timeline_loads_without_them(folder):
    write(folder / "broken.yaml", "meta: {title: [\n")
    write(folder / "no-date.yaml", gpt2_copy(title="No date"))
    write(folder / "taken.yaml", gpt2_copy(id="2019-02-gpt-2", title="GPT-2 again", date="2019-03"))
    write(folder / "orphan.yaml", gpt2_copy(id="orphan", title="Orphan", date="2020-01", builds_on="no-such-model"))
    write(folder / "config.json", QWEN3.read_text())
    write(folder / "good.yaml", gpt2_copy(id="good", title="Good", date="2019-05"))
    tl = StudioModel().timeline
    assert [i for i in tl.ids if tl.is_user(i)] == ["good"]
    why = {s.name: s.reason for s in tl.set_aside}
    assert set(why) == {"broken.yaml", "no-date.yaml", "taken.yaml", "orphan.yaml", "config.json"}
    assert why["no-date.yaml"] == "meta.date is needed (YYYY-MM or YYYY-MM-DD: where it goes on the timeline)"
    assert "is a published milestone's" in why["taken.yaml"] and "'no-such-model'" in why["orphan.yaml"]
    assert why["config.json"].startswith("a config.json needs a card")
    assert all("\n" not in s.line() and s.line().endswith("(moved to rejected/)") for s in tl.set_aside)
    assert sorted(p.name for p in (folder / "rejected").iterdir()) == sorted(why)
    assert sorted(p.name for p in folder.iterdir()) == ["good.yaml", "rejected"]
    assert StudioModel().timeline.set_aside == []  # set aside once, not again at every start


def test_a_milestone_naming_no_lineage_builds_on_the_nearest_earlier_one(folder):
    write(folder / "a.yaml", gpt2_copy(id="a", title="A", date="2019-05"))
    write(folder / "b.yaml", gpt2_copy(id="b", title="B", date="2019-10-20", builds_on="2018-06-gpt-1"))
    write(folder / "c.yaml", gpt2_copy(id="c", title="C", date="2019-10-02"))
    tl = StudioModel().timeline
    ids = tl.milestone_ids
    # a day in October sorts after the published October milestone (a month alone), the days in order
    assert ids[ids.index("2019-02-gpt-2"):ids.index("2020-02-swiglu")] == \
        ["2019-02-gpt-2", "a", "2019-10-rmsnorm", "c", "b"]
    assert tl.canonical("a").meta["builds_on"] == "2019-02-gpt-2" and tl.canonical("a").meta["builds_on_rule"]
    assert tl.canonical("c").meta["builds_on"] == "2019-10-rmsnorm"
    assert tl.canonical("b").meta["builds_on"] == "2018-06-gpt-1" and "builds_on_rule" not in tl.canonical("b").meta
    m = StudioModel(start="c")
    assert m.figures.change().since == "2019-10-rmsnorm"
    assert any("RMSNorm" in s for _, s in m.figures.change().sentences)  # GPT-2's LayerNorm against RMSNorm's


def test_removing_takes_it_off_the_timeline_and_out_of_the_folder(folder, tmp_path):
    m = StudioModel()
    mid = m.timeline.add_user(write(tmp_path / "mqa.yaml", MQA))
    m.show_milestone(mid)
    assert m.document.milestone_id == mid
    with pytest.raises(E.StudioError, match="only milestones you added can be removed"):
        m.timeline.remove_user("2023-07-llama-2")
    m.timeline.remove_user(mid)
    assert mid not in m.timeline.ids and not (folder / f"{mid}.yaml").exists()
    assert m.document.milestone_id == "2023-12-mixtral"  # the one before it is on screen instead
    assert mid not in StudioModel().timeline.ids
    with pytest.raises(E.StudioError, match="is not one of your milestones"):
        m.timeline.remove_user(mid)


def test_adding_refuses_a_taken_id_and_a_lineage_outside_the_timeline(folder, tmp_path):
    m = StudioModel()
    m.timeline.add_user(write(tmp_path / "mqa.yaml", MQA))
    with pytest.raises(E.StudioError, match="is already on the timeline"):
        m.timeline.add_user(write(tmp_path / "again.yaml", MQA))
    with pytest.raises(E.StudioError, match="'nowhere', which is not on the timeline"):
        m.timeline.add_user(write(tmp_path / "x.yaml", gpt2_copy(id="x", title="X", date="2020-01", builds_on="nowhere")))
    with pytest.raises(E.StudioError, match="card .* is for a config.json"):
        m.timeline.add_user(write(tmp_path / "y.yaml", gpt2_copy(id="y", title="Y", date="2020-01")), CARD)
    with pytest.raises(E.StudioError, match="config.json needs a card"):
        m.timeline.add_user(QWEN3)
    assert sorted(p.name for p in folder.iterdir()) == ["2024-02-my-mqa-llama.yaml"]


def test_the_cli_loader_and_the_lineage_read_the_users_milestones(folder, tmp_path):
    from studio.core.files.model_spec import load_model
    from studio.core.model.lineage import change_since
    StudioModel().timeline.add_user(write(tmp_path / "mqa.yaml", MQA))
    write(folder / "next.yaml", gpt2_copy(id="next", title="Next", date="2024-03", builds_on="2024-02-my-mqa-llama"))
    arch = load_model("next")
    assert arch.meta["title"] == "Next" and arch.meta["user_milestone"].endswith("next.yaml")
    ch = change_since(arch, scale="paper")  # it builds on a user's milestone, which the loader finds
    assert ch.since == "2024-02-my-mqa-llama" and ch.items


def test_a_folder_that_cannot_be_written_is_one_line(tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the folder should be")
    monkeypatch.setenv(U.ENV, str(blocker / "milestones"))
    m = StudioModel()
    with pytest.raises(E.StudioError, match="cannot write your milestone there") as err:
        m.timeline.add_user(write(tmp_path / "mqa.yaml", MQA))
    assert "\n" not in str(err.value) and "2024-02-my-mqa-llama" not in m.timeline.ids


def test_a_config_json_with_a_damaged_architectures_list_still_comes_in(folder, tmp_path):
    import json

    from studio.core.files.model_spec import load_model
    cfg = json.loads(QWEN3.read_text())
    cfg["architectures"] = 5  # informative only (it was an internal error: 'int' object is not subscriptable)
    p = write(tmp_path / "Qwen3-4B" / "config.json", json.dumps(cfg))
    assert "(model_type qwen3, qwen3)" in load_model(str(p)).meta["config_source"]
    assert StudioModel().timeline.add_user(p, CARD) == "2025-04-qwen3-4b"
