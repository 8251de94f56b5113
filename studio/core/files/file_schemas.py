"""Schemas of every YAML/JSON file kind the app reads (architecture, preset, timeline, project,
recovery, run.yaml, metrics.jsonl records), checked right after parsing; see studio.core.files.schema."""
from __future__ import annotations

import math
import re

from studio.core import errors as E
from studio.core.model.bounds import config_value_problem, scale_problems
from studio.core.files.schema import (Any_, Bool, Float, Int, List, Map, OneOf, Opt, SchemaError, Spec, Str, short,
                                validate_data)

NAME = Str(200)
TEXT = Str(20_000, coerce_scalar=True)  # titles, dates (YAML reads 2023-07 as text, 2023 as a number)
SCALAR = OneOf(Bool(), Int(-(1 << 62), 1 << 62), Float(), Str(2000), what="a number, text or true/false")
CONFIG_VALUE = OneOf(SCALAR, List(SCALAR, max_len=4096), what="a number, text, true/false or a list of them")


class Pattern(Spec):
    def __init__(self, regex: str, what: str, max_len: int = 400):
        self.rx, self.what, self.max_len = re.compile(regex), what, max_len

    def check(self, v, path):
        if not isinstance(v, str):
            self.fail(path, f"must be {self.what}, got {short(v)}")
        if len(v) > self.max_len or not self.rx.fullmatch(v):
            self.fail(path, f"{short(v)} is not {self.what}")
        return v


class NodeConfig(Spec):
    """A node's settings: names → scalar literals or ``$dim`` references, literals bounded."""
    def check(self, v, path):
        v = Map(values=CONFIG_VALUE, max_len=200).check(v, path)
        for k, x in v.items():
            msg = config_value_problem(k, x)
            if msg:
                self.fail(f"{path}.{k}", msg)
        return v


EDGE = OneOf(Pattern(r"[^\n]{1,200}->[^\n]{1,200}", "an edge like 'src.port -> dst.port'"),
             Map({"from": Str(200), "to": Str(200)}, required=("from", "to")),
             what="an edge like 'src.port -> dst.port' or {from: a.port, to: b.port}")
POS = List(Float(-1e7, 1e7), max_len=2, min_len=2)
NODE = Map({"kind": Str(100), "region": Str(100), "config": Opt(NodeConfig()), "pos": Opt(POS)}, required=("kind",))
NODE_PATCH = Map({"kind": Str(100), "region": Str(100), "config": Opt(NodeConfig()), "pos": Opt(POS)})
class DimValue(Spec):
    """A scale's dim: a number (finite), or text/true-false for the few non-numeric settings;
    the named dims' ranges are checked by studio.core.model.bounds."""
    def check(self, v, path):
        if isinstance(v, float) and not math.isfinite(v):
            self.fail(path, f"{path.rsplit('.', 1)[-1]} is {v}; it must be a finite number")
        if isinstance(v, (bool, int, float)):
            return v
        if isinstance(v, str):
            return Str(200).check(v, path)
        self.fail(path, f"must be a number, got {short(v)}")


DIM_VALUE = DimValue()
DIMS = Map(values=DIM_VALUE, max_len=200)
class LayerSlice(Pattern):
    """'0:3', '1::2', ':$first_k_dense'; a literal step of 0 is refused here (slice() cannot take it)."""
    def check(self, v, path):
        v = super().check(v, path)
        parts = v.split(":")
        if len(parts) == 3 and parts[2].strip().lstrip("-").isdigit() and int(parts[2]) == 0:
            self.fail(path, f"{short(v)}: a slice's step cannot be 0")
        return v


