"""Preset data (YAML): timeline.yaml plus one file per milestone and recipe."""
