"""Every figure the app shows carries a provenance, and a source where a source states it.

Walks, for every preset and both scales, what the info panel, the accounting panel, the graph's
block badges and layer frames, and ``archstudio info`` (text and --json) show; all of them read
studio.core.model.provenance, so a figure cannot appear without its provenance.
"""
import json
import re

import pytest

from blocks.registry import get_spec
from studio.cli import main as cli_main
from studio.core.model import provenance as P
from studio.core.model.info import FIGURES, model_info
from studio.core.files.presets import load_preset, preset_ids
from studio.core.model.resolve import resolve

PIDS = preset_ids()
SCALES = ("paper", "classroom")
STAND_INS = ("2022-11-chatgpt", "2024-09-o1")


def _check(fig, where):
    assert fig.provenance in P.PROVENANCES, (where, fig.provenance)
    if fig.provenance in P.SOURCED:
        assert fig.source.strip(), f"{where}: a {fig.provenance} figure names no source"
    if fig.value is None:  # nothing is shown, so the reason must be
        assert fig.provenance in ("undisclosed", "n/a"), (where, fig.provenance)


@pytest.mark.parametrize("pid", PIDS)
def test_every_accounting_figure_has_a_provenance_and_sourced_ones_a_source(pid):
    arch = load_preset(pid)
    for scale in SCALES:
        figs = P.figures(arch, scale)
        assert set(FIGURES) | {"context"} <= set(figs), pid
        for key, fig in figs.items():
            _check(fig, f"{pid} {scale} {key}")
            assert (fig.source or fig.note).strip(), f"{pid} {scale} {key}: neither a source nor a note says why"
        if scale == "classroom":  # the classroom model is real: computed exactly, its context chosen
            assert figs["context"].provenance == "chosen"
            assert {f.provenance for k, f in figs.items() if k != "context"} == {"computed"}
        # the info panel / CLI read the same words
        info = model_info(arch, scale)
        assert info["provenance"] == {k: f.provenance for k, f in figs.items()}
        assert info["figures"] == {k: f.as_dict() for k, f in figs.items()}


@pytest.mark.parametrize("pid", PIDS)
def test_published_figures_badges_and_frames_carry_provenance(pid):
    arch = load_preset(pid)
    for key, fig in P.published_figures(arch).items():
        _check(fig, f"{pid} published {key}")
        assert fig.provenance in ("published", "reported", "n/a", "undisclosed") and fig.source.strip()
    for scale in SCALES:
        for nid, fig in P.node_figures(arch, scale).items():
            _check(fig, f"{pid} {scale} badge {nid}")
            cfg, kind = resolve(arch, scale).config_of(nid)
            per = get_spec(kind).params(cfg)
            text, tip = P.block_badge(arch, scale, nid, per)
            if P.hides_figures(arch, scale):
                assert fig.value is None and text == "" and tip == ""
            else:
                assert fig.value == per
                if per:  # a badge is drawn: its tooltip says where the number comes from
                    assert text and P.glyph_word(fig.provenance) in tip, (pid, scale, nid, tip)
        for region, fig in P.frame_figures(arch, scale).items():
            _check(fig, f"{pid} {scale} frame {region}")
            label = P.frame_label(arch, scale, region, fig.value)
            assert ("illustrative" in label) == P.hides_figures(arch, scale)


@pytest.mark.parametrize("pid", PIDS)
def test_cli_info_prints_every_figure_with_its_provenance(pid, capsys):
    for scale in SCALES:
        assert cli_main(["info", pid, "--scale", scale, "--json"]) == 0
        d = json.loads(capsys.readouterr().out)
        for key, fig in list(d["figures"].items()) + list(d["published_figures"].items()):
            assert fig["provenance"] in P.PROVENANCES, (pid, key)
            if fig["provenance"] in P.SOURCED:
                assert fig["source"], (pid, scale, key)
        assert cli_main(["info", pid, "--scale", scale]) == 0
        out = capsys.readouterr().out
        rows = [ln for ln in out.splitlines() if re.match(r"  (parameters|embedding|MTP|KV|cross|forward|context)", ln)]
        assert len(rows) >= len(FIGURES) + 1, out
        for ln in rows:  # "(exact; provenance[ — source])"
            m = re.search(r"\((?:[\d,]+|—); ([a-z/-]+)(?: — (.+))?\)$", ln)
            assert m and m.group(1) in P.PROVENANCES, ln
            assert m.group(1) not in P.SOURCED or m.group(2), ln
        for ln in (x for x in out.splitlines() if x.startswith("  published ")):
            assert " — " in ln and any(w in ln for w in ("published", "reported", "n/a", "undisclosed")), ln


@pytest.mark.parametrize("pid", PIDS)
def test_preset_records_its_sources_assumptions_and_citations(pid):
    m = load_preset(pid).meta
    assert m.get("config_source"), f"{pid}: no config_source for its paper-scale configuration"
    for name, e in (m.get("dims_provenance") or {}).items():
        e = {"provenance": e} if isinstance(e, str) else e
        assert e.get("provenance", "illustrative") in P.PROVENANCES, (pid, name)
        assert set(e.get("affects", [])) <= set(P.COMPUTED_FIGURES), (pid, name)
        assert e.get("note") or e.get("source"), f"{pid}: {name} is {e.get('provenance')} without a note"
    for key in ("assumptions", "illustrative", "classroom_limits"):
        assert all(isinstance(x, str) and x.strip() for x in m.get(key) or []), (pid, key)
    for c in m.get("citations") or []:
        assert c["title"] and c["link"].startswith("https://"), (pid, c)
        assert not c["link"].startswith("https://arxiv.org/") or re.fullmatch(r"https://arxiv\.org/abs/\d{4}\.\d{4,5}", c["link"]), c
    if not pid.startswith("recipe-"):
        assert m.get("citations"), f"{pid}: a milestone should cite what it built on"


def test_the_card_lists_inferred_fields_and_classroom_limits_where_the_issue_names_them():
    card = {pid: P.card(load_preset(pid)) for pid in ("2017-06-transformer", "2020-06-gshard", "2023-03-gpt-4",
                                                       "2024-07-llama-3.1", "2026-04-kimi-k2.6")}
    assert any("Context 512" in x for x in card["2017-06-transformer"]["illustrative"])
    assert any("norm" in x.lower() for x in card["2020-06-gshard"]["assumptions"])
    assert len(card["2023-03-gpt-4"]["assumptions"]) >= 3
    assert any("128,256" in x for x in card["2024-07-llama-3.1"]["classroom_limits"])
    assert any("vision encoder" in x.lower() for x in card["2026-04-kimi-k2.6"]["classroom_limits"])
    assert all(card[p]["illustrative_graph"] is False for p in card)
    assert all(P.card(load_preset(p))["illustrative_graph"] for p in STAND_INS)


def test_info_json_gives_each_dim_with_its_provenance_for_scripted_checks(capsys):
    assert cli_main(["info", "2023-03-gpt-4", "--scale", "paper", "--json"]) == 0
    dims = json.loads(capsys.readouterr().out)["dims"]
    assert dims["n_layers"] == {"value": 120, "provenance": "reported", "source": dims["n_layers"]["source"], "note": ""}
    assert dims["n_layers"]["source"].startswith("SemiAnalysis")
    assert dims["dim"]["provenance"] == "illustrative" and dims["dim"]["note"]
    assert model_info(load_preset("2024-09-o1"), "paper")["dims"] == {}  # a stand-in states nothing
    cls = model_info(load_preset("2023-07-llama-2"), "classroom")["dims"]
    assert {d["provenance"] for d in cls.values()} == {"chosen"}