class Layers(Spec):
    """A layer index, a list of indices or a slice; each kind's own error is the one shown."""
    SLICE = LayerSlice(r"\s*(-?\d+|\$\w+)?\s*(:\s*(-?\d+|\$\w+)?\s*){0,2}",
                       "a layer slice like '0:3', '1::2' or ':$first_k_dense'")

    def check(self, v, path):
        if isinstance(v, str):
            return self.SLICE.check(v, path)
        if isinstance(v, list):
            return List(Int(-4096, 4096), max_len=4096).check(v, path)
        if isinstance(v, int) and not isinstance(v, bool):
            return Int(-4096, 4096).check(v, path)
        self.fail(path, f"must be a layer index, a list of indices or a slice like '0:3', got {short(v)}")


LAYERS = Layers()
OVERRIDE = Map({"layers": LAYERS, "node": NAME, "kind": Opt(Str(100)), "config": Opt(NodeConfig())},
               required=("layers", "node"))
GRAPH_OPS = Map({
    "remove": Opt(List(NAME, 1000)), "disconnect": Opt(List(EDGE, 10_000)), "connect": Opt(List(EDGE, 10_000)),
    "replace": Opt(Map(values=NODE_PATCH, max_len=1000)), "add": Opt(Map(values=NODE, max_len=1000)),
    "set": Opt(Map(values=Opt(Map(values=OneOf(CONFIG_VALUE, Opt(SCALAR)), max_len=200)), max_len=1000)),
})
META = Map({
    "title": TEXT, "date": TEXT, "org": TEXT, "short": TEXT, "id": TEXT, "disclosure": Str(40),
    "published": Opt(Map(values=Opt(OneOf(Float(), Str(2000), what="a number or text")))),
    "provenance": Opt(Map(values=Str(100))),
    "classroom_tokenizer": Opt(Map({"kind": Str(40), "vocab_size": Opt(Int(1, 1 << 18))})),
    # what the milestone card and provenance badges read (studio.core.model.provenance, compute_plan)
    "citations": Opt(List(Map({"title": TEXT, "link": TEXT}, required=("title", "link"), values=Any_()), 200)),
    "assumptions": Opt(List(Any_(), 200)), "illustrative": Opt(List(Any_(), 200)),
    "classroom_limits": Opt(List(Any_(), 200)), "config_source": Opt(TEXT),
    "dims_provenance": Opt(Map(values=Map(values=Any_()))), "node_provenance": Opt(Map(values=Any_())),
    "published_sources": Opt(Map(values=TEXT)), "published_provenance": Opt(Str(100)),
    "component": Opt(Bool()), "no_published_size": Opt(Bool()),
    # lineage (studio.core.model.lineage): the model it builds on (a list: the graph first, then the ideas
    # it merges), the topic its change list leads with, and the block a component replaces
    "builds_on": Opt(OneOf(Str(200), List(Str(200), 50, min_len=1), what="a model id or a list of model ids")),
    "headline": Opt(Str(100)), "replaces": Opt(TEXT), "introduced_on": Opt(TEXT),
    "training_tokens": Opt(Map({"tokens": Opt(Float(0)), "source": Opt(TEXT), "provenance": Opt(Str(100))},
                               values=Any_())),
}, values=Any_())
ARCHITECTURE = Map({
    "schema_version": Int(1, 1 << 20), "id": Str(200, coerce_scalar=True), "extends": Opt(Str(200)), "kind": Str(40),
    "meta": Opt(META), "scales": Map(values=DIMS, max_len=20), "regions": Opt(Map(values=Opt(Str(200)), max_len=20)),
    "nodes": Map(values=NODE, max_len=2000), "edges": Opt(List(EDGE, 20_000)),
    "overrides": Opt(List(OVERRIDE, 2000)), "training": Opt(Map(values=Any_())), "graph_ops": Opt(GRAPH_OPS),
}, required=("nodes", "scales"))
# a preset or an architecture file that extends another may leave nodes and scales out
ARCHITECTURE_PARTIAL = Map({**ARCHITECTURE.fields, "scales": Opt(Map(values=Opt(Map(values=Opt(DIM_VALUE), max_len=200)), max_len=20)),
                            "nodes": Opt(Map(values=NODE, max_len=2000))})  # nothing required
