"""Attention inspector and MoE routing view (docks), and the offscreen renderer of the CLI's PNGs."""
