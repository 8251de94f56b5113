"""What a block kind is to the app: its ports and its BlockSpec (pure Python, no torch).

``blocks.registry`` lists the specs; new families of blocks (``blocks.specs_v4``) build theirs
from these classes without importing the registry, which includes them.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable

# The words a learner reads for each family in a change list ("Normalisation: LayerNorm → RMSNorm").
FAMILY_TOPICS = {
    "input": "Inputs",
    "embedding": "Positions",
    "norm": "Normalisation",
    "attention": "Attention",
    "ffn": "Feed-forward",
    "moe": "Feed-forward",
    "structure": "Residual stream",
    "head": "Output",
}


@dataclass(frozen=True)
class PortSpec:
    name: str
    type: str
    optional: bool = False
    help: str = ""


@dataclass(frozen=True)
class BlockSpec:
    kind: str
    title: str
    family: str
    summary: str
    config_cls: type
    inputs: tuple[PortSpec, ...]
    outputs: tuple[PortSpec, ...]
    module: str  # "blocks.nn.file:Class", imported lazily
    params: Callable = lambda c: 0
    active: Callable | None = None  # params used per token; None = all of them
    flops: Callable = lambda c, ctx: 0
    kv_elems: Callable = lambda c: 0  # cached elements per token (one layer)
    kv_total: Callable | None = None  # (c, tokens) -> cached elements of one layer for a whole sequence, where
    # the cache is not per token × tokens (DeepSeek-V4: a fixed window plus one entry per m tokens)
    act_elems: Callable = lambda c, ctx: 0  # elements saved for backward, per token
    aliases: tuple[str, ...] = ()
    key_fields: tuple[str, ...] = ()  # settings shown on the node face
    roles: frozenset = frozenset()  # names from ROLES
    geometry: str = ""  # attention blocks: a name from GEOMETRIES
    topic: str = ""  # learner's word for what it is part of (default: FAMILY_TOPICS[family])
    llama2c: str = ""  # the run.c role it fills (LLAMA2C_ROLES), "" = none
    llama2c_fix: object = ""  # str or callable(cfg) -> str: why llama2.c cannot run it and the fix

    def has(self, role: str) -> bool:
        return role in self.roles

    @property
    def topic_words(self) -> str:
        return self.topic or FAMILY_TOPICS.get(self.family, self.title)

    def llama2c_problem(self, cfg) -> str:
        """Why run.c cannot run this block at all ("" when it fills a llama2.c role)."""
        if self.llama2c:
            return ""
        fix = self.llama2c_fix
        if callable(fix):
            return fix(cfg)
        return fix or f"{self.title}: llama2.c has no such block; delete or replace it"

    def module_class(self):
        mod, _, cls = self.module.partition(":")
        return getattr(importlib.import_module(mod), cls)

    def active_params(self, cfg) -> int:
        return self.active(cfg) if self.active else self.params(cfg)

    def input(self, name: str) -> PortSpec | None:
        return next((p for p in self.inputs if p.name == name), None)

    def output(self, name: str) -> PortSpec | None:
        return next((p for p in self.outputs if p.name == name), None)


X_IN = PortSpec("x", "hidden", help="residual stream in (B, T, dim)")
X_OUT = PortSpec("x", "hidden", help="residual stream out (B, T, dim)")


def spec(roles=(), **kw) -> BlockSpec:
    return BlockSpec(roles=frozenset(roles), **kw)
