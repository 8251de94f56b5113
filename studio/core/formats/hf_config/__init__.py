"""Hugging Face config.json in: the families this block library can build, counted exactly."""
