"""Run folders: layout, checkpoints and their checks, loading weights, pretrained runs."""