PRESET_ID = Pattern(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}", "a preset id (letters, digits, '.', '_', '-')", 200)
TIMELINE = Map({"milestones": Opt(List(PRESET_ID, 1000)), "recipes": Opt(List(PRESET_ID, 1000))})
RACES = Map({"schema_version": Opt(Int(1, 1)), "races": Opt(List(Map({
    "id": PRESET_ID, "title": Opt(TEXT), "say": Opt(TEXT),
    "models": List(OneOf(PRESET_ID, Map({"id": PRESET_ID, "extends": PRESET_ID}, required=("id", "extends"),
                                         values=Any_()), what="a preset id or an inline model {id, extends, …}"),
                   4, min_len=2),
    "match": Opt(Str(20, choices=("none", "params", "active", "flops"))),
}, required=("id", "models")), 200))})
PROJECT = Map({
    "schema_version": Any_(), "kind": Any_(), "name": Opt(TEXT), "origin": Opt(Str(200, coerce_scalar=True)),
    "architecture": Any_(), "training": Opt(Map(values=Any_())), "latest_run": Opt(Str(4096)),
    "recovery_of": Opt(Str(4096)), "saved_at": Opt(Float(0, 1e11)),
})
TRAINING = Map({
    "steps": Int(0, 1 << 31), "batch_size": Int(1, 1 << 16), "context": Int(2, 128 * 1024),
    "lr": Float(0, None, lo_open=True), "min_lr_ratio": Float(0, 1), "schedule": Str(40),
    "warmup_steps": Opt(Int(0, 1 << 31)), "weight_decay": Float(0, 10), "beta1": Float(0, 1), "beta2": Float(0, 1),
    "grad_clip": Float(0, 1e6), "optimizer": Str(40), "qk_clip_tau": Float(0, 1e9, lo_open=True),
    "muon_lr": Float(0, None), "precision": Str(40), "attention": Str(40), "grad_accum": Int(1, 1 << 16),
    "eval_interval": Int(0, 1 << 31), "eval_batches": Int(0, 1 << 16), "sample_interval": Int(0, 1 << 31),
    "sample_tokens": Int(0, 1 << 20), "checkpoint_interval": Int(0, 1 << 31), "log_interval": Int(1, 1 << 31),
    "seed": Int(0, (1 << 64) - 1), "imported": Bool(),
}, values=Any_())
TOKENIZER_DESC = Map({"kind": Str(40), "vocab_size": Opt(Int(1, 1 << 18)), "sha256": Opt(Str(64))},
                     required=("kind",), values=Any_())
RUN = Map({
    "schema_version": Int(1, 1 << 20), "kind": Str(40), "model": Str(4096, coerce_scalar=True),
    "scale": Str(40, choices=("paper", "classroom")), "architecture": Map(values=Any_()),
    "training": Opt(TRAINING), "data": Opt(Map({"source": Opt(Str(4096)), "sha256": Opt(Str(64)),
                                              "label": Opt(TEXT), "stories": Opt(Int(0, 1 << 40)),
                                              "path": Opt(Str(4096))}, values=Any_())),
    "tokenizer": TOKENIZER_DESC,
}, required=("architecture", "tokenizer"), values=Any_())
METRICS_RECORD = Map(values=Any_(), max_len=1000)
PART_META = Map({"url": Opt(Str(8192)), "total": Opt(Int(0, 1 << 50)),
                 "etag": Opt(Pattern(r"[\x20-\x7e]{1,1024}", "an ETag (printable ASCII on one line)", 1024)),
                 "sha256": Opt(Pattern(r"[0-9a-f]{64}", "a sha256 in hex", 64))})
COUNT = Int(0, 1 << 62)
RACE_MODEL = Map({"name": TEXT, "spec": Str(4096, coerce_scalar=True), "run": Str(1024, coerce_scalar=True),
                  "params": Opt(COUNT), "params_active": Opt(COUNT)}, required=("name", "run"), values=Any_())
