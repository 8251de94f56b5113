"""Torch modules for the blocks in :mod:`blocks.registry` (imported lazily)."""
