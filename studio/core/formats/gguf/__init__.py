"""GGUF files for llama.cpp (and Ollama, LM Studio), written with the ``gguf`` package."""
