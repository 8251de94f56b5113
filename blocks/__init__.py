"""Torch building blocks of LLM Architecture Studio and their registry.

Importing this package (or ``blocks.registry`` / ``blocks.configs``) does not import torch:
the registry, the frozen ``Config`` dataclasses and the exact parameter / FLOP formulas are
pure Python so that accounting and the command line start fast.  The torch modules live in
``blocks.nn`` and are loaded lazily by :func:`blocks.registry.BlockSpec.module_class`.
"""
from blocks.registry import REGISTRY, BlockSpec, PortSpec, get_spec, FAMILIES

__all__ = ["REGISTRY", "BlockSpec", "PortSpec", "get_spec", "FAMILIES"]
