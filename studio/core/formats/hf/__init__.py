"""Hugging Face ``transformers`` checkpoints: model.safetensors + config.json + tokenizer files."""