RACE_ROW = Map({
    "name": TEXT, "spec": Opt(Str(4096, coerce_scalar=True)), "run": Opt(Str(1024, coerce_scalar=True)),
    "params": COUNT, "params_active": COUNT, "steps": Opt(COUNT), "tokens": COUNT, "flops": Float(0),
    "seconds": Opt(Float(0)), "tokens_per_s": Float(0), "val_bpb": Opt(Float()), "sample": Opt(Str(100_000, coerce_scalar=True)),
}, required=("name", "params", "params_active", "tokens", "flops", "tokens_per_s"), values=Any_())
RACE = Map({
    "schema_version": Int(1, 1 << 20), "kind": Str(40), "title": Opt(TEXT), "created": Opt(TEXT),
    "status": Opt(Str(40, choices=("running", "done", "stopped"))), "config": Opt(Map(values=Any_())),
    "data": Opt(Map({"label": Opt(TEXT)}, values=Any_())), "tokenizer": Opt(Map(values=Any_())),
    "steps": Opt(COUNT), "context": Opt(COUNT), "steps_done": Opt(COUNT),
    "models": List(RACE_MODEL, 16, min_len=1), "table": Opt(List(RACE_ROW, 16)),
}, required=("schema_version", "kind", "models"), values=Any_())
LESSON_STATUSES = ("pending", "training", "done", "failed", "pretrained")
LESSON_ENTRY = Map({
    "id": Str(200), "run": Str(1024, coerce_scalar=True), "status": Str(40, choices=LESSON_STATUSES),
    "serves": Opt(List(Str(200), 1000)), "pretrained": Opt(Str(200)), "steps": Opt(Int(0, 1 << 50)),
    "val_bpb": Opt(Float()), "params": Opt(Int(0, 1 << 50)), "finished": Opt(TEXT), "error": Opt(TEXT),
}, required=("id",), values=Any_())
LESSON = Map({
    "schema_version": Int(1, 1 << 20), "kind": Str(40), "models": List(Any_(), 10_000),
    "data": Opt(Map({"sha256": Opt(Str(200)), "label": Opt(TEXT), "tinystories": Opt(Bool())}, values=Any_())),
    "created": Opt(TEXT), "minutes_per_model": Opt(Float(0)), "steps": Opt(Int(0, 1 << 50)),
}, required=("schema_version", "kind", "models"), values=Any_())


def check_architecture(data: dict, where: str, partial: bool = False) -> dict:
    """Schema + dim bounds of an architecture mapping; one LoadError naming the field."""
    data = validate_data(data, ARCHITECTURE_PARTIAL if partial else ARCHITECTURE, where)
    problems = scale_problems({k: v for k, v in (data.get("scales") or {}).items() if v},
                              data.get("regions") or {"layer": "n_layers"})
    if problems:
        path, msg = problems[0]
        raise E.LoadError(f"{where}: {path}: {msg}")
    if not partial:
        if not data["scales"]:
            raise E.LoadError(f"{where}: scales: needs at least one scale (paper or classroom)")
        _check_override_kinds(data, where)
    return data


def _check_override_kinds(data: dict, where: str) -> None:
    from blocks.registry import UnknownBlockKind, get_spec
    for i, ov in enumerate(data.get("overrides") or []):
        kind = ov.get("kind")
        try:
            if kind:
                get_spec(kind)
        except UnknownBlockKind:
            raise E.LoadError(f"{where}: overrides[{i}].kind: unknown block kind {short(kind)}") from None


def check(data, spec: Spec, where: str):
    return validate_data(data, spec, where)


__all__ = ["check_architecture", "check", "ARCHITECTURE", "ARCHITECTURE_PARTIAL", "TIMELINE", "PROJECT", "RUN",
           "TRAINING", "TOKENIZER_DESC", "METRICS_RECORD", "LESSON", "LESSON_ENTRY", "PART_META", "RACE", "RACES", "SchemaError"]
